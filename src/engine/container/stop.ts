import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { constants } from 'node:os';
import { ContainerError } from '../../errors.js';
import { signalAndAwaitEnd, signalProcess } from '../../runtime/signal.js';
import { parseSignal } from '../../sys/signals.js';
import type { ContainerRecord, ContainerStore } from '../../store/containers.js';
import { sleep } from '../shared/sleep.js';
import { eachContainer } from './each.js';
import type { OpenedContainers } from './lookup.js';
import type { ContainerIO } from './options.js';
import { containerStatus, STATE_FILE, STOP_FILE, type ContainerStatus } from './state.js';

/**
 * Signals the container's PID 1, the process the state recorded and no later one with its
 * pid. When it is gone (it exited meanwhile, which is what was wanted) nothing is signalled.
 */
export function signalContainer(status: ContainerStatus & { state: 'running' }, signal: number): void {
  if (status.pidStartTime === null) return;
  signalProcess({ pid: status.pid, startTime: status.pidStartTime }, signal);
}

/**
 * Signals the container's PID 1 as signalContainer does and waits up to `timeoutMs` for its
 * end to be on record (its monitor writes it once the network helper is gone too, before
 * flushing output a stalled reader may hold up); the status after.
 */
export function signalAndAwaitStop(containers: ContainerStore, id: string, status: ContainerStatus & { state: 'running' }, signal: number, timeoutMs: number): ContainerStatus {
  const pid1 = status.pidStartTime === null ? null : { pid: status.pid, startTime: status.pidStartTime };
  signalAndAwaitEnd({ pid: status.monitorPid, startTime: status.monitorStartTime }, pid1, signal, timeoutMs, resolve(containers.path(id, STATE_FILE)));
  return containerStatus(containers, id);
}

/** podman stop: the stop signal, then SIGKILL after the timeout; never restarted after. */
export function stopContainer(containers: ContainerStore, record: ContainerRecord, timeout: number, io: ContainerIO): void {
  // Also when it does not run: one waiting out its restart back-off stays stopped (start
  // removes the file).
  writeFileSync(containers.path(record.id, STOP_FILE), '');
  let status = containerStatus(containers, record.id);
  if (status.state !== 'running') return;
  status = signalAndAwaitStop(containers, record.id, status, parseSignal(record.stopSignal), timeout * 1000);
  if (status.state !== 'running') return;
  if (timeout > 0) io.err(`WARN: StopSignal ${record.stopSignal} failed to stop container ${record.name} in ${timeout} seconds, resorting to SIGKILL`);
  status = signalAndAwaitStop(containers, record.id, status, constants.signals.SIGKILL, 10_000);
  if (status.state === 'running') throw new ContainerError(`container ${record.name} did not stop after SIGKILL`, 'see "nook ps" and try again');
}

/** nook stop: each container in turn; prints each name as given once it is stopped. */
export async function stopContainers(opened: OpenedContainers, refs: readonly string[], timeout: number | undefined, io: ContainerIO): Promise<number> {
  return eachContainer(refs, opened, io, async (record, ref) => {
    stopContainer(opened.containers, record, timeout ?? record.stopTimeout, io);
    io.out(ref);
  });
}

export async function killContainers(opened: OpenedContainers, refs: readonly string[], signal: string, io: ContainerIO): Promise<number> {
  const number = parseSignal(signal);
  return eachContainer(refs, opened, io, async (record, ref) => {
    const status = containerStatus(opened.containers, record.id);
    if (status.state !== 'running') {
      throw new ContainerError(`can only kill running containers: ${record.name} is ${status.state}`, 'see "nook ps -a"');
    }
    // podman: a container the user kills is not restarted.
    writeFileSync(opened.containers.path(record.id, STOP_FILE), '');
    signalContainer(status, number);
    io.out(ref);
  });
}


/** How long one wait of the runtime lasts before the state is looked at afresh. */
const WAIT_SLICE_MS = 60_000;

/**
 * nook wait: each container's exit code once it has exited. A running one is waited for by
 * the runtime (pidfds of PID 1 and the monitor, nothing signalled), so the end is seen within
 * a millisecond; a created one is looked at again every 100 ms until it runs.
 */
export async function waitContainers(opened: OpenedContainers, refs: readonly string[], io: ContainerIO): Promise<number> {
  return eachContainer(refs, opened, io, async (record) => {
    for (;;) {
      const status = containerStatus(opened.containers, record.id);
      if (status.state === 'exited') {
        io.out(String(status.exitCode ?? -1));
        return;
      }
      if (status.state === 'created') await sleep(100);
      else signalAndAwaitStop(opened.containers, record.id, status, 0, WAIT_SLICE_MS);
    }
  });
}
