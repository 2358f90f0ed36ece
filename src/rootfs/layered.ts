import { closeSync, constants, fstatSync, lstatSync, openSync, readlinkSync, readSync, type Stats } from 'node:fs';
import { RootfsError } from '../errors.js';

/**
 * Host-side reads of paths inside an image or a container (its /etc/passwd and /etc/group
 * for `-u`, /bin/sh, the targets of volumes), without following anything out of its root.
 *
 * The root is one or more layer directories, topmost first, merged the way overlayfs shows
 * them (a plain directory is a root of one layer). Those directories are trusted; what is
 * in them is not: an image can ship `etc -> /home/user/.ssh`, and a running container
 * rewrites its upper layer at will while nook reads it.
 *
 * So nothing here hands a path string of the container to the kernel. Each step opens ONE
 * name relative to a directory fd already held (`/proc/self/fd/N/NAME`, O_PATH|O_NOFOLLOW),
 * and checks with fstat what that fd is: a link is never followed by the kernel but read
 * and resolved here, against this walk's own root fds, `..` included (popped from our own
 * stack, never looked up). This is what openat2(RESOLVE_IN_ROOT) gives the runtime; Node
 * has no openat2, and koffi is too slow to load on the `nook run` path.
 *
 * Against a container that swaps components while we walk (TOCTOU): every fd names the
 * object the name meant at the moment of its lookup, and stays that object; a later swap
 * cannot redirect a lookup already made, and the next lookup starts from a held directory,
 * not from a path. A directory we hold may be renamed elsewhere meanwhile, but only by
 * someone who can reach both places: the container moves things only inside its own mounts.
 * The file read is the object whose fstat said "regular file": it is reopened through its
 * own fd (`/proc/self/fd/N`), never by name, so no FIFO (which would hang), device
 * (/dev/zero: an endless read) or socket can be put in its place between check and open;
 * and at most MAX_ROOT_FILE bytes are read. The worst a container can do is make nook read
 * a file it could write itself, or find nothing.
 *
 * Opaque directories (`user.overlay.opaque`) are not considered: reading the xattr needs
 * koffi, and an image does not make /etc opaque in practice.
 */

/** Not in Node's fs.constants; the same value on x86_64 and aarch64. */
const O_PATH = 0o10000000;
const { O_DIRECTORY, O_NOFOLLOW, O_RDONLY, O_NONBLOCK, O_NOCTTY } = constants;

const MAX_LINKS = 40;
/** /etc/passwd and /etc/group of a real system are kilobytes; a huge one is an attack or a mistake. */
export const MAX_ROOT_FILE = 4 << 20;
const CHUNK = 64 * 1024;

/** One directory of the merged tree: an O_PATH fd on it in each layer that has it, topmost first. */
type MergedDir = readonly number[];

type Entry =
  | { readonly kind: 'missing' }
  | { readonly kind: 'dir'; readonly dir: MergedDir }
  | { readonly kind: 'link'; readonly target: string }
  /** A file or anything else that is not a directory or a link: `fd` is O_PATH on it. */
  | { readonly kind: 'leaf'; readonly fd: number; readonly st: Stats };

/** Where a walk ended: the container path it resolved to, and what is there. */
interface Walked {
  readonly path: string;
  readonly entry: Exclude<Entry, { kind: 'link' }>;
}

/** Errors that mean "not there (for us)": the path does not resolve to something we may look at. */
const ABSENT = new Set(['ENOENT', 'ENOTDIR', 'EACCES', 'ENAMETOOLONG', 'ELOOP',
  // readlink of a name that is no longer a link: the root changed under the walk.
  'EINVAL']);

