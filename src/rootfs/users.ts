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

/** The gids of --group-add entries (names from the root's /etc/group, or numbers). */
function groupAddIds(entries: readonly string[], groups: readonly GroupEntry[], maxGid: number): number[] {
  const fix = 'give --group-add a group name from the container\'s /etc/group or a gid';
  return entries.map((entry) => {
    if (entry === 'keep-groups') throw new UsageError('--group-add keep-groups is not supported', 'a rootless user namespace of nook never keeps host groups: name the groups instead');
    if (!NUMERIC.test(entry) && !NAME.test(entry)) throw new UsageError(`invalid group "${entry}" in --group-add`, fix);
    const gid = NUMERIC.test(entry) ? Number(entry) : groups.find((g) => g.name === entry)?.gid;
    if (gid === undefined) throw new UsageError(`unable to find group ${entry}: no matching entries in the container's /etc/group`, fix);
    if (gid > maxGid) throw new UsageError(`group "${entry}" (gid ${gid}) is outside the container's id map (gids 0-${maxGid})`, fix);
    return gid;
  });
}

/**
 * Resolves `-u USER[:GROUP]` (or the image's User) the way podman does, from the rootfs's
 * own /etc/passwd and /etc/group, read from outside (nothing in the image runs). A numeric
 * uid need not exist. `spec` undefined: neither was given, the process runs as root.
 *
 * Supplementary groups, as podman sets them: the primary group when a user was given; the
 * --group-add groups; and, unless the spec names a group, every group of /etc/group that
 * lists the user (those beyond the id map left out). None under a single-id map.
 */
export function resolveUser(files: RootFileReader, spec: string | undefined, limits: { maxUid: number; maxGid: number }, groupAdd: readonly string[] = []): ContainerUser {
  const given = spec ?? '0';
  const [userPart, groupPart, extra] = given.split(':');
  const fix = 'use -u NAME, -u UID, -u NAME:GROUP or -u UID:GID';
  if (extra !== undefined || !userPart || groupPart === '' || !(NUMERIC.test(userPart) || NAME.test(userPart))) {
    throw new UsageError(`invalid user "${given}"`, fix);
  }
  if (groupPart !== undefined && !(NUMERIC.test(groupPart) || NAME.test(groupPart))) {
    throw new UsageError(`invalid group in user "${given}"`, fix);
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
      `user "${given}" (uid ${uid}, gid ${gid}) is outside the container's id map (uids 0-${limits.maxUid}, gids 0-${limits.maxGid})`,
      limits.maxUid === 0 ? 'add a subordinate range for your user to /etc/subuid and /etc/subgid' : `choose ids up to ${Math.min(limits.maxUid, limits.maxGid)} (nook info shows the maps)`,
    );
  }
  if (limits.maxGid === 0) {
    // A single-id map is written with setgroups denied: no group list can be set at all.
    if (groupAdd.length > 0) throw new UsageError('--group-add needs a subordinate gid range', 'add a subordinate range for your user to /etc/subgid');
    return { uid, gid, groups: [], home: entry?.home || '/' };
  }
  const supplementary = new Set<number>(spec === undefined ? [] : [gid]);
  for (const added of groupAddIds(groupAdd, groups, limits.maxGid)) supplementary.add(added);
  const name = entry?.name;
  if (groupPart === undefined && name !== undefined) {
    for (const group of groups) if (group.members.includes(name) && group.gid <= limits.maxGid) supplementary.add(group.gid);
  }
  return { uid, gid, groups: [...supplementary].sort((a, b) => a - b), home: entry?.home || '/' };
}
