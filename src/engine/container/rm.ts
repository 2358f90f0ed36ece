import { ContainerError } from '../../errors.js';
import { constants } from 'node:os';
import type { ContainerStore, CorruptContainer } from '../../store/containers.js';
import { sleep } from '../shared/sleep.js';
import { eachContainer } from './each.js';
import type { OpenedContainers } from './lookup.js';
import type { ContainerIO } from './options.js';
import { removeContainer } from './remove.js';
import { removeContainerDir } from './remove-dir.js';
import { START_WAIT_TRIES } from './start.js';
import { containerStatus } from './state.js';
import { signalAndAwaitStop, stopContainer } from './stop.js';

/** Running, or being started by another command right now: not to be removed from under it. */
function busy(containers: ContainerStore, id: string): boolean {
  return containers.starting(id) || containerStatus(containers, id).state === 'running';
}

/**
 * rm -f of a container whose record is corrupt: its monitor, if one still runs, is killed
 * (the container dies with it), then its dir and names go. Its anonymous volumes cannot
 * be told apart any more: they are left to volume prune.
 */
async function removeCorrupt(opened: OpenedContainers, container: CorruptContainer): Promise<void> {
  const status = containerStatus(opened.containers, container.id);
  if (status.state === 'running') signalAndAwaitStop(opened.containers, container.id, status, constants.signals.SIGKILL, 10_000);
  await removeContainerDir(opened.idMaps, opened.containers.detachCorrupt(container));
}

/** podman rm: -f stops a running container as podman stop does (not at once: podman waits too). */
export async function removeContainers(opened: OpenedContainers, refs: readonly string[], force: boolean, volumes: boolean, timeout: number | undefined, io: ContainerIO): Promise<number> {
  return eachContainer(
    refs,
    opened,
    io,
    async (record, ref) => {
      if (busy(opened.containers, record.id)) {
        if (!force) {
          throw new ContainerError(`cannot remove container ${record.name}: it is running`, `stop it first (nook stop ${ref}), or force it: nook rm -f ${ref}`, 2);
        }
        // A start in progress is let finish, then stopped like any running container.
        for (let tries = 0; opened.containers.starting(record.id) && tries < START_WAIT_TRIES; tries++) await sleep(50);
        stopContainer(opened.containers, record, timeout ?? record.stopTimeout, io);
      }
      await removeContainer(opened.containers, opened.idMaps, record, { volumes });
      io.out(ref);
    },
    1,
    async (err, ref) => {
      if (!force) throw err;
      await removeCorrupt(opened, err.container);
      io.out(ref);
    },
  );
}

export async function pruneContainers(opened: OpenedContainers, force: boolean, io: ContainerIO): Promise<number> {
  if (!force) {
    const { promptLine } = await import('../shared/prompt.js');
    const answer = await promptLine('WARNING! This will remove all non running containers.\nAre you sure you want to continue? [y/N] ', 'confirmation', '-f');
    if (!/^y(es)?$/i.test(answer)) return 0;
  }
  await removeStopped(opened, io.out);
  return 0;
}

/** Removes every container not running nor being started; prints each id removed. */
export async function removeStopped(opened: OpenedContainers, out: (line: string) => void): Promise<void> {
  for (const record of opened.containers.list()) {
    if (busy(opened.containers, record.id)) continue;
    if (await removeContainer(opened.containers, opened.idMaps, record, { volumes: false })) out(record.id);
  }
}
