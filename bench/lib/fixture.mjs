// What every measured command shares: a busybox root filesystem and a small, private
// environment, both made fresh in one temp dir that the bench removes at the end.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin';

export function makeWorkDir() {
  return mkdtempSync(join(tmpdir(), 'nook-bench-'));
}

/** Removes the work dir; a failure is reported, not thrown, so it never hides the results. */
export function removeWorkDir(dir) {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch (err) {
    process.stderr.write(`nook bench: could not remove ${dir}: ${err.message}\n`);
  }
}

function findBusybox() {
  for (const candidate of ['/bin/busybox', '/usr/bin/busybox']) if (existsSync(candidate)) return candidate;
  throw new Error('busybox not found: install the busybox-static package (the fixture rootfs is made from it)');
}

/**
 * The rootfs every tool starts: static busybox, a symlink per applet, and the directories
 * the tools mount on. Static, so the container start does not depend on a dynamic loader
 * and libraries (which would add the same cost to every tool and blur the comparison).
 */
export function makeRootfs(dir) {
  const busybox = findBusybox();
  for (const d of ['bin', 'etc', 'proc', 'dev', 'sys', 'tmp', 'root']) mkdirSync(join(dir, d), { recursive: true });
  chmodSync(join(dir, 'tmp'), 0o1777);
  copyFileSync(busybox, join(dir, 'bin', 'busybox'));
  chmodSync(join(dir, 'bin', 'busybox'), 0o755);
  const applets = execFileSync(busybox, ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const applet of applets) if (applet !== 'busybox') symlinkSync('busybox', join(dir, 'bin', applet));
  writeFileSync(join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
  writeFileSync(join(dir, 'etc', 'group'), 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n');
  return dir;
}

/**
 * The environment of every child: PATH, a private HOME and private XDG dirs (so no tool
 * touches the user's real stores, and no state from earlier runs is reused), nothing else.
 * In particular no NODE_EXTRA_CA_CERTS: Node reads the whole CA bundle at start-up when it
 * is set (~65 ms here), which would be charged to nook and to the node floor alike.
 */
/** The caller's PATH without the node_modules/.bin entries `npm run` puts in front. */
function plainPath() {
  const dirs = (process.env.PATH || DEFAULT_PATH).split(':').filter((d) => d && !d.includes('/node_modules/'));
  return dirs.join(':') || DEFAULT_PATH;
}

export function childEnv(workDir) {
  const home = join(workDir, 'home');
  const runtime = join(workDir, 'runtime');
  mkdirSync(home, { recursive: true, mode: 0o700 });
  mkdirSync(runtime, { recursive: true, mode: 0o700 });
  return {
    PATH: plainPath(),
    HOME: home,
    XDG_RUNTIME_DIR: runtime,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_DATA_HOME: join(home, '.local', 'share'),
  };
}
