import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * podman as an independent peer for archive interop, rootless with a private store (vfs:
 * works everywhere, and these tests run no containers) and private XDG dirs, so the
 * user's own podman state is never touched.
 */
export interface Podman {
  run(args: readonly string[]): Promise<{ stdout: string; stderr: string }>;
  /** Removes the store (its files belong to subordinate ids) and podman's pause process. */
  cleanup(): Promise<void>;
}

export function privatePodman(dir: string): Podman {
  const runtime = join(dir, 'runtime');
  mkdirSync(runtime, { recursive: true, mode: 0o700 });
  mkdirSync(join(dir, 'config'), { recursive: true });
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, XDG_RUNTIME_DIR: runtime, XDG_CONFIG_HOME: join(dir, 'config'), TMPDIR: dir, LANG: 'C.UTF-8' };
  const base = ['--root', join(dir, 'root'), '--runroot', join(dir, 'run'), '--storage-driver', 'vfs'];
  const run = async (args: readonly string[]) => {
    try {
      return await promisify(execFile)('podman', [...base, ...args], { env, timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`podman ${args.join(' ')} failed: ${e.stderr ?? e.message}\n(is the podman package installed? .ci/run installs it)`);
    }
  };
  return {
    run,
    cleanup: async () => {
      if (existsSync(join(dir, 'root'))) await run(['unshare', 'rm', '-rf', join(dir, 'root'), join(dir, 'run')]).catch(() => undefined);
      // Rootless podman leaves a pause process per runtime dir; this one is ours alone.
      const pidFile = join(runtime, 'libpod', 'tmp', 'pause.pid');
      if (!existsSync(pidFile)) return;
      const pid = Number(readFileSync(pidFile, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 1) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    },
  };
}
