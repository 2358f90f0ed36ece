import { lstatSync, readFileSync, readlinkSync, type Stats } from 'node:fs';
import { join, posix } from 'node:path';

const MAX_LINKS = 40;

function lstat(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

function isWhiteout(st: Stats | null): boolean {
  return st !== null && st.isCharacterDevice() && st.rdev === 0;
}

/**
 * Reads a small file (/etc/passwd, /etc/group) of an image from its extracted layers,
 * topmost first, the way overlayfs would show it: a whiteout of the file or of a parent
 * hides what lies below, and symlinks are followed inside the image. Nothing from the
 * image runs. Opaque directories are not considered: /etc is not made opaque in practice.
 * Returns null when the image has no such file.
 */
export function readLayeredFile(layers: readonly string[], path: string): string | null {
  let wanted = posix.normalize(`/${path}`);
  for (let links = 0; links <= MAX_LINKS; links++) {
    const found = findInLayers(layers, wanted);
    if (found === null) return null;
    if (!found.link) return readFileSync(found.host, 'utf8');
    const target = readlinkSync(found.host);
    wanted = posix.normalize(target.startsWith('/') ? target : posix.join(posix.dirname(wanted), target));
  }
  return null;
}

function findInLayers(layers: readonly string[], path: string): { host: string; link: boolean } | null {
  const parts = path.split('/').filter(Boolean);
  for (const layer of layers) {
    // A whiteout of the path or of any parent in this layer hides every layer below.
    for (let i = 1; i <= parts.length; i++) {
      if (isWhiteout(lstat(join(layer, ...parts.slice(0, i))))) return null;
    }
    const host = join(layer, ...parts);
    const st = lstat(host);
    if (st?.isFile()) return { host, link: false };
    if (st?.isSymbolicLink()) return { host, link: true };
  }
  return null;
}

/** The mode of the image's root directory: its topmost layer's (layers topmost first). */
export function topLayerRootMode(layers: readonly string[]): number {
  const top = layers[0];
  return top === undefined ? 0o755 : lstatSync(top).mode & 0o7777;
}

type Entry = 'dir' | 'link' | 'other' | null;

/** What the image has at `parts` (its topmost layer decides), and that layer's host path. */
function topmost(layers: readonly string[], parts: readonly string[]): { entry: Entry; host: string } {
  for (const layer of layers) {
    for (let i = 1; i < parts.length; i++) {
      if (isWhiteout(lstat(join(layer, ...parts.slice(0, i))))) return { entry: null, host: '' };
    }
    const host = join(layer, ...parts);
    const st = lstat(host);
    if (st === null) continue;
    if (isWhiteout(st)) return { entry: null, host: '' };
    return { entry: st.isSymbolicLink() ? 'link' : st.isDirectory() ? 'dir' : 'other', host };
  }
  return { entry: null, host: '' };
}

/**
 * A container path with the image's symlinks on the way resolved, as the container would
 * see it (links followed inside the image, `..` stopping at its root); components that do
 * not exist are kept as they are. null when a link loop or a non-directory is in the way.
 */
export function resolveLayeredPath(layers: readonly string[], path: string): string | null {
  const pending = path.split('/').filter(Boolean);
  const resolved: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const { entry, host } = topmost(layers, [...resolved, part]);
    if (entry === 'link') {
      if (++links > MAX_LINKS) return null;
      const target = readlinkSync(host);
      if (target.startsWith('/')) resolved.length = 0;
      pending.unshift(...target.split('/').filter(Boolean));
      continue;
    }
    if (entry === 'other' && pending.length > 0) return null;
    resolved.push(part);
  }
  return `/${resolved.join('/')}`;
}

/**
 * What the image has at `path` (layers topmost first), its symlinks on the way followed
 * inside the image: 'dir', 'other' (a file, a device), or null when it is not there.
 */
export function layeredKind(layers: readonly string[], path: string): 'dir' | 'other' | null {
  const resolved = resolveLayeredPath(layers, path);
  if (resolved === null) return null;
  const parts = resolved.split('/').filter(Boolean);
  if (parts.length === 0) return 'dir';
  const { entry } = topmost(layers, parts);
  return entry === null ? null : entry === 'dir' ? 'dir' : 'other';
}

/**
 * An image's layer dirs (topmost first) as overlayfs takes them: a layer the image has
 * twice (two steps that changed the same nothing) only once, at its topmost place. The
 * kernel refuses a lower dir given twice; the lower copy changes nothing, since whatever it
 * holds the upper one holds too, and wins.
 */
export function distinctLowerDirs(layers: readonly string[]): string[] {
  return [...new Set(layers)];
}
