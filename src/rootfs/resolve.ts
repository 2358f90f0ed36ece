import { lstatSync } from 'node:fs';
import { posix } from 'node:path';
import { resolveLayeredPath } from './layered.js';

/**
 * Maps a path as the container would see it to the host path of the same file, following
 * symlinks as if `root` were `/` (so `/etc/passwd -> /host/file` stays inside the root).
 * Returns null when the path does not exist there. Used only to *read* image metadata
 * (passwd, group) before the container starts; mounts are resolved by the runtime itself.
 * A plain root is an image of one layer: resolveLayeredPath does the walk.
 */
export function resolveInRoot(root: string, containerPath: string): string | null {
  const resolved = resolveLayeredPath([root], containerPath);
  if (resolved === null) return null;
  const host = resolved === '/' ? root : posix.join(root, resolved);
  try {
    lstatSync(host);
    return host;
  } catch {
    return null;
  }
}
