import { UsageError } from '../errors.js';
import type { ProcessUser } from '../plan/spec.js';
import { readLayeredFile } from './layered.js';

export interface ContainerUser extends ProcessUser {
  readonly home: string;
}

interface PasswdEntry {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
}

interface GroupEntry {
  readonly name: string;
  readonly gid: number;
  readonly members: readonly string[];
}

/**
 * Reads a file of the container's root filesystem, '' when it has none. Throws a
 * RootfsError for a file nook refuses to read (not a regular file, or too large).
 */
export type RootFileReader = (path: string) => string;

/** Files of a plain directory used as the root. */
export function directoryFiles(root: string): RootFileReader {
  return imageFiles([root]);
}

/** Files of an image, from its extracted layers (topmost first). */
export function imageFiles(layers: readonly string[]): RootFileReader {
  return (path) => readLayeredFile(layers, path) ?? '';
}

export function parsePasswd(text: string): PasswdEntry[] {
  return text.split('\n').flatMap((line) => {
    const f = line.split(':');
    if (f.length < 7 || line.startsWith('#')) return [];
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    return Number.isInteger(uid) && Number.isInteger(gid) ? [{ name: f[0]!, uid, gid, home: f[5]! }] : [];
  });
}

export function parseGroup(text: string): GroupEntry[] {
  return text.split('\n').flatMap((line) => {
    const f = line.split(':');
    if (f.length < 4 || line.startsWith('#')) return [];
    const gid = Number(f[2]);
    return Number.isInteger(gid) ? [{ name: f[0]!, gid, members: f[3]!.split(',').filter(Boolean) }] : [];
  });
}

const NUMERIC = /^[0-9]+$/;
const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*\$?$/;

/**
 * Resolves `-u USER[:GROUP]` the way podman does, from the rootfs's own /etc/passwd and
 * /etc/group, read from outside (nothing in the image runs). A numeric uid need not exist.
 */
export function resolveUser(files: RootFileReader, spec: string, limits: { maxUid: number; maxGid: number }): ContainerUser {
  const [userPart, groupPart, extra] = spec.split(':');
  const fix = 'use -u NAME, -u UID, -u NAME:GROUP or -u UID:GID';
  if (extra !== undefined || !userPart || groupPart === '' || !(NUMERIC.test(userPart) || NAME.test(userPart))) {
    throw new UsageError(`invalid user "${spec}"`, fix);
  }
  if (groupPart !== undefined && !(NUMERIC.test(groupPart) || NAME.test(groupPart))) {
    throw new UsageError(`invalid group in user "${spec}"`, fix);
  }
  const passwd = parsePasswd(files('/etc/passwd'));
  const groups = parseGroup(files('/etc/group'));

  const entry = NUMERIC.test(userPart) ? passwd.find((p) => p.uid === Number(userPart)) : passwd.find((p) => p.name === userPart);
  if (entry === undefined && !NUMERIC.test(userPart)) {
    throw new UsageError(`unable to find user ${userPart}: no matching entries in the container's /etc/passwd`, fix);
  }
  const uid = entry?.uid ?? Number(userPart);
  let gid = entry?.gid ?? 0;
  if (groupPart !== undefined) {
    if (NUMERIC.test(groupPart)) gid = Number(groupPart);
    else {
      const group = groups.find((g) => g.name === groupPart);
      if (group === undefined) throw new UsageError(`unable to find group ${groupPart}: no matching entries in the container's /etc/group`, fix);
      gid = group.gid;
    }
  }
  if (uid > limits.maxUid || gid > limits.maxGid) {
    throw new UsageError(
      `user "${spec}" (uid ${uid}, gid ${gid}) is outside the container's id map (uids 0-${limits.maxUid}, gids 0-${limits.maxGid})`,
      limits.maxUid === 0 ? 'add a subordinate range for your user to /etc/subuid and /etc/subgid' : 'choose an id below 65536',
    );
  }
  const name = entry?.name;
  const supplementary =
    groupPart === undefined && name !== undefined
      ? groups.filter((g) => g.members.includes(name) && g.gid !== gid && g.gid <= limits.maxGid).map((g) => g.gid)
      : [];
  return { uid, gid, groups: supplementary, home: entry?.home || '/' };
}
