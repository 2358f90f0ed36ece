import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tempPathFor } from '../../store/atomic.js';
import type { ContainerStore } from '../../store/containers.js';
import { procStatFields } from '../../sys/process.js';
import { humanAge } from '../shared/human.js';

/** In a container's dir: the line the monitor keeps (docs/protocol.md, `state`). */
export const STATE_FILE = 'state';
/** In a container's dir: present while the container must not be restarted (stop, kill). */
export const STOP_FILE = 'stop';
/** In a container's dir: the log the monitor writes (podman's k8s-file format). */
export const LOG_FILE = 'ctr.log';

export type ContainerStatus =
  | { readonly state: 'created' }
  | {
      readonly state: 'running';
      /** The container's PID 1, and its monitor, as the host sees them. */
      readonly pid: number;
      readonly monitorPid: number;
      readonly startedAt: Date;
      readonly restarts: number;
    }
  | {
      readonly state: 'exited';
      /** null: nobody saw the end (the monitor was killed, or the machine rebooted). */
      readonly exitCode: number | null;
      readonly startedAt: Date | null;
      readonly finishedAt: Date | null;
      readonly restarts: number;
    };

const fromNs = (ns: string): Date => new Date(Number(BigInt(ns) / 1_000_000n));

let bootId: string | undefined;
function currentBootId(): string {
  bootId ??= readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  return bootId;
}

/**
 * Field 22 of /proc/PID/stat (start time in ticks since boot): tells a pid from its reuse.
 * A zombie has none: a daemon monitor that was killed stays one until PID 1 reaps it, which
 * an init that does not reap (a CI job's container without --init) never does.
 */
function startTime(pid: number): string | null {
  const fields = procStatFields(pid);
  return fields === null || fields[0] === 'Z' ? null : (fields[19] ?? null);
}

/** Reads the monitor's state line; a monitor that is gone means the container is too. */
export function parseState(line: string | null, alive: (pid: number, start: string) => boolean): ContainerStatus {
  if (line === null) return { state: 'created' };
  const f = line.trim().split(' ');
  if (f[0] === 'running' && f.length === 7) {
    const [, monitorPid, monitorStart, boot, pid, started, restarts] = f as [string, string, string, string, string, string, string];
    if (boot === currentBootId() && alive(Number(monitorPid), monitorStart)) {
      return { state: 'running', pid: Number(pid), monitorPid: Number(monitorPid), startedAt: fromNs(started), restarts: Number(restarts) };
    }
    return { state: 'exited', exitCode: null, startedAt: fromNs(started), finishedAt: null, restarts: Number(restarts) };
  }
  if (f[0] === 'exited' && f.length === 5) {
    const [, code, started, finished, restarts] = f as [string, string, string, string, string];
    // '-': nobody saw the end (system check wrote the line for a monitor that was gone).
    return { state: 'exited', exitCode: code === '-' ? null : Number(code), startedAt: started === '0' ? null : fromNs(started), finishedAt: fromNs(finished), restarts: Number(restarts) };
  }
  return { state: 'exited', exitCode: null, startedAt: null, finishedAt: null, restarts: 0 };
}

export function containerStatus(store: ContainerStore, id: string): ContainerStatus {
  let line: string | null;
  try {
    line = readFileSync(store.path(id, STATE_FILE), 'utf8');
  } catch {
    line = null;
  }
  return parseState(line, (pid, start) => startTime(pid) === start);
}

/**
 * Replaces a `running` line whose monitor is gone with an `exited` one whose exit code
 * nobody knows, keeping when it started: what the monitor would have written had it lived.
 */
export function writeExitedUnknown(store: ContainerStore, id: string): void {
  const status = containerStatus(store, id);
  if (status.state !== 'exited') return;
  const ns = (date: Date | null): string => (date === null ? '0' : `${BigInt(date.getTime()) * 1_000_000n}`);
  const path = store.path(id, STATE_FILE);
  const temp = tempPathFor(path);
  writeFileSync(temp, `exited - ${ns(status.startedAt)} ${ns(new Date())} ${status.restarts}\n`, { mode: 0o600 });
  renameSync(temp, path);
}

/** podman's STATUS column: "Up 3 minutes", "Exited (0) 2 seconds ago", "Created". */
export function describeStatus(status: ContainerStatus, now = new Date()): string {
  if (status.state === 'created') return 'Created';
  if (status.state === 'running') return `Up ${humanAge(status.startedAt, now).replace(/ ago$/, '')}`;
  const code = status.exitCode === null ? 'unknown' : String(status.exitCode);
  return status.finishedAt ? `Exited (${code}) ${humanAge(status.finishedAt, now)}` : `Exited (${code})`;
}
