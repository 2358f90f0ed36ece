import { lstatSync, mkdirSync } from 'node:fs';
import koffi from 'koffi';
import { safeLayerPath, UnsafeLayerPath } from './layer-path.js';

/**
 * OCI layers mark deletions with `.wh.NAME` files and `.wh..wh..opq` (this directory hides
 * the lower ones' content). Overlayfs with `userxattr` wants a 0:0 character device in
 * place of NAME, and `user.overlay.opaque=y` on the directory. Node has neither mknod nor
 * setxattr, hence koffi; both run as root of the user namespace. The extractor imports
 * this module only for a layer that has either: loading koffi costs ~12 ms.
 */
const libc = koffi.load('libc.so.6');
const mknod = libc.func('int mknod(const char *path, uint32_t mode, uint64_t dev)');
const lsetxattr = libc.func('int lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags)');
const lgetxattr = libc.func('intptr_t lgetxattr(const char *path, const char *name, _Out_ uint8_t *value, size_t size)');
const OPAQUE = 'user.overlay.opaque';
const S_IFCHR = 0o020000;

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

export function makeWhiteout(root: string, rel: string): void {
  const path = safeLayerPath(root, rel);
  // A file of the same name in the same layer wins over its whiteout (OCI image spec).
  if (exists(path)) return;
  if (mknod(path, S_IFCHR, 0) !== 0) throw new Error(`cannot create the whiteout for "${rel}": errno ${koffi.errno()}`);
}

export function makeOpaque(root: string, relDir: string): void {
  const path = relDir === '' || relDir === '.' ? root : safeLayerPath(root, relDir);
  if (!exists(path)) mkdirSync(path, { mode: 0o755 });
  if (!lstatSync(path).isDirectory()) throw new UnsafeLayerPath(`opaque marker in "${relDir}", which is not a directory`);
  const value = Buffer.from('y');
  if (lsetxattr(path, OPAQUE, value, value.length, 0) !== 0) {
    throw new Error(`cannot mark "${relDir}" opaque: errno ${koffi.errno()}`);
  }
}

/** Whether an extracted layer's directory hides the content of the layers below. */
export function isOpaque(dir: string): boolean {
  const value = Buffer.alloc(1);
  return lgetxattr(dir, OPAQUE, value, value.length) === 1 && value[0] === 0x79;
}
