import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { makeBusyboxRootfs, tempDir } from './rootfs.js';

export const NOOK_BIN = join(import.meta.dirname, '..', '..', 'bin', 'nook');

export interface NookResult {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Private XDG dirs for one test file, so tests never touch the user's real store. */
export function isolatedEnv(home: string): NodeJS.ProcessEnv {
  const runtime = join(home, 'runtime');
  mkdirSync(runtime, { recursive: true, mode: 0o700 });
  // NODE_EXTRA_CA_CERTS and friends are left out on purpose: they slow every Node start.
  return {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: home,
    XDG_DATA_HOME: join(home, 'data'),
    XDG_CONFIG_HOME: join(home, 'config'),
    XDG_RUNTIME_DIR: runtime,
    LANG: 'C.UTF-8',
  };
}

export interface NookOptions {
  readonly env: NodeJS.ProcessEnv;
  /** The directory nook runs in (default: the test's). */
  readonly cwd?: string;
  readonly input?: string | Buffer;
  /** Leave stdin open for the test to write to and close (`child.stdin.end()`). */
  readonly keepStdinOpen?: boolean;
  /** Run nook under this umask (octal, e.g. '077') instead of the test process's. */
  readonly umask?: string;
  /** Called once the process is running, e.g. to send it signals. */
  readonly onSpawn?: (child: ChildProcess, stdout: () => string) => void;
}

export function nook(args: readonly string[], opts: NookOptions): Promise<NookResult> {
  return new Promise((resolve, reject) => {
    // A worker thread may not change the process umask: a shell sets it and execs nook.
    const [file, argv] = opts.umask === undefined ? [NOOK_BIN, args] : ['/bin/sh', ['-c', `umask ${opts.umask} && exec "$0" "$@"`, NOOK_BIN, ...args]];
    const child = spawn(file, argv, { env: opts.env, stdio: ['pipe', 'pipe', 'pipe'], ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }) });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    // nook may be gone before it reads stdin (bin/nook fails fast): not the test's failure.
    child.stdin.on('error', () => undefined);
    if (!opts.keepStdinOpen) child.stdin.end(opts.input ?? '');
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
    opts.onSpawn?.(child, () => stdout);
  });
}

/** Removes every container of the store `env` points at, running or not (a test file's cleanup). */
export async function removeAllContainers(env: NodeJS.ProcessEnv): Promise<void> {
  const ids = await nook(['ps', '-aq'], { env });
  if (ids.stdout.trim()) await nook(['rm', '-f', '-t', '0', ...ids.stdout.trim().split('\n')], { env });
}

/** Formats a result for assertion messages, so a failing run shows what nook said. */
export function show(result: NookResult): string {
  return `exit ${result.status}${result.signal ? ` (${result.signal})` : ''}\n--- stdout\n${result.stdout}--- stderr\n${result.stderr}`;
}

/** nook(), expected to exit 0; a failure shows what nook said. */
export async function nookOk(args: readonly string[], opts: NookOptions): Promise<NookResult> {
  const result = await nook(args, opts);
  expect(result.status, show(result)).toBe(0);
  return result;
}

/** What most e2e files start from: a temp dir, private XDG dirs in it, a busybox rootfs. */
export interface BusyboxWorkspace {
  readonly tmp: { readonly path: string; readonly cleanup: () => void };
  readonly env: NodeJS.ProcessEnv;
  readonly rootfs: string;
}

export function busyboxWorkspace(prefix: string): BusyboxWorkspace {
  const tmp = tempDir(prefix);
  return { tmp, env: isolatedEnv(join(tmp.path, 'home')), rootfs: makeBusyboxRootfs(join(tmp.path, 'rootfs')) };
}

export async function waitFor(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
