import { readFileSync, statSync } from 'node:fs';

/** One line of /etc/subuid or /etc/subgid: `owner:start:count`. */
export interface SubordinateEntry {
  /** A user name, or a numeric uid. */
  readonly owner: string;
  readonly start: number;
  readonly count: number;
}

export const SUBUID_FILE = '/etc/subuid';
export const SUBGID_FILE = '/etc/subgid';

/** Where useradd starts handing out ranges, and the size it gives (login.defs SUB_UID_MIN, SUB_UID_COUNT). */
const FIRST_START = 100000;
const BLOCK = 65536;

export function parseSubordinateEntries(text: string): SubordinateEntry[] {
  return text.split('\n').flatMap((line) => {
    const [owner, start, count, ...rest] = line.trim().split(':');
    if (!owner || owner.startsWith('#') || start === undefined || count === undefined || rest.length > 0) return [];
    if (!/^[0-9]{1,10}$/.test(start) || !/^[0-9]{1,10}$/.test(count) || Number(count) === 0) return [];
    return [{ owner, start: Number(start), count: Number(count) }];
  });
}

export function readSubordinateEntries(file: string): SubordinateEntry[] {
  try {
    return parseSubordinateEntries(readFileSync(file, 'utf8'));
  } catch {
    return [];
  }
}

export const ownedBy = (entry: SubordinateEntry, user: { name: string; id: number }): boolean => entry.owner === user.name || entry.owner === String(user.id);

/** Other users' ranges that share ids with the user's: a container of theirs could own files of yours. */
export function overlapsOf(entries: readonly SubordinateEntry[], user: { name: string; id: number }): SubordinateEntry[] {
  const mine = entries.filter((e) => ownedBy(e, user));
  return entries.filter((e) => !ownedBy(e, user) && mine.some((m) => e.start < m.start + m.count && m.start < e.start + e.count));
}

/** The first id past every range in the files (and no lower than useradd starts): free for a new range. */
export function freeStart(entries: readonly SubordinateEntry[]): number {
  return Math.max(FIRST_START, ...entries.map((e) => e.start + e.count));
}

/**
 * The command that gives `user` at least `count` more subordinate uids and gids, in one
 * free range (whole blocks of 65536, as useradd hands them out).
 */
export function usermodFix(user: string, count: number, entries: readonly SubordinateEntry[]): string {
  const start = freeStart(entries);
  const size = Math.ceil(count / BLOCK) * BLOCK;
  const range = `${start}-${start + size - 1}`;
  return `usermod --add-subuids ${range} --add-subgids ${range} ${user}`;
}

/** Both files' entries: a new range must be free in each. */
export function allSubordinateEntries(): SubordinateEntry[] {
  return [...readSubordinateEntries(SUBUID_FILE), ...readSubordinateEntries(SUBGID_FILE)];
}

/** What newuidmap/newgidmap need to work for an ordinary user: to exist and be setuid root. */
export interface IdMapHelper {
  readonly path: string | null;
  readonly setuidRoot: boolean;
}

export function idMapHelper(path: string | null): IdMapHelper {
  if (path === null) return { path, setuidRoot: false };
  try {
    const st = statSync(path);
    return { path, setuidRoot: st.uid === 0 && (st.mode & 0o4000) !== 0 };
  } catch {
    return { path, setuidRoot: false };
  }
}

/** The package that has newuidmap, by distribution family, for hints. */
export const UIDMAP_PACKAGE = 'uidmap (Debian, Ubuntu) or shadow-utils (Fedora, RHEL)';
