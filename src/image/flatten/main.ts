import { chmodSync, constants, copyFileSync, lchownSync, lstatSync, lutimesSync, mkdirSync, readdirSync, readlinkSync, rmSync, symlinkSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { isOpaque } from '../extract/whiteouts.js';

/**
 * The vfs storage driver's container root, where overlayfs is refused: the image's
 * extracted layers copied bottom first into one directory, each layer's whiteouts deleting
 * and its opaque directories emptying what the layers below put there, as overlayfs would
 * show them. Runs as root of a user namespace with the container id maps (started by
 * nook-runtime), so owners carry over. Files are cloned where the filesystem can
 * (reflinks), copied otherwise: never hard-linked, or the container could change a layer.
 */
export interface FlattenRequest {
  /** Extracted layer directories, bottom first. */
  readonly layers: readonly string[];
  /** An empty directory: the container's root, or a new volume. */
  readonly target: string;
  /**
   * Only this directory of the image (a volume's mount point, copied into the new volume
   * as podman does); absent: the whole image.
   */
  readonly subpath?: string;
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

function copyMetadata(path: string, st: Stats): void {
  lchownSync(path, st.uid, st.gid);
  if (st.isSymbolicLink()) {
    lutimesSync(path, st.atime, st.mtime);
    return;
  }
  // After the chown, which clears setuid and setgid bits.
  chmodSync(path, st.mode & 0o7777);
  lutimesSync(path, st.atime, st.mtime);
}

/**
 * Copies the layer's subtree `rel` over the target. The target side is checked with lstat
 * before every step, and a directory is descended into only once it is a real one, so no
 * symlink left by a lower layer can redirect a write.
 */
function copyTree(layer: string, target: string, rel: string): void {
  for (const entry of readdirSync(join(layer, rel))) {
    const path = join(rel, entry);
    const from = join(layer, path);
    const to = join(target, path);
    const st = lstatSync(from);
    const existing = lstatOrNull(to);
    if (st.isCharacterDevice() && st.rdev === 0) {
      rmSync(to, { recursive: true, force: true });
      continue;
    }
    if (st.isDirectory()) {
      if (existing !== null && !existing.isDirectory()) rmSync(to, { force: true });
      if (existing === null || !existing.isDirectory()) mkdirSync(to);
      else if (isOpaque(from)) for (const child of readdirSync(to)) rmSync(join(to, child), { recursive: true, force: true });
      copyTree(layer, target, path);
      copyMetadata(to, st);
      continue;
    }
    if (existing !== null) rmSync(to, { recursive: true, force: true });
    if (st.isSymbolicLink()) symlinkSync(readlinkSync(from), to);
    else if (st.isFile()) copyFileSync(from, to, constants.COPYFILE_FICLONE);
    else continue;
    copyMetadata(to, st);
  }
}

function emptyDir(dir: string): void {
  for (const child of readdirSync(dir)) rmSync(join(dir, child), { recursive: true, force: true });
}

/**
 * A layer's part of one directory of the image: the directory under the layer if every
 * component of the path is a real directory there, 'hidden' if the layer deletes the path
 * (a whiteout of it or of a parent), or null if the layer leaves it alone. The caller has
 * resolved the image's symlinks in the path already (resolveLayeredPath): one met here
 * means the path changed kind between layers, and that layer adds nothing.
 */
function layerPart(layer: string, subpath: string): string | 'hidden' | null {
  let dir = layer;
  for (const part of subpath.split('/').filter(Boolean)) {
    dir = join(dir, part);
    const st = lstatOrNull(dir);
    if (st === null) return null;
    if (st.isCharacterDevice() && st.rdev === 0) return 'hidden';
    if (!st.isDirectory()) return null;
  }
  return dir;
}

function main(): void {
  const request = JSON.parse(process.argv[2] ?? '') as FlattenRequest;
  for (const layer of request.layers) {
    if (request.subpath === undefined) {
      copyTree(layer, request.target, '');
      // The container's root takes the owner and mode of the image's, as overlayfs shows it.
      copyMetadata(request.target, lstatSync(layer));
      continue;
    }
    const part = layerPart(layer, request.subpath);
    if (part === 'hidden') emptyDir(request.target);
    else if (part !== null) {
      if (isOpaque(part)) emptyDir(request.target);
      copyTree(part, request.target, '');
      // The volume's root takes the owner and mode the directory has in the image.
      copyMetadata(request.target, lstatSync(part));
    }
  }
}

main();
