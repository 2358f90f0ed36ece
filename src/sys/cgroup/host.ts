import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readMounts, type MountEntry } from '../mountinfo.js';
import { findOnPath } from '../which.js';

export type CgroupVersion = 'v2' | 'hybrid' | 'v1' | 'none';

/** A cgroup directory the user may create cgroups in and move processes between. */
export interface DelegatedCgroup {
  readonly dir: string;
  /** Enabled for its children (cgroup.subtree_control). */
  readonly controllers: readonly string[];
}

/** What this host offers for limiting a container's resources. */
export interface CgroupHost {
  readonly version: CgroupVersion;
  /** Where the unified (v2) hierarchy is mounted, if anywhere. */
  readonly unifiedMount: string | null;
  /** nook's own cgroup, as its 0:: line in /proc/self/cgroup names it. */
  readonly ownPath: string | null;
  /** The nearest ancestor of nook's cgroup that is the user's own to write. */
  readonly delegated: DelegatedCgroup | null;
  /** systemd-run and a running user manager: a transient scope can carry the limits. */
  readonly systemd: SystemdUser | null;
}

export interface SystemdUser {
  readonly systemdRun: string;
  /** The user manager's runtime dir (systemd-run --user finds its bus there). */
  readonly runtimeDir: string;
  /** What the user manager may hand out (its own cgroup's cgroup.controllers); null: unknown. */
  readonly controllers: readonly string[] | null;
}

/** The inputs read from the host; tests hand in a fake cgroup tree. */
export interface CgroupHostView {
  readonly mounts: readonly MountEntry[];
  /** The text of /proc/self/cgroup. */
  readonly selfCgroup: string;
  readonly uid: number;
  readonly systemdRun: string | null;
  /** Candidate runtime dirs of the user manager: $XDG_RUNTIME_DIR, /run/user/UID. */
  readonly runtimeDirs: readonly string[];
}

export function hostView(): CgroupHostView {
  const uid = process.getuid?.() ?? 0;
  let selfCgroup = '';
  try {
    selfCgroup = readFileSync('/proc/self/cgroup', 'utf8');
  } catch {
    // no /proc: nothing to find
  }
  const xdg = process.env.XDG_RUNTIME_DIR;
  return {
    mounts: readMounts(),
    selfCgroup,
    uid,
    systemdRun: findOnPath('systemd-run'),
    runtimeDirs: [...(xdg?.startsWith('/') ? [xdg] : []), `/run/user/${uid}`],
  };
}

function versionOf(mounts: readonly MountEntry[]): { version: CgroupVersion; unifiedMount: string | null } {
  const at = (point: string): MountEntry | undefined => mounts.filter((m) => m.mountPoint === point).pop();
  const root = at('/sys/fs/cgroup');
  if (root?.fstype === 'cgroup2') return { version: 'v2', unifiedMount: root.mountPoint };
  const unified = mounts.find((m) => m.fstype === 'cgroup2' && m.mountPoint.startsWith('/sys/fs/cgroup/'));
  const v1 = mounts.some((m) => m.fstype === 'cgroup' && m.mountPoint.startsWith('/sys/fs/cgroup/'));
  if (v1 && unified) return { version: 'hybrid', unifiedMount: unified.mountPoint };
  if (v1) return { version: 'v1', unifiedMount: null };
  return { version: 'none', unifiedMount: null };
}

function readWords(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    return [];
  }
}

function writable(file: string): boolean {
  try {
    accessSync(file, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function ownedBy(dir: string, uid: number): boolean {
  try {
    return statSync(dir).uid === uid;
  } catch {
    return false;
  }
}

/**
 * The nearest strict ancestor of nook's cgroup that the user owns and may write
 * cgroup.procs and cgroup.subtree_control of: new cgroups go there, and moving a process
 * from nook's cgroup into one of them needs write access to that common ancestor's
 * cgroup.procs. nook's own cgroup is no candidate: it holds processes, and a cgroup with
 * processes cannot give its children controllers.
 */
export function findDelegated(mount: string, ownPath: string, uid: number): DelegatedCgroup | null {
  for (let path = dirname(ownPath); path !== '/'; path = dirname(path)) {
    const dir = join(mount, path);
    if (!ownedBy(dir, uid) || !writable(join(dir, 'cgroup.procs')) || !writable(join(dir, 'cgroup.subtree_control'))) continue;
    return { dir, controllers: readWords(join(dir, 'cgroup.subtree_control')) };
  }
  return null;
}

function ownCgroup(selfCgroup: string): string | null {
  const line = selfCgroup.split('\n').find((l) => l.startsWith('0::'));
  return line === undefined ? null : line.slice(3) || '/';
}

function systemdUser(view: CgroupHostView, unifiedMount: string | null): SystemdUser | null {
  if (view.systemdRun === null) return null;
  const runtimeDir = view.runtimeDirs.find((dir) => existsSync(join(dir, 'systemd', 'private')));
  if (runtimeDir === undefined) return null;
  const manager = unifiedMount === null ? null : join(unifiedMount, 'user.slice', `user-${view.uid}.slice`, `user@${view.uid}.service`, 'cgroup.controllers');
  return { systemdRun: view.systemdRun, runtimeDir, controllers: manager !== null && existsSync(manager) ? readWords(manager) : null };
}

export function readCgroupHost(view: CgroupHostView = hostView()): CgroupHost {
  const { version, unifiedMount } = versionOf(view.mounts);
  const ownPath = ownCgroup(view.selfCgroup);
  const delegated = version === 'v2' && unifiedMount !== null && ownPath !== null ? findDelegated(unifiedMount, ownPath, view.uid) : null;
  return { version, unifiedMount, ownPath, delegated, systemd: version === 'v2' ? systemdUser(view, unifiedMount) : null };
}
