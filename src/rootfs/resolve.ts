import { lstatSync, readlinkSync } from 'node:fs';
import { posix } from 'node:path';

const MAX_LINKS = 40;

/**
 * Maps a path as the container would see it to the host path of the same file, following
 * symlinks as if `root` were `/` (so `/etc/passwd -> /host/file` stays inside the root).
 * Returns null when the path does not exist there. Used only to *read* image metadata
 * (passwd, group) before the container starts; mounts are resolved by the runtime itself.
 */
export function resolveInRoot(root: string, containerPath: string): string | null {
  const pending = containerPath.split('/').filter(Boolean);
  const resolved: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const host = posix.join(root, ...resolved, part);
    let st;
    try {
      st = lstatSync(host);
    } catch {
      return null;
    }
    if (st.isSymbolicLink()) {
      if (++links > MAX_LINKS) return null;
      const target = readlinkSync(host);
      if (target.startsWith('/')) resolved.length = 0;
      pending.unshift(...target.split('/').filter(Boolean));
      continue;
    }
    resolved.push(part);
  }
  return posix.join(root, ...resolved);
}
