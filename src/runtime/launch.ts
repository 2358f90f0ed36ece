import { spawn } from 'node:child_process';
import { closeSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { HostError } from '../errors.js';
import { runtimeBinary } from './binary.js';
import { decodeReport, type RuntimeReport } from './report.js';

/** Signals a user sends to `nook run` that belong to the container (the runtime relays them). */
const RELAYED_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'];

/** Reports are one short record; anything longer is cut, not waited for. */
const REPORT_MAX = 64 * 1024;

export interface RuntimeResult {
  /** The container's exit code, 128+signal if it was killed. */
  readonly status: number;
  readonly report: RuntimeReport | null;
  /** What the process wrote, when launched with `capture`. */
  readonly stdout: string;
  readonly stderr: string;
  /** The runtime was killed because `timeoutMs` passed. */
  readonly timedOut: boolean;
}

export interface LaunchOptions {
  /** Collect stdout and stderr instead of passing the terminal through (stdin: none). */
  readonly capture?: boolean;
  /** With capture: what the process reads on its stdin. */
  readonly stdin?: Readable;
  /** Without capture: false gives the process /dev/null as stdin instead of nook's own. */
  readonly passStdin?: boolean;
  /** The plan detaches: nook's stdio is not handed on, the runtime returns once the command runs. */
  readonly detached?: boolean;
  /**
   * Kill the runtime (SIGKILL) once this much time has passed: the container dies with its
   * monitor (parent-death signals), and everything in its PID namespace with it.
   */
  readonly timeoutMs?: number;
  /** A command that execs the runtime in its place (systemd-run --scope), with its environment. */
  readonly via?: LaunchVia | undefined;
}

export interface LaunchVia {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

function stdioFor(options: LaunchOptions): ('pipe' | 'ignore' | 'inherit')[] {
  if (options.capture) return [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'];
  if (options.detached) return ['ignore', 'ignore', 'ignore'];
  return [options.passStdin === false ? 'ignore' : 'inherit', 'inherit', 'inherit'];
}

/**
 * An unlinked file in `dir`: the plan and the report travel through these rather than
 * pipes, which would pull Node's stream machinery into every start (~3 ms).
 */
function anonymousFile(dir: string, name: string): number {
  const path = join(dir, `.${name}-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const fd = openSync(path, 'wx+', 0o600);
  unlinkSync(path);
  return fd;
}

/**
 * Starts nook-runtime with the plan on fd 3, relays signals to it while the container runs,
 * and collects its exit status and failure report (fd 4). `scratchDir` is a private
 * directory that holds the two files only while they are being created.
 */
export function launchRuntime(plan: Buffer, scratchDir: string, options: LaunchOptions = {}): Promise<RuntimeResult> {
  const planFd = anonymousFile(scratchDir, 'plan');
  const reportFd = anonymousFile(scratchDir, 'report');
  // Positional write: the shared file offset stays at 0, where the runtime starts reading.
  writeSync(planFd, plan, 0, plan.length, 0);

  return new Promise<RuntimeResult>((resolve, reject) => {
    const command = options.via?.argv[0] ?? runtimeBinary();
    const args = options.via ? [...options.via.argv.slice(1), runtimeBinary()] : [];
    const child = spawn(command, args, { stdio: [...stdioFor(options), planFd, reportFd], env: { ...options.via?.env } });
    if (options.stdin && child.stdin) {
      // A process that stops reading early (it failed) must not fail the writer too.
      child.stdin.on('error', () => undefined);
      options.stdin.pipe(child.stdin);
    }
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const relay = (signal: NodeJS.Signals): void => {
      child.kill(signal);
    };
    for (const signal of RELAYED_SIGNALS) process.on(signal, relay);
    let timedOut = false;
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, options.timeoutMs);
    const stopRelaying = (): void => {
      clearTimeout(timer);
      for (const signal of RELAYED_SIGNALS) process.off(signal, relay);
    };

    child.on('error', (err: NodeJS.ErrnoException) => {
      stopRelaying();
      reject(
        new HostError(`cannot start the nook runtime ${command}: ${err.message}`, 'rebuild it with "npm install" (or "npm run build") in the nook checkout'),
      );
    });
    // 'close' waits for captured output to drain; without capture it follows 'exit' at once.
    child.on('close', (code, signal) => {
      stopRelaying();
      const status = code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0);
      const buffer = Buffer.alloc(REPORT_MAX);
      const length = readSync(reportFd, buffer, 0, REPORT_MAX, 0);
      resolve({ status, report: decodeReport(buffer.subarray(0, length)), stdout, stderr, timedOut });
    });
  }).finally(() => {
    closeSync(planFd);
    closeSync(reportFd);
  });
}
