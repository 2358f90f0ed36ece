import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { IdMap, IdRange } from '../plan/ops.js';
import { allSubordinateEntries, UIDMAP_PACKAGE, usermodFix } from './subids.js';
import { findOnPath } from './which.js';

/** The kernel takes at most this many lines in a uid_map or gid_map. */
const MAX_MAP_LINES = 340;
/** (uid_t)-1 means "no change" to the kernel: the highest id a map may reach is one less. */
const MAX_CONTAINER_ID = 0xfffffffe;
/** The ids a container needs at least: 0..65535, what a default useradd range gives. */
export const CONTAINER_ID_COUNT = 65536;

export interface SubordinateRange {
  readonly start: number;
  readonly count: number;
}

/** The id maps a container gets, and why it got less than the full range if it did. */
export interface ContainerIdMaps {
  readonly uid: IdMap;
  readonly gid: IdMap;
  /** Highest container uid/gid that maps to a host id. */
  readonly maxUid: number;
  readonly maxGid: number;
  /** Set when a single-id map was used: the one-line reason shown to the user. */
  readonly warning: string | null;
}

/** Parses /etc/subuid or /etc/subgid and returns the ranges of the given user (by name or id). */
export function parseSubordinateFile(text: string, user: { name: string; id: number }): SubordinateRange[] {
  const ranges: SubordinateRange[] = [];
  for (const line of text.split('\n')) {
    const [owner, start, count] = line.trim().split(':');
    if (owner === undefined || start === undefined || count === undefined) continue;
    if (owner !== user.name && owner !== String(user.id)) continue;
    if (!/^[0-9]{1,10}$/.test(start) || !/^[0-9]{1,10}$/.test(count)) continue;
    const s = Number(start);
    const c = Number(count);
    if (c > 0) ranges.push({ start: s, count: c });
  }
  return ranges;
}

/**
 * Container id 0 is the user's own id; ids 1.. fill the subordinate ranges in file order,
 * all of them, as rootless podman maps them. A range that overlaps one already mapped (a
 * line listed twice) is left out: the kernel refuses a map whose host ids overlap.
 */
export function buildIdRanges(ownId: number, subordinate: readonly SubordinateRange[]): IdRange[] {
  const ranges: IdRange[] = [{ inside: 0, outside: ownId, count: 1 }];
  let next = 1;
  for (const sub of subordinate) {
    if (ranges.length === MAX_MAP_LINES) break;
    if (ranges.some((r) => sub.start < r.outside + r.count && r.outside < sub.start + sub.count)) continue;
    const count = Math.min(sub.count, MAX_CONTAINER_ID + 1 - next);
    if (count <= 0) break;
    ranges.push({ inside: next, outside: sub.start, count });
    next += count;
  }
  return ranges;
}

function readSubordinate(file: string, user: { name: string; id: number }): SubordinateRange[] {
  try {
    return parseSubordinateFile(readFileSync(file, 'utf8'), user);
  } catch {
    return [];
  }
}

function lastId(map: IdMap): number {
  return Math.max(...map.ranges.map((r) => r.inside + r.count - 1));
}

/** For `nook info`: how many uids and gids a container has, e.g. "65537 uids (0-65536), 65537 gids (0-65536)". */
export function describeContainerIds(maps: ContainerIdMaps): string {
  return `${maps.maxUid + 1} uids (0-${maps.maxUid}), ${maps.maxGid + 1} gids (0-${maps.maxGid})`;
}

/** The user's name, or the uid where the password database has none (CI runners with random uids). */
export function userName(uid: number): string {
  try {
    return userInfo().username;
  } catch {
    return String(uid);
  }
}

/** Decides the current user's container id maps from /etc/subuid, /etc/subgid and PATH. */
export function containerIdMaps(): ContainerIdMaps {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  const name = userName(uid);
  const subUids = readSubordinate('/etc/subuid', { name, id: uid });
  const subGids = readSubordinate('/etc/subgid', { name, id: uid });
  const newuidmap = findOnPath('newuidmap');
  const newgidmap = findOnPath('newgidmap');

  let reason: string | null = null;
  let fix = '';
  if (subUids.length === 0 || subGids.length === 0) {
    reason = `no subordinate id range for ${name} in ${subUids.length === 0 ? '/etc/subuid' : '/etc/subgid'}`;
    fix = `Fix (as root): ${usermodFix(name, CONTAINER_ID_COUNT, allSubordinateEntries())}`;
  } else if (newuidmap === null || newgidmap === null) {
    reason = `${newuidmap === null ? 'newuidmap' : 'newgidmap'} is not installed`;
    fix = `Fix: install the package ${UIDMAP_PACKAGE}`;
  }
  if (reason !== null || newuidmap === null || newgidmap === null) {
    const single = (own: number): IdMap => ({ helper: null, ranges: [{ inside: 0, outside: own, count: 1 }] });
    return {
      uid: single(uid),
      gid: single(gid),
      maxUid: 0,
      maxGid: 0,
      warning: `${reason ?? 'no subordinate ids'}: using a single-id map (only container root exists; the files of other ids in an image are given to it). ${fix}`,
    };
  }
  const uidMap: IdMap = { helper: newuidmap, ranges: buildIdRanges(uid, subUids) };
  const gidMap: IdMap = { helper: newgidmap, ranges: buildIdRanges(gid, subGids) };
  return { uid: uidMap, gid: gidMap, maxUid: lastId(uidMap), maxGid: lastId(gidMap), warning: null };
}
