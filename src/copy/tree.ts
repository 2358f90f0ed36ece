import { closeSync, fstatSync, openSync } from 'node:fs';
import { posix } from 'node:path';
import { O_DIRECTORY, O_PATH, openat2, RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS, SysError } from './syscalls.js';

/**
 * A directory tree whose paths are resolved as if its top were `/`: a container's root
 * (`/proc/PID/root`, a mounted overlay, a --rootfs dir) or the host's own `/`. A symlink
 * in it, absolute or `../..`, resolves inside it; the kernel enforces that on every
 * lookup (openat2 RESOLVE_IN_ROOT), so a link swapped in meanwhile changes nothing.
 */
export class RootedTree {
  private constructor(private readonly rootFd: number) {}

  /** Opens `root` (a trusted host path, which may itself be a magic link like /proc/PID/root). */
  static open(root: string): RootedTree {
    return new RootedTree(openSync(root, O_PATH | O_DIRECTORY));
  }

  /** An fd on the absolute path `path`; `flags` as for open(2) (O_NOFOLLOW: a final symlink itself). */
  open(path: string, flags: number, mode = 0): number {
    return openat2(this.rootFd, path, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS, mode);
  }

  /** What `path` is in the tree, its last symlink followed inside it. */
  kind(path: string): 'directory' | 'other' | 'missing' {
    let fd: number;
    try {
      fd = this.open(path, O_PATH);
    } catch (err) {
      if ((err as SysError).code === 'ENOENT') return 'missing';
      throw err;
    }
    try {
      return fstatSync(fd).isDirectory() ? 'directory' : 'other';
    } finally {
      closeSync(fd);
    }
  }

  /**
   * The directory that holds `path` (symlinks on the way followed inside the tree) and the
   * name of `path` in it: creating and replacing happen on that name, relative to the fd.
   */
  parent(path: string): { dirFd: number; name: string } {
    const normal = posix.normalize(path);
    const name = posix.basename(normal);
    if (name === '' || name === '.' || name === '..') throw new SysError(22, 'resolve', path);
    return { dirFd: this.open(posix.dirname(normal), O_PATH | O_DIRECTORY), name };
  }

  close(): void {
    closeSync(this.rootFd);
  }
}
