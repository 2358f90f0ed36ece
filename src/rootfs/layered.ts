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
