import { lstatSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import koffi from 'koffi';

/**
 * OCI layers mark deletions with `.wh.NAME` files and `.wh..wh..opq` (this directory hides
 * the lower ones' content). Overlayfs with `userxattr` wants a 0:0 character device in
 * place of NAME, and `user.overlay.opaque=y` on the directory. Node has neither mknod nor
 * setxattr, hence koffi; both run as root of the user namespace.
 */
const libc = koffi.load('libc.so.6');
const mknod = libc.func('int mknod(const char *path, uint32_t mode, uint64_t dev)');
const lsetxattr = libc.func('int lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags)');
const lgetxattr = libc.func('intptr_t lgetxattr(const char *path, const char *name, _Out_ uint8_t *value, size_t size)');
const OPAQUE = 'user.overlay.opaque';
const S_IFCHR = 0o020000;

export class UnsafeLayerPath extends Error {}

/**
 * The layer-relative path `rel` under `root`, checked component by component: no `..`, and
 * no symlink on the way, so a whiteout can never land outside the layer. Missing parent
 * directories are created (a layer may hold only the whiteout of a lower directory's file).
 */
export function safeLayerPath(root: string, rel: string): string {
  const parts = rel.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.length === 0 || parts.includes('..')) throw new UnsafeLayerPath(`unsafe path "${rel}"`);
  let dir = root;
  for (const part of parts.slice(0, -1)) {
    dir = join(dir, part);
    let st;
    try {
      st = lstatSync(dir);
    } catch {
      mkdirSync(dir, { mode: 0o755 });
      continue;
    }
    if (!st.isDirectory()) throw new UnsafeLayerPath(`"${rel}" goes through "${dir.slice(root.length + 1)}", which is not a directory`);
  }
  return join(dir, parts[parts.length - 1]!);
}

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
