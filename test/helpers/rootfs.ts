import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where Debian's busybox-static puts its binary. */
function findBusybox(): string {
  for (const candidate of ['/bin/busybox', '/usr/bin/busybox']) if (existsSync(candidate)) return candidate;
  throw new Error('busybox not found: install the busybox-static package (.ci/run does)');
}

export const APP_UID = 1000;
export const APP_GID = 1000;

/**
 * A minimal root filesystem: static busybox with its applets, passwd/group with root, a
 * regular user `app` (1000:1000, also in group `extra` 2000) and nobody.
 */
export function makeBusyboxRootfs(dir: string): string {
  const busybox = findBusybox();
  for (const d of ['bin', 'etc', 'proc', 'dev', 'sys', 'tmp', 'root', 'home/app']) mkdirSync(join(dir, d), { recursive: true });
  chmodSync(join(dir, 'tmp'), 0o1777);
  copyFileSync(busybox, join(dir, 'bin', 'busybox'));
  chmodSync(join(dir, 'bin', 'busybox'), 0o755);
  const applets = execFileSync(busybox, ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const applet of applets) if (applet !== 'busybox') symlinkSync('busybox', join(dir, 'bin', applet));
  writeFileSync(
    join(dir, 'etc', 'passwd'),
    `root:x:0:0:root:/root:/bin/sh\napp:x:${APP_UID}:${APP_GID}:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n`,
  );
  writeFileSync(join(dir, 'etc', 'group'), `root:x:0:\ntty:x:5:\napp:x:${APP_GID}:\nextra:x:2000:app\nnogroup:x:65534:\n`);
  return dir;
}

/** A fresh temp dir removed by the returned cleanup. */
export function tempDir(prefix: string): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), `nook-test-${prefix}-`));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}