function isWhiteout(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

/**
 * A walk over layer directories. It owns every fd it opens: those of the directories on
 * its current path (for `..`) and of the entry it ends on stay open until close(); the
 * others are closed as soon as they are passed, so a deep or link-heavy path cannot run
 * nook out of descriptors.
 */
class LayeredWalk {
  private readonly fds = new Set<number>();
  private readonly root: MergedDir;

  constructor(layers: readonly string[]) {
    const root: number[] = [];
    for (const layer of layers) {
      const fd = this.open(layer, O_PATH | O_DIRECTORY);
      // A layer not there (--explain before its image's layers are extracted) adds nothing.
      if (fd !== null) root.push(fd);
    }
    this.root = root;
  }

  close(): void {
    this.release([...this.fds]);
  }

  private release(fds: readonly number[]): void {
    for (const fd of fds) {
      this.fds.delete(fd);
      closeSync(fd);
    }
  }

  /**
   * Resolves `path` as the container would: links followed inside the root, `..` stopping
   * at it; a missing component and everything below it are kept as named. null when a link
   * loop or a non-directory is in the way.
   */
  walk(path: string): Walked | null {
    const pending = path.split('/').filter(Boolean);
    const dirs: MergedDir[] = [this.root];
    const names: string[] = [];
    let links = 0;
    while (pending.length > 0) {
      const name = pending.shift()!;
      if (name === '.') continue;
      if (name === '..') {
        if (names.length > 0) {
          this.release(dirs.pop()!);
          names.pop();
        }
        continue;
      }
      const entry = this.child(dirs[dirs.length - 1]!, name);
      if (entry.kind === 'link') {
        if (++links > MAX_LINKS) return null;
        if (entry.target.startsWith('/')) {
          for (const dir of dirs.splice(1)) this.release(dir);
          names.length = 0;
        }
        pending.unshift(...entry.target.split('/').filter(Boolean));
        continue;
      }
      names.push(name);
      if (entry.kind === 'leaf') return pending.length === 0 ? { path: `/${names.join('/')}`, entry } : null;
      dirs.push(entry.kind === 'dir' ? entry.dir : []);
    }
    const dir = dirs[dirs.length - 1]!;
    return { path: `/${names.join('/')}`, entry: dir.length > 0 || names.length === 0 ? { kind: 'dir', dir } : { kind: 'missing' } };
  }

  /**
   * What the merged directory has at `name`: the topmost layer that has the name decides;
   * below a directory, the lower layers' directories of that name merge with it, until a
   * layer has a whiteout or a non-directory there, which hides everything below.
   */
  private child(dir: MergedDir, name: string): Entry {
    const merged: number[] = [];
    for (const parent of dir) {
      const fd = this.open(`/proc/self/fd/${parent}/${name}`, O_PATH | O_NOFOLLOW);
      if (fd === null) continue;
      const st = fstatSync(fd);
      if (st.isDirectory()) {
        merged.push(fd);
        continue;
      }
      if (merged.length > 0 || isWhiteout(st) || st.isSymbolicLink()) this.release([fd]);
      if (merged.length > 0 || isWhiteout(st)) break;
      // The name, not the fd: readlink of /proc/self/fd/N names the link, not its target.
      // Swapped since the lookup: EINVAL, or another target, resolved in the root like any.
      if (st.isSymbolicLink()) return { kind: 'link', target: readlinkSync(`/proc/self/fd/${parent}/${name}`) };
      return { kind: 'leaf', fd, st };
    }
    return merged.length > 0 ? { kind: 'dir', dir: merged } : { kind: 'missing' };
  }

  /** The fd, or null when there is no such name. */
  private open(path: string, flags: number): number | null {
    let fd: number;
    try {
      fd = openSync(path, flags);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    this.fds.add(fd);
    return fd;
  }
}

function withWalk<T>(layers: readonly string[], use: (walk: LayeredWalk) => T): T {
  const walk = new LayeredWalk(layers);
  try {
    return use(walk);
  } finally {
    walk.close();
  }
}

/** Reads at most MAX_ROOT_FILE bytes of the regular file an O_PATH fd holds. */
function readHeld(fd: number, path: string): string {
  // Through the fd's own link: the very inode fstat saw, whatever the name means by now.
  const file = openSync(`/proc/self/fd/${fd}`, O_RDONLY | O_NONBLOCK | O_NOCTTY);
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(CHUNK);
      const n = readSync(file, chunk, 0, CHUNK, null);
      if (n === 0) break;
      total += n;
      if (total > MAX_ROOT_FILE) throw tooLarge(path);
      chunks.push(chunk.subarray(0, n));
    }
    return Buffer.concat(chunks, total).toString('utf8');
  } finally {
    closeSync(file);
  }
}

