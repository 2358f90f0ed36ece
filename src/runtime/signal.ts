import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { HostError, RuntimeError } from '../errors.js';
import { runtimeBinary } from './binary.js';

/** A process as nook records it: the pid, and the start time that tells it from a later process with the same pid. */
export interface ProcessIdentity {
  readonly pid: number;
  /** Field 22 of /proc/PID/stat: clock ticks since boot. */
  readonly startTime: number;
}

/** nook-runtime signal's and stop's exit statuses (native/src/kill.h, stop.h). */
const SENT = 0;
const GONE = 3;
const ENDED = 0;
const STILL_RUNNING = 4;

function runHelper(args: readonly string[]): SpawnSyncReturns<string> {
  const result = spawnSync(runtimeBinary(), args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', env: {} });
  if (result.error) {
    throw new HostError(`cannot start the nook runtime ${runtimeBinary()}: ${result.error.message}`, 'rebuild it with "npm install" (or "npm run build") in the nook checkout');
  }
  return result;
}

function helperFailure(result: SpawnSyncReturns<string>, what: string): RuntimeError {
  const why = result.stderr.trim() || `nook-runtime exited with status ${result.status ?? result.signal}`;
  return new RuntimeError(`cannot ${what}: ${why}`, 'see "nook ps" and try again');
}

/**
 * Sends `signal` to exactly this process, through a pidfd checked against its start time
 * (`nook-runtime signal`: Node has no pidfds), so never to a later process that got its
 * pid. 'gone': the process no longer exists, nothing was signalled.
 */
export function signalProcess(target: ProcessIdentity, signal: number): 'sent' | 'gone' {
  const result = runHelper(['signal', String(target.pid), String(target.startTime), String(signal)]);
  if (result.status === SENT) return 'sent';
  if (result.status === GONE) return 'gone';
  throw helperFailure(result, `signal process ${target.pid}`);
}

/**
 * Sends `signal` to `target` (null, or signal 0: nothing is sent) as signalProcess does, then waits up to
 * `timeoutMs` for the container's end to be on record (`nook-runtime stop`): `statePath`
 * saying exited, or `monitor` gone. pidfds of PID 1 and the monitor say when to look, so
 * the end is seen within a millisecond, where polling would add up to its interval.
 * 'ended', or 'running' after the timeout.
 */
export function signalAndAwaitEnd(monitor: ProcessIdentity, target: ProcessIdentity | null, signal: number, timeoutMs: number, statePath: string): 'ended' | 'running' {
  const pid1 = target === null ? ['0', '0'] : [String(target.pid), String(target.startTime)];
  const ms = String(Math.min(Math.max(0, Math.round(timeoutMs)), 2 ** 31 - 1));
  const result = runHelper(['stop', String(monitor.pid), String(monitor.startTime), ...pid1, String(signal), ms, statePath]);
  if (result.status === ENDED) return 'ended';
  if (result.status === STILL_RUNNING) return 'running';
  throw helperFailure(result, `stop process ${monitor.pid}`);
}
