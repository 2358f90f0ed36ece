import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/** Builds test/helpers/udp-echo.c into `dir`, static: the busybox rootfs has no dynamic loader. */
export function buildUdpEcho(dir: string): string {
  const out = join(dir, 'udp-echo');
  execFileSync(process.env.CC ?? 'cc', ['-static', '-O2', '-o', out, join(import.meta.dirname, 'udp-echo.c')], { stdio: 'pipe' });
  return out;
}
