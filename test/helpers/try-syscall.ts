import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * Builds test/helpers/try-syscall.c into `dir`. Static (glibc's libc.a): the busybox rootfs
 * the tests run it in has no dynamic loader.
 */
export function buildTrySyscall(dir: string): string {
  const out = join(dir, 'try-syscall');
  execFileSync(process.env.CC ?? 'cc', ['-static', '-O2', '-o', out, join(import.meta.dirname, 'try-syscall.c')], { stdio: 'pipe' });
  return out;
}
