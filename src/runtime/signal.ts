import { spawnSync } from 'node:child_process';
import { HostError, RuntimeError } from '../errors.js';
import { runtimeBinary } from './launch.js';

/** A process as nook records it: the pid, and the start time that tells it from a later process with the same pid. */
export interface ProcessIdentity {
  readonly pid: number;
  /** Field 22 of /proc/PID/stat: clock ticks since boot. */
  readonly startTime: number;
}

/** nook-runtime signal's exit statuses (native/src/kill.h). */
const SENT = 0;
const GONE = 3;

/**
 * Sends `signal` to exactly this process, through a pidfd checked against its start time
 * (`nook-runtime signal`: Node has no pidfds), so never to a later process that got its
 * pid. 'gone': the process no longer exists, nothing was signalled.
 */
export function signalProcess(target: ProcessIdentity, signal: number): 'sent' | 'gone' {
  const result = spawnSync(runtimeBinary(), ['signal', String(target.pid), String(target.startTime), String(signal)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
    env: {},
  });
  if (result.error) {
    throw new HostError(`cannot start the nook runtime ${runtimeBinary()}: ${result.error.message}`, 'rebuild it with "npm install" (or "npm run build") in the nook checkout');
  }
  if (result.status === SENT) return 'sent';
  if (result.status === GONE) return 'gone';
  const why = result.stderr.trim() || `nook-runtime signal exited with status ${result.status ?? result.signal}`;
  throw new RuntimeError(`cannot signal process ${target.pid}: ${why}`, 'see "nook ps" and try again');
}