function tooLarge(path: string): RootfsError {
  return new RootfsError(
    `refusing to read ${path} in the container's root filesystem: it is larger than ${MAX_ROOT_FILE >> 20} MiB`,
    `a file that large is not a user or group database; check what the image or the container put at ${path}`,
  );
}

/**
 * Reads a small file (/etc/passwd, /etc/group) of a layered root. null when the root has
 * no such file (or none nook may look at). Throws a RootfsError for anything but a regular
 * file, and for one larger than MAX_ROOT_FILE.
 */
export function readLayeredFile(layers: readonly string[], path: string): string | null {
  try {
    return withWalk(layers, (walk) => {
      const walked = walk.walk(path);
      if (walked === null || walked.entry.kind === 'missing') return null;
      if (walked.entry.kind === 'dir') throw notRegular(path, 'a directory');
      const { fd, st } = walked.entry;
      if (!st.isFile()) throw notRegular(path, kindOf(st));
      if (st.size > MAX_ROOT_FILE) throw tooLarge(path);
      return readHeld(fd, path);
    });
  } catch (err) {
    if (ABSENT.has((err as NodeJS.ErrnoException).code ?? '')) return null;
    throw err;
  }
}

function notRegular(path: string, kind: string): RootfsError {
  return new RootfsError(`refusing to read ${path} in the container's root filesystem: it is ${kind}, not a regular file`, `put a regular file at ${path}`);
}

/** The mode of the image's root directory: its topmost layer's (layers topmost first). */
export function topLayerRootMode(layers: readonly string[]): number {
  const top = layers[0];
  return top === undefined ? 0o755 : lstatSync(top).mode & 0o7777;
}

/** Whether `path` names something (a file, directory, device…) in the layered root. */
export function existsInLayers(layers: readonly string[], path: string): boolean {
  try {
    return withWalk(layers, (walk) => {
      const walked = walk.walk(path);
      return walked !== null && walked.entry.kind !== 'missing';
    });
  } catch (err) {
    if (ABSENT.has((err as NodeJS.ErrnoException).code ?? '')) return false;
    throw err;
  }
}

/**
 * A container path with the root's symlinks on the way resolved, as the container would
 * see it (links followed inside the root, `..` stopping at it); components that do not
 * exist are kept as they are. null when a link loop or a non-directory is in the way.
 */
export function resolveLayeredPath(layers: readonly string[], path: string): string | null {
  try {
    return withWalk(layers, (walk) => walk.walk(path)?.path ?? null);
  } catch (err) {
    if (ABSENT.has((err as NodeJS.ErrnoException).code ?? '')) return null;
    throw err;
  }
}

/**
 * What the image has at `path` (layers topmost first), its symlinks on the way followed
 * inside the image: 'dir', 'other' (a file, a device), or null when it is not there.
 */
export function layeredKind(layers: readonly string[], path: string): 'dir' | 'other' | null {
  try {
    return withWalk(layers, (walk) => {
      const entry = walk.walk(path)?.entry;
      if (entry === undefined || entry.kind === 'missing') return null;
      return entry.kind === 'dir' ? 'dir' : 'other';
    });
  } catch (err) {
    if (ABSENT.has((err as NodeJS.ErrnoException).code ?? '')) return null;
    throw err;
  }
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
