import { spawn } from 'node:child_process';
import { closeSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { HostError } from '../errors.js';
import { decodeReport, type RuntimeReport } from './report.js';

/** Signals a user sends to `nook run` that belong to the container (the runtime relays them). */
const RELAYED_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'];

/** Reports are one short record; anything longer is cut, not waited for. */
const REPORT_MAX = 64 * 1024;

export interface RuntimeResult {
  /** The container's exit code, 128+signal if it was killed. */
  readonly status: number;
  readonly report: RuntimeReport | null;
}

export function runtimeBinary(): string {
  // The CLI runs from dist/nook.cjs; the runtime is built next to it by scripts/build.mjs.
  return join(__dirname, '..', 'native', 'build', 'nook-runtime');
}

/**
 * An unlinked file in `dir`: the plan and the report travel through these rather than
 * pipes, which would pull Node's stream machinery into every start (~3 ms).
 */
function anonymousFile(dir: string, name: string): number {
  const path = join(dir, name);
  const fd = openSync(path, 'wx+', 0o600);
  unlinkSync(path);
  return fd;
}

/**
 * Starts nook-runtime with the plan on fd 3, relays signals to it while the container runs,
 * and collects its exit status and failure report (fd 4). `scratchDir` is private to this
 * container and holds the two files only while they are being created.
 */
export function launchRuntime(plan: Buffer, scratchDir: string): Promise<RuntimeResult> {
  const planFd = anonymousFile(scratchDir, 'plan');
  const reportFd = anonymousFile(scratchDir, 'report');
  // Positional write: the shared file offset stays at 0, where the runtime starts reading.
  writeSync(planFd, plan, 0, plan.length, 0);

  return new Promise<RuntimeResult>((resolve, reject) => {
    const child = spawn(runtimeBinary(), [], { stdio: ['inherit', 'inherit', 'inherit', planFd, reportFd], env: {} });
    const relay = (signal: NodeJS.Signals): void => {
      child.kill(signal);
    };
    for (const signal of RELAYED_SIGNALS) process.on(signal, relay);
    const stopRelaying = (): void => {
      for (const signal of RELAYED_SIGNALS) process.off(signal, relay);
    };

    child.on('error', (err: NodeJS.ErrnoException) => {
      stopRelaying();
      reject(
        new HostError(`cannot start the nook runtime ${runtimeBinary()}: ${err.message}`, 'rebuild it with "npm install" (or "npm run build") in the nook checkout'),
      );
    });
    child.on('exit', (code, signal) => {
      stopRelaying();
      const status = code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0);
      const buffer = Buffer.alloc(REPORT_MAX);
      const length = readSync(reportFd, buffer, 0, REPORT_MAX, 0);
      resolve({ status, report: decodeReport(buffer.subarray(0, length)) });
    });
  }).finally(() => {
    closeSync(planFd);
    closeSync(reportFd);
  });
}
