import { lstatSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { HostError } from '../errors.js';

/**
 * nook's runtime state directory: $XDG_RUNTIME_DIR/nook; without it (su, sudo -u, cron, CI)
 * /run/user/UID/nook when logind made that dir for the user, else /tmp/nook-UID. Nothing
 * is said about the fallback: it is as good a place. The /tmp one is shared ground, so it
 * must be ours, a real directory, and closed to everyone else before anything is put in it.
 */
export function runtimeDirPath(): string {
  const uid = process.getuid?.() ?? 0;
  const candidates = [process.env.XDG_RUNTIME_DIR, `/run/user/${uid}`];
  const base = candidates.find((dir) => dir !== undefined && dir.startsWith('/') && ownedDirectory(dir, uid));
  return base === undefined ? `/tmp/nook-${uid}` : join(base, 'nook');
}

/** runtimeDirPath(), created if needed and checked to be private. */
export function runtimeDir(): string {
  const uid = process.getuid?.() ?? 0;
  const dir = runtimeDirPath();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o077) !== 0) {
    throw new HostError(
      `runtime directory ${dir} is not a private directory owned by you`,
      `remove it, or set XDG_RUNTIME_DIR to a directory only you can enter`,
    );
  }
  return dir;
}

function ownedDirectory(path: string, uid: number): boolean {
  try {
    const st = lstatSync(path);
    return st.isDirectory() && st.uid === uid;
  } catch {
    return false;
  }
}
