import { ContainerError, UsageError } from '../../errors.js';
import { isContainerName } from '../../store/containers.js';
import { sleep } from '../shared/sleep.js';
import { createContainer } from './create.js';
import type { CreateOptions } from './create-options.js';
import { eachContainer } from './each.js';
import { findContainer, openContainers, type OpenedContainers } from './lookup.js';
import type { ContainerInvocation, ContainerIO } from './options.js';
import { claimContainerName } from './record.js';
import { removeContainer } from './remove.js';
import { inspectCommand } from './inspect.js';
import { executeLeanCommand } from './lean-commands.js';
import { pruneContainers } from './rm.js';
import { START_WAIT_TRIES, StartBusyError, startContainer } from './start.js';
import { containerStatus } from './state.js';
import { killContainers, waitContainers } from './stop.js';

async function startContainers(opened: OpenedContainers, refs: readonly string[], attach: boolean, io: ContainerIO): Promise<number> {
  if (attach) {
    if (refs.length !== 1) throw new UsageError('start --attach takes exactly one container', 'start the others without -a');
    const record = findContainer(opened.containers, refs[0]!);
    if (containerStatus(opened.containers, record.id).state === 'running') {
      throw new ContainerError(`container ${record.name} is already running`, 'see its output with "nook logs -f"');
    }
    const status = await startContainer(opened.containers, opened.idMaps, record, { detach: false }, { warn: io.err });
    if (record.autoRemove) await removeContainer(opened.containers, opened.idMaps, record, { volumes: true });
    return status;
  }
  return eachContainer(refs, opened, io, async (record, ref) => {
    // As podman: starting a running container is no error; nor is one being started
    // by another command, which this one waits for.
    for (let tries = 0; containerStatus(opened.containers, record.id).state !== 'running'; tries++) {
      try {
        await startContainer(opened.containers, opened.idMaps, record, { detach: true }, { warn: io.err });
        break;
      } catch (err) {
        if (containerStatus(opened.containers, record.id).state === 'running') break;
        if (!(err instanceof StartBusyError) || tries >= START_WAIT_TRIES) throw err;
        await sleep(50);
      }
    }
    io.out(ref);
  });
}

function renameContainer(opened: OpenedContainers, ref: string, name: string): number {
  if (!isContainerName(name)) throw new UsageError(`invalid container name "${name}"`, 'use letters, digits, "_", "." and "-", starting with a letter or digit');
  const record = findContainer(opened.containers, ref);
  if (record.name === name) return 0;
  claimContainerName(opened.containers, name, record.id, 'choose another name, or remove that container');
  opened.containers.writeRecord({ ...record, name });
  opened.containers.releaseName(record.name, record.id);
  return 0;
}

/** `nook create`: prints the new container's id. */
export async function createCommand(options: CreateOptions, io: ContainerIO): Promise<number> {
  const { record } = await createContainer(options, { warn: io.err });
  io.out(record.id);
  return 0;
}

export async function executeContainerCommand(invocation: ContainerInvocation, io: ContainerIO): Promise<number> {
  if (invocation.command === 'exec') {
    const { execInContainer } = await import('./exec.js');
    return execInContainer(invocation.options);
  }
  if (invocation.command === 'top') {
    const { topContainer } = await import('./top.js');
    return topContainer(invocation.container, io);
  }
  if (invocation.command === 'logs') {
    const { showLogs } = await import('./logs.js');
    return showLogs(invocation.options);
  }
  if (invocation.command === 'ps' || invocation.command === 'stop' || invocation.command === 'rm') return executeLeanCommand(invocation, io);
  const opened = await openContainers();
  switch (invocation.command) {
    case 'start':
      return startContainers(opened, invocation.containers, invocation.attach, io);
    case 'kill':
      return killContainers(opened, invocation.containers, invocation.signal, io);
    case 'wait':
      return waitContainers(opened, invocation.containers, io);
    case 'rename':
      return renameContainer(opened, invocation.container, invocation.name);
    case 'container-prune':
      return pruneContainers(opened, invocation.force, io);
    case 'inspect':
      return inspectCommand(opened, invocation.names, invocation.only, invocation.format, io);
    case 'update': {
      const { updateContainer } = await import('./update.js');
      return updateContainer(opened, invocation.container, invocation.limits, io);
    }
    case 'stats': {
      const { showStats } = await import('./stats.js');
      return showStats(opened, invocation.options, io);
    }
    case 'port': {
      const { showPorts } = await import('../network/port.js');
      return showPorts(opened, invocation.container, invocation.port, io);
    }
  }
}
