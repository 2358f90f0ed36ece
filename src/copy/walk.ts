import { closeSync, fstatSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { posix } from 'node:path';
import type { FileBody, Sink } from './entry.js';
import { O_DIRECTORY, O_NOFOLLOW, O_PATH, O_RDONLY, openat2, readlinkFd, RESOLVE_BENEATH, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS, type SysError } from './syscalls.js';
import type { RootedTree } from './tree.js';

/** One name inside a directory we hold: no symlink followed, nothing above it reachable. */
const CHILD = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
const CHUNK = 256 * 1024;

export interface WalkOptions {
  /** Follow a symlink at `path` itself (a source written `DIR/` or `DIR/.`). */
  readonly followLast: boolean;
  /** Do not descend into other mounts (export: not the running container's /proc, /dev, volumes). */
  readonly oneFileSystem: boolean;
}

export interface WalkResult {
  /** Sockets, fifos and devices, which are not copied (a user namespace may not create devices). */
  readonly skipped: number;
}

/**
 * Walks `path` in `tree` and hands every entry to `sink`, named `name` (then `name/child`…;
 * `.` for the sink's directory itself). Everything below `path` is reached by fd, one name
 * at a time without following symlinks, so what the walk reads stays inside the tree even
 * if the tree changes under it. Files are read through the same fd that was checked.
 */
export function walk(tree: RootedTree, path: string, name: string, sink: Sink, options: WalkOptions): WalkResult {
  const fd = tree.open(path, O_PATH | (options.followLast ? 0 : O_NOFOLLOW));
  const walker = new Walker(sink, options.oneFileSystem ? mountOf(fd) : null);
  try {
    walker.visit(fd, name);
  } finally {
    closeSync(fd);
  }
  return { skipped: walker.skipped };
}

class Walker {
  skipped = 0;

  constructor(
    private readonly sink: Sink,
    private readonly mount: string | null,
  ) {}

  /** `fd`: an O_PATH fd on the entry (a symlink itself, not its target). */
  visit(fd: number, name: string): void {
    const st = fstatSync(fd);
    const common = { path: name, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime, size: 0, linkTarget: '' };
    if (st.isDirectory()) {
      this.sink.add({ ...common, type: 'directory' });
      if (this.mount === null || mountOf(fd) === this.mount) this.visitChildren(fd, name);
    } else if (st.isFile()) {
      const body = this.sink.add({ ...common, type: 'file', size: st.size });
      if (body) this.copyContent(fd, st.size, body);
    } else if (st.isSymbolicLink()) {
      this.sink.add({ ...common, type: 'symlink', linkTarget: readlinkFd(fd, name) });
    } else {
      this.skipped++;
    }
  }

  private visitChildren(fd: number, name: string): void {
    const dir = reopen(fd, O_RDONLY | O_DIRECTORY);
    try {
      for (const child of readdirSync(`/proc/self/fd/${dir}`).sort()) {
        let childFd: number;
        try {
          childFd = openat2(dir, child, O_PATH | O_NOFOLLOW, CHILD);
        } catch (err) {
          // Removed since the listing (a running container's temp files): it is not there to copy.
          if ((err as SysError).code === 'ENOENT') continue;
          throw err;
        }
        try {
          this.visit(childFd, posix.join(name, child));
        } finally {
          closeSync(childFd);
        }
      }
    } finally {
      closeSync(dir);
    }
  }

  private copyContent(fd: number, size: number, body: FileBody): void {
    sendFile(reopen(fd, O_RDONLY), size, body);
  }
}

/**
 * Sends at most `size` bytes of the open file `fd` (a tar header already promised that
 * many) into `body`, then closes both.
 */
export function sendFile(fd: number, size: number, body: FileBody): void {
  try {
    const buffer = Buffer.alloc(Math.min(CHUNK, Math.max(size, 1)));
    let left = size;
    while (left > 0) {
      const n = readSync(fd, buffer, 0, Math.min(buffer.length, left), null);
      if (n === 0) break;
      body.write(buffer.subarray(0, n));
      left -= n;
    }
  } finally {
    closeSync(fd);
  }
  body.close();
}

/**
 * The id of the mount `fd` is on. Not st_dev: a volume bound from the filesystem the
 * container's root is on has the same device, but is another mount.
 */
function mountOf(fd: number): string | null {
  return /^mnt_id:\s*(\d+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1] ?? null;
}

/** Opens for reading the very file an O_PATH fd names (through its /proc/self/fd link, never a path). */
function reopen(fd: number, flags: number): number {
  return openSync(`/proc/self/fd/${fd}`, flags);
}
