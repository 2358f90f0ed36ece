import { chmodSync, chownSync, closeSync, constants, fchmodSync, fchownSync, futimesSync, linkSync, lstatSync, lutimesSync, mkdirSync, openSync, rmdirSync, symlinkSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ReadEntry } from 'tar';

/** Only ever a new file: O_EXCL also refuses to follow a symlink in the last component. */
const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL;
/** Directories the archive names only as parents of entries, and a layer's root unless it names "./". */
export const PARENT_MODE = 0o755;
/** mkdir(2) takes the sticky bit from its mode but setgid only from the parent directory. */
const S_ISGID = 0o2000;

export class UnsupportedEntry extends Error {}

/**
 * Writes the entries of a layer that the layer checks in layer.ts have let through, into
 * the layer's directory, with what node-tar's UnpackSync wrote (same modes, times and
 * owners) but fewer syscalls: the directory starts empty, so an entry is simply created,
 * and only when that fails does it look at what is in the way (a missing parent, an
 * earlier entry of the same name). node-tar made every parent (mkdir, then stat on
 * EEXIST) and lstat'ed every entry first: three syscalls of six per file, for nothing.
 * It follows no symlink of the layer's: the checks refuse any entry that goes through one.
 * Modes are the archive's, bit for bit: the extractor runs with umask 0 (main.ts).
 */
export class LayerWriter {
  /** Directories get their times last: writing into them changes their mtime. */
  private readonly dirTimes: { path: string; atime: Date; mtime: Date }[] = [];

  constructor(
    private readonly root: string,
    private readonly preserveOwners: boolean,
  ) {}

  /** Writes `entry`; a file's data is written as the parser hands it over. */
  write(entry: ReadEntry): void {
    // join() drops '.' and empty components ('..' was refused already); a directory's
    // trailing '/' goes too, or lstat and mkdir would insist on a directory there.
    const path = join(this.root, entry.path).replace(/\/+$/, '');
    switch (entry.type) {
      case 'File':
      case 'OldFile':
      case 'ContiguousFile':
        if (path !== this.root) return this.file(entry, path);
        break;
      case 'Directory':
      case 'GNUDumpDir':
        this.directory(entry, path);
        break;
      case 'SymbolicLink':
        if (path !== this.root) this.create(path, () => symlinkSync(entry.linkpath!, path));
        break;
      case 'Link':
        if (path !== this.root) this.create(path, () => linkSync(join(this.root, entry.linkpath!), path));
        break;
      default:
        throw new UnsupportedEntry(`"${entry.path}" is a ${entry.type} entry, which nook does not extract`);
    }
    entry.resume();
  }

  private file(entry: ReadEntry, path: string): void {
    const mode = (entry.mode ?? 0o666) & 0o7777;
    const fd = this.create(path, () => openSync(path, CREATE, mode));
    entry.on('data', (chunk: Buffer) => {
      for (let done = 0; done < chunk.length; ) done += writeSync(fd, chunk, done);
    });
    entry.on('end', () => {
      if (entry.mtime) futimesSync(fd, entry.atime ?? new Date(), entry.mtime);
      const owner = this.owner(entry);
      if (owner) fchownSync(fd, owner.uid, owner.gid);
      // Exact, whatever the umask; and the kernel drops setuid/setgid at a chown (ping, su
      // and passwd in images rely on them).
      if (mode & 0o6000) fchmodSync(fd, mode);
      closeSync(fd);
    });
  }

  private directory(entry: ReadEntry, path: string): void {
    const mode = (entry.mode ?? PARENT_MODE) & 0o7777;
    let made = true;
    try {
      this.create(path, () => mkdirSync(path, { mode }), true);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // An earlier entry's parent, or the layer root ("./"): kept, with this entry's mode.
      made = false;
    }
    const owner = this.owner(entry);
    if (owner) chownSync(path, owner.uid, owner.gid);
    if (!made || mode & S_ISGID) chmodSync(path, mode);
    if (entry.mtime) this.dirTimes.push({ path, atime: entry.atime ?? new Date(), mtime: entry.mtime });
  }

  /**
   * Gives the directories their archive times, once nothing more is written into them
   * (whiteouts included). lutimes: a later entry may have replaced an empty directory
   * with a symlink, which must not be followed.
   */
  finish(): void {
    for (const { path, atime, mtime } of this.dirTimes) lutimesSync(path, atime, mtime);
  }

  /**
   * Runs `make`, which creates `path`. If that fails for a missing parent, makes the
   * parents; if something is in the way (an earlier entry of the same name: the later one
   * wins, as in tar), removes it, except that a directory entry keeps an earlier directory
   * (EEXIST goes to the caller); then runs `make` again.
   */
  private create<T>(path: string, make: () => T, directory = false): T {
    try {
      return make();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') mkdirSync(dirname(path), { recursive: true, mode: PARENT_MODE });
      else if (code !== 'EEXIST') throw err;
      else if (!lstatSync(path).isDirectory()) unlinkSync(path);
      else if (directory) throw err;
      else rmdirSync(path);
    }
    return make();
  }

  /**
   * The owner to give the entry, or null to leave it container root's. An id field node-tar
   * could not read is 0, as the layer checks (layer.ts) took it.
   */
  private owner(entry: ReadEntry): { uid: number; gid: number } | null {
    const uid = entry.uid ?? 0;
    const gid = entry.gid ?? 0;
    return this.preserveOwners && (uid !== 0 || gid !== 0) ? { uid, gid } : null;
  }
}
