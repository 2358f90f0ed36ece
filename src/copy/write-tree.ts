import { closeSync, fchmodSync, fchownSync, fstatSync, futimesSync } from 'node:fs';
import { posix } from 'node:path';
import type { Entry, FileBody, Sink } from './entry.js';
import {
  fchownFd,
  linkat,
  mkdirat,
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_NOFOLLOW,
  O_PATH,
  O_RDONLY,
  O_WRONLY,
  openat2,
  RESOLVE_BENEATH,
  RESOLVE_NO_MAGICLINKS,
  RESOLVE_NO_SYMLINKS,
  symlinkat,
  SysError,
  unlinkat,
} from './syscalls.js';
import type { CopyRequest } from './request.js';
import type { RootedTree } from './tree.js';
import { writeAll } from './write-all.js';

/** The one name in a parent directory fd that is created or replaced: never through a link. */
const NAME_ONLY = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;

export class CopyConflict extends Error {}

/**
 * Writes entries into the existing directory `dir` of `tree`. Each entry's parent is
 * resolved inside the tree; the entry itself is made with O_EXCL | O_NOFOLLOW (after
 * removing what was there, as docker cp replaces files), so it is written where it was
 * created and nowhere else.
 */
export class TreeSink implements Sink {
  /** Directories get their times last: writing into them changes their mtime. */
  private readonly dirTimes: { path: string; mtime: Date }[] = [];

  constructor(
    private readonly tree: RootedTree,
    private readonly dir: string,
    private readonly owner: CopyRequest['owner'],
  ) {}

  add(entry: Entry): FileBody | null {
    // The destination directory itself (a `DIR/.` source, a tar's `./`): it stays as it is.
    if (entry.path === '.') return null;
    const target = posix.join(this.dir, entry.path);
    const { dirFd, name } = this.tree.parent(target);
    try {
      switch (entry.type) {
        case 'directory':
          this.makeDirectory(dirFd, name, entry, target);
          return null;
        case 'file':
          return this.makeFile(dirFd, name, entry, target);
        case 'symlink':
          this.clear(dirFd, name, target);
          symlinkat(entry.linkTarget, dirFd, name);
          this.finishLink(dirFd, name, entry);
          return null;
        case 'hardlink':
          this.makeHardlink(dirFd, name, entry, target);
          return null;
      }
    } finally {
      closeSync(dirFd);
    }
  }

  finish(): void {
    for (const { path, mtime } of this.dirTimes.reverse()) {
      const fd = this.tree.open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      try {
        futimesSync(fd, mtime, mtime);
      } finally {
        closeSync(fd);
      }
    }
  }

  private makeDirectory(dirFd: number, name: string, entry: Entry, target: string): void {
    try {
      mkdirat(dirFd, name, 0o700);
    } catch (err) {
      if ((err as SysError).code !== 'EEXIST') throw err;
      // An existing directory is merged into; anything else in its place goes.
      if (!this.isDirectory(dirFd, name)) {
        unlinkat(dirFd, name, false);
        mkdirat(dirFd, name, 0o700);
      }
    }
    const fd = openat2(dirFd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, NAME_ONLY);
    try {
      this.setOwnerAndMode(fd, entry);
    } finally {
      closeSync(fd);
    }
    this.dirTimes.push({ path: target, mtime: entry.mtime });
  }

  private makeFile(dirFd: number, name: string, entry: Entry, target: string): FileBody {
    this.clear(dirFd, name, target);
    const fd = openat2(dirFd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, NAME_ONLY, 0o600);
    return {
      write: (chunk) => writeAll(fd, chunk),
      close: () => {
        try {
          this.setOwnerAndMode(fd, entry);
          futimesSync(fd, entry.mtime, entry.mtime);
        } finally {
          closeSync(fd);
        }
      },
    };
  }

  /** A hard link of a tar stream: to an entry of the same stream, so under `dir` too. */
  private makeHardlink(dirFd: number, name: string, entry: Entry, target: string): void {
    const source = this.tree.parent(posix.join(this.dir, entry.linkTarget));
    try {
      this.clear(dirFd, name, target);
      linkat(source.dirFd, source.name, dirFd, name);
    } finally {
      closeSync(source.dirFd);
    }
  }

  /** Owner first: chown clears setuid and setgid, which the mode then sets again. */
  private setOwnerAndMode(fd: number, entry: Entry): void {
    const ids = this.ids(entry);
    if (ids) fchownSync(fd, ids.uid, ids.gid);
    fchmodSync(fd, entry.mode);
  }

  private finishLink(dirFd: number, name: string, entry: Entry): void {
    const ids = this.ids(entry);
    if (!ids) return;
    const fd = openat2(dirFd, name, O_PATH | O_NOFOLLOW, NAME_ONLY);
    try {
      fchownFd(fd, ids.uid, ids.gid, name);
    } finally {
      closeSync(fd);
    }
  }

  private ids(entry: Entry): { uid: number; gid: number } | null {
    if (this.owner.kind === 'creator') return null;
    return this.owner.kind === 'keep' ? { uid: entry.uid, gid: entry.gid } : { uid: this.owner.uid, gid: this.owner.gid };
  }

  /** Makes room for a non-directory: removes a file or link of that name; a directory stays and is an error. */
  private clear(dirFd: number, name: string, target: string): void {
    if (this.isDirectory(dirFd, name)) throw new CopyConflict(`cannot overwrite directory "${target}" with non-directory`);
    try {
      unlinkat(dirFd, name, false);
    } catch (err) {
      if ((err as SysError).code !== 'ENOENT') throw err;
    }
  }

  private isDirectory(dirFd: number, name: string): boolean {
    let fd: number;
    try {
      fd = openat2(dirFd, name, O_PATH | O_NOFOLLOW, NAME_ONLY);
    } catch (err) {
      if ((err as SysError).code === 'ENOENT') return false;
      throw err;
    }
    try {
      return fstatSync(fd).isDirectory();
    } finally {
      closeSync(fd);
    }
  }
}
