import { lstatSync, readdirSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import type { SandboxEntry } from '../../plan/sandbox.js';

/** The host's system directories: what a script needs to run the host's own tools. Read-only. */
export const SYSTEM_DIRS: readonly string[] = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc', '/opt'];

/** Fresh tmpfs where programs expect to write, and their modes. $HOME gets one too (0700). */
const SCRATCH_DIRS: readonly (readonly [string, number])[] = [['/tmp', 0o1777], ['/var/tmp', 0o1777], ['/run', 0o755]];

/** Files in /etc that hold secrets by convention (the host's SSH keys are added as found). */
export const SECRET_ETC_PATHS: readonly string[] = [
  '/etc/shadow', '/etc/shadow-', '/etc/gshadow', '/etc/gshadow-', '/etc/sudoers', '/etc/sudoers.d',
  '/etc/ssl/private', '/etc/security/opasswd',
];

/** Kernel interfaces the sandbox gets fresh: no host path under them may be shared. */
const KERNEL_DIRS: readonly string[] = ['/proc', '/dev', '/sys'];

export interface ViewRequest {
  readonly cwd: string;
  readonly home: string;
  readonly rw: readonly string[];
  readonly ro: readonly string[];
  readonly hide: readonly string[];
  readonly network: 'none' | 'host';
}

export interface SandboxView {
  readonly view: readonly SandboxEntry[];
  readonly hidden: readonly string[];
  readonly workdir: string;
  /** Why the current directory is not shared, when it is not. */
  readonly cwdNotShared: string | null;
}

const isUnder = (path: string, dir: string): boolean => dir === '/' || path === dir || path.startsWith(`${dir}/`);

function kind(path: string): 'dir' | 'symlink' | 'other' | null {
  try {
    const st = lstatSync(path);
    return st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'dir' : 'other';
  } catch {
    return null;
  }
}

function realpathOrNull(path: string): string | null {
  try {
    // libc's realpath: Node's own walks every component in JavaScript, ~10 times slower.
    return realpathSync.native(path);
  } catch {
    return null;
  }
}

/** `~`, `~/x`, relative to the current directory, or absolute. */
function expand(path: string, cwd: string, home: string): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return join(home, path.slice(2));
  return resolve(cwd, path);
}

/** A path to share: it must exist; it is shared at its real path (no symlinks). */
function sharedPath(flag: string, given: string, cwd: string, home: string): string {
  const real = realpathOrNull(expand(given, cwd, home));
  if (real === null) throw new UsageError(`${flag} ${given}: no such file or directory`, 'name an existing file or directory');
  if (real === '/') throw new UsageError(`${flag} ${given}: the whole host cannot be shared`, 'name the directories the command needs');
  const kernel = KERNEL_DIRS.find((dir) => isUnder(real, dir));
  if (kernel !== undefined) throw new UsageError(`${flag} ${given}: ${kernel} is the sandbox's own`, `the sandbox gets a fresh ${kernel}; share something outside it`);
  return real;
}

/** The system dirs as they are on this host: a directory is bound, a link such as /bin -> usr/bin is made again. */
function systemEntries(): SandboxEntry[] {
  const realDirs = SYSTEM_DIRS.filter((dir) => kind(dir) === 'dir');
  return SYSTEM_DIRS.flatMap((path): SandboxEntry[] => {
    const what = kind(path);
    if (what === 'dir') return [{ kind: 'bind', source: path, path, writable: false, directory: true }];
    if (what !== 'symlink') return [];
    const real = realpathOrNull(path);
    if (real === null || kind(real) !== 'dir') return [];
    // A link into another system dir shows as the link; one elsewhere, as what it leads to.
    if (realDirs.some((dir) => isUnder(real, dir))) return [{ kind: 'symlink', target: readlinkSync(path), path }];
    return [{ kind: 'bind', source: real, path, writable: false, directory: true }];
  });
}

/** The secret files this host has, at their real paths (a mask refuses symlinks). */
function secretPaths(): string[] {
  let sshKeys: string[] = [];
  try {
    sshKeys = readdirSync('/etc/ssh').filter((name) => name.endsWith('_key')).map((name) => `/etc/ssh/${name}`);
  } catch {
    // no /etc/ssh: no host keys
  }
  return [...SECRET_ETC_PATHS, ...sshKeys].flatMap((path) => {
    const real = realpathOrNull(path);
    return real === null ? [] : [real];
  });
}

/**
 * With the host's network the host's resolver must be reachable: /etc/resolv.conf is often
 * a link into /run, which the sandbox has empty.
 */
function resolverEntry(visible: (path: string) => boolean): SandboxEntry[] {
  const real = realpathOrNull('/etc/resolv.conf');
  if (real === null || visible(real)) return [];
  return [{ kind: 'bind', source: real, path: real, writable: false, directory: false }];
}

/**
 * Decides what a sandbox sees of the host: its system dirs read-only; fresh tmpfs for /tmp,
 * /var/tmp, /run and $HOME; the current directory read-only (unless --rw names it, or it
 * holds $HOME: sharing it would share the home it is meant to hide); --ro/--rw paths; and
 * nothing else. Reads the host's tree (what is a dir, what is a link), nothing more.
 */
export function sandboxView(req: ViewRequest): SandboxView {
  const home = realpathOrNull(req.home) ?? resolve(req.home);
  const cwd = realpathOrNull(req.cwd) ?? resolve(req.cwd);
  const rw = req.rw.map((p) => sharedPath('--rw', p, cwd, home));
  const ro = req.ro.map((p) => sharedPath('--ro', p, cwd, home));
  const both = rw.find((p) => ro.includes(p));
  if (both !== undefined) throw new UsageError(`${both} is given both --ro and --rw`, 'name it once');

  const entries = new Map<string, SandboxEntry>();
  const add = (entry: SandboxEntry): void => {
    entries.set(entry.path, entry);
  };
  for (const entry of systemEntries()) add(entry);
  for (const [path, mode] of SCRATCH_DIRS) add({ kind: 'tmpfs', path, mode });
  if (home !== '/') add({ kind: 'tmpfs', path: home, mode: 0o700 });

  const share = (path: string, writable: boolean): void => add({ kind: 'bind', source: path, path, writable, directory: statSync(path).isDirectory() });
  const named = [...ro, ...rw];
  const holdsHome = isUnder(home, cwd);
  const cwdVisible = named.some((p) => isUnder(cwd, p)) || SYSTEM_DIRS.some((dir) => isUnder(cwd, dir));
  if (!holdsHome && !cwdVisible) share(cwd, false);
  for (const path of ro) share(path, false);
  for (const path of rw) share(path, true);

  const binds = [...entries.values()].filter((e) => e.kind === 'bind');
  const visible = (path: string): boolean => binds.some((e) => isUnder(path, e.path));
  if (req.network === 'host') for (const entry of resolverEntry(visible)) add(entry);

  const userHidden = req.hide.flatMap((p) => {
    const real = realpathOrNull(expand(p, cwd, home));
    return real === null ? [] : [real];
  });
  const cwdShared = !holdsHome || named.includes(cwd);
  return {
    view: [...entries.values()],
    hidden: [...new Set([...secretPaths().filter(visible), ...userHidden])],
    workdir: cwdShared ? cwd : home,
    cwdNotShared: cwdShared ? null : `the current directory ${cwd} holds your home directory, so it is not shared (--ro . or --rw . would share it, home and all)`,
  };
}
