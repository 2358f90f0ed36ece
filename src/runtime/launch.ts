import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { HostError } from '../errors.js';
import { decodeReport, type RuntimeReport } from './report.js';

/** Signals a user sends to `nook run` that belong to the container (the runtime relays them). */
const RELAYED_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'];

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
 * Starts nook-runtime with the plan on fd 3, relays signals to it while the container runs,
 * and collects its exit status and failure report (fd 4).
 */
export function launchRuntime(plan: Buffer): Promise<RuntimeResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(runtimeBinary(), [], {
      stdio: ['inherit', 'inherit', 'inherit', 'pipe', 'pipe'],
      env: {},
    });
    const relay = (signal: NodeJS.Signals): void => {
      child.kill(signal);
    };
    for (const signal of RELAYED_SIGNALS) process.on(signal, relay);
    const stopRelaying = (): void => {
      for (const signal of RELAYED_SIGNALS) process.off(signal, relay);
    };

    const chunks: Buffer[] = [];
    const planPipe = child.stdio[3] as Writable;
    const reportPipe = child.stdio[4] as Readable;
    // The runtime may refuse the plan and exit before reading all of it.
    planPipe.on('error', () => undefined);
    planPipe.end(plan);
    reportPipe.on('data', (chunk: Buffer) => chunks.push(chunk));

    child.on('error', (err: NodeJS.ErrnoException) => {
      stopRelaying();
      reject(
        new HostError(`cannot start the nook runtime ${runtimeBinary()}: ${err.message}`, 'rebuild it with "npm install" (or "npm run build") in the nook checkout'),
      );
    });
    child.on('close', (code, signal) => {
      stopRelaying();
      const status = code ?? 128 + (signal ? signalNumber(signal) : 0);
      resolve({ status, report: decodeReport(Buffer.concat(chunks)) });
    });
  });
}

function signalNumber(signal: NodeJS.Signals): number {
  return constants.signals[signal] ?? 0;
}
