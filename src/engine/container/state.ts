import { readFileSync } from 'node:fs';
import { writeFileAtomicSync } from '../../store/atomic.js';
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
      /**
       * PID 1's start time (ticks since boot): nook signals or joins `pid` only while it
       * names the process that started then. null: the line comes from an older monitor,
       * which did not record it, and `pid` is not that monitor's child (any more).
       */
      readonly pidStartTime: number | null;
      readonly monitorPid: number;
      /** The monitor's start time (as pidStartTime): nook waits for that process's exit. */
      readonly monitorStartTime: number;
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

/** What parseState reads of a host process; null: no such process. */
export type ProcessStat = (pid: number) => {
  readonly parentPid: number;
  /** Field 22 of /proc/PID/stat (start time in ticks since boot): tells a pid from its reuse. */
  readonly startTime: string;
} | null;

/**
 * A zombie counts as gone: a daemon monitor that was killed stays one until PID 1 reaps it,
 * which an init that does not reap (a CI job's container without --init) never does.
 */
const hostProcess: ProcessStat = (pid) => {
  const fields = procStatFields(pid);
  return fields?.[19] === undefined || fields[0] === 'Z' ? null : { parentPid: Number(fields[1]), startTime: fields[19] };
};

/**
 * A line without PID 1's start time (an older monitor's, still running): the pid is PID 1
 * while it is the monitor's child, which the monitor has not reaped, so its start time now
 * is the one it had.
 */
function legacyStartTime(pid: number, monitorPid: number, stat: ProcessStat): number | null {
  const process = stat(pid);
  return process !== null && process.parentPid === monitorPid ? Number(process.startTime) : null;
}

/** Reads the monitor's state line; a monitor that is gone means the container is too. */
export function parseState(line: string | null, stat: ProcessStat): ContainerStatus {
  if (line === null) return { state: 'created' };
  const f = line.trim().split(' ');
  if (f[0] === 'running' && (f.length === 8 || f.length === 7)) {
    // 7 fields: an older monitor's line, without PID 1's start time.
    const [, monitorPid, monitorStart, boot, pid, ...rest] = f as [string, string, string, string, string, ...string[]];
    const [pidStart, started, restarts] = (f.length === 8 ? rest : [null, ...rest]) as [string | null, string, string];
    if (boot === currentBootId() && stat(Number(monitorPid))?.startTime === monitorStart) {
      const pidStartTime = pidStart === null ? legacyStartTime(Number(pid), Number(monitorPid), stat) : Number(pidStart);
      return { state: 'running', pid: Number(pid), pidStartTime, monitorPid: Number(monitorPid), monitorStartTime: Number(monitorStart), startedAt: fromNs(started), restarts: Number(restarts) };
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
  return parseState(line, hostProcess);
}

/**
 * Replaces a `running` line whose monitor is gone with an `exited` one whose exit code
 * nobody knows, keeping when it started: what the monitor would have written had it lived.
 */
export function writeExitedUnknown(store: ContainerStore, id: string): void {
  const status = containerStatus(store, id);
  if (status.state !== 'exited') return;
  const ns = (date: Date | null): string => (date === null ? '0' : `${BigInt(date.getTime()) * 1_000_000n}`);
  writeFileAtomicSync(store.path(id, STATE_FILE), `exited - ${ns(status.startedAt)} ${ns(new Date())} ${status.restarts}\n`);
}

/** podman's STATUS column: "Up 3 minutes", "Exited (0) 2 seconds ago", "Created". */
export function describeStatus(status: ContainerStatus, now = new Date()): string {
  if (status.state === 'created') return 'Created';
  if (status.state === 'running') return `Up ${humanAge(status.startedAt, now).replace(/ ago$/, '')}`;
  const code = status.exitCode === null ? 'unknown' : String(status.exitCode);
  return status.finishedAt ? `Exited (${code}) ${humanAge(status.finishedAt, now)}` : `Exited (${code})`;
}
