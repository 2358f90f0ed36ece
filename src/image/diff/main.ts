import { closeSync, createReadStream, fchownSync, lstatSync, lutimesSync, openSync, readdirSync, readlinkSync, rmdirSync, unlinkSync, type Stats } from 'node:fs';
import { posix, join } from 'node:path';
import type { Entry, FileBody, Sink } from '../../copy/entry.js';
import { mkdirat, O_DIRECTORY, O_NOFOLLOW, O_PATH, O_RDONLY, openat2, RESOLVE_BENEATH, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS, SysError } from '../../copy/syscalls.js';
import { readTar } from '../../copy/tar-in.js';
import { TarSink } from '../../copy/tar-out.js';
import { RootedTree } from '../../copy/tree.js';
import { sendFile, walk } from '../../copy/walk.js';
import { TreeSink } from '../../copy/write-tree.js';
import { componentRegex, hasWildcard } from '../../build/glob.js';
import { IgnoreMatcher } from '../../build/ignore.js';
import { decompressor } from '../decompress.js';
import { isOpaque } from '../extract/whiteouts.js';
import { DIFF_FAILED, type CopySource, type DiffRequest, type DiffResult, type Owner, type WriteOp } from './request.js';

/**
 * The build-step worker: root of a user namespace with the container id maps, in a mount
 * namespace of its own where the step's overlay (and any stage a COPY --from reads) is
 * mounted. COPY and ADD write through the same in-root copier as `nook cp` (every path
 * resolved inside the step's root); then the overlay's upper dir, which holds exactly what
 * the step changed, becomes an OCI layer tar: overlay whiteouts (0/0 character devices)
 * turn into `.wh.NAME` files and opaque directories get a `.wh..wh..opq` entry.
 */

class StepError extends Error {}

const CHILD = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;

/** Creates `path` and its missing parents inside the tree, owned by `owner`, mode 0755. */
function mkdirp(tree: RootedTree, path: string, owner: Owner): void {
  let current = '/';
  for (const part of posix.normalize(path).split('/').filter(Boolean)) {
    const next = posix.join(current, part);
    try {
      closeSync(tree.open(next, O_PATH | O_DIRECTORY));
    } catch (err) {
      const code = (err as SysError).code;
      if (code === 'ENOTDIR') throw new StepError(`"${next}" is not a directory`);
      if (code !== 'ENOENT') throw err;
      const { dirFd, name } = tree.parent(next);
      try {
        mkdirat(dirFd, name, 0o755);
        const fd = openat2(dirFd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, CHILD);
        fchownSync(fd, owner.uid, owner.gid);
        closeSync(fd);
      } finally {
        closeSync(dirFd);
      }
    }
    current = next;
  }
}

/**
 * Passes entries on with the COPY's --chmod, leaving out what .dockerignore excludes. A
 * directory left out is held back: an exception (`!dir/keep`) brings it in after all, as
 * the parent of what it keeps.
 */
class FilterSink implements Sink {
  private held: Entry[] = [];

  constructor(
    private readonly inner: Sink,
    private readonly matcher: IgnoreMatcher | null,
    private readonly contextPath: string,
    private readonly chmod: number | null,
  ) {}

  add(entry: Entry): FileBody | null {
    const mode = this.chmod ?? entry.mode;
    if (this.matcher === null) return this.inner.add({ ...entry, mode });
    this.held = this.held.filter((d) => d.path === '.' || entry.path.startsWith(`${d.path}/`));
    const rel = posix.join(this.contextPath, entry.path);
    if (this.matcher.excludes(rel)) {
      if (entry.type === 'directory') this.held.push(entry);
      return null;
    }
    for (const dir of this.held) this.inner.add({ ...dir, mode: this.chmod ?? dir.mode });
    this.held = [];
    return this.inner.add({ ...entry, mode });
  }

  finish(): void {
    this.inner.finish();
  }
}

/** What a wildcard source of a stage matches there (sorted), resolved inside the stage's tree. */
function expandInTree(tree: RootedTree, pattern: string): string[] {
  let matches = ['/'];
  for (const part of posix.normalize(pattern).split('/').filter(Boolean)) {
    const next: string[] = [];
    for (const base of matches) {
      if (!hasWildcard(part)) {
        next.push(posix.join(base, part));
        continue;
      }
      let fd: number;
      try {
        fd = tree.open(base, O_RDONLY | O_DIRECTORY);
      } catch {
        continue;
      }
      let names: string[];
      try {
        names = readdirSync(`/proc/self/fd/${fd}`).sort();
      } finally {
        closeSync(fd);
      }
      const regex = componentRegex(part);
      for (const name of names) if (regex.test(name)) next.push(posix.join(base, name));
    }
    matches = next;
  }
  return matches.filter((m) => tree.kind(m) !== 'missing');
}

/** The sources of a copy, a stage's wildcards expanded; several need a directory destination. */
function concreteSources(op: Extract<WriteOp, { kind: 'copy' }>): CopySource[] {
  const sources = op.sources.flatMap((source) => {
    if (source.contextPath !== null || !hasWildcard(source.path)) return [source];
    const tree = RootedTree.open(source.root);
    try {
      const found = expandInTree(tree, source.path);
      if (found.length === 0) throw new StepError(`"${source.path}": no file matches`);
      return found.map((path) => ({ ...source, path }));
    } finally {
      tree.close();
    }
  });
  if (sources.length > 1 && !op.destinationIsDirectory) {
    throw new StepError(`several sources match, so the destination "${op.destination}" must be a directory ending in "/"`);
  }
  return sources;
}

/** Counts what a walk left out, so the step can say so. */
let skippedTotal = 0;

async function copy(tree: RootedTree, op: Extract<WriteOp, { kind: 'copy' }>): Promise<void> {
  const root: Owner = { uid: 0, gid: 0 };
  const matcher = op.ignore.length > 0 ? new IgnoreMatcher(op.ignore) : null;
  const owner = op.owner === null ? ({ kind: 'keep' } as const) : ({ kind: 'fixed', ...op.owner } as const);
  for (const source of concreteSources(op)) {
    const from = RootedTree.open(source.root);
    try {
      const kind = from.kind(source.path);
      if (kind === 'missing') throw new StepError(`"${source.contextPath ?? source.path}": no such file or directory`);
      if (source.unpack) {
        mkdirp(tree, op.destination, op.owner ?? root);
        const fd = from.open(source.path, O_RDONLY);
        const input = createReadStream('', { fd }).pipe(decompressor());
        const archiveOwner = op.archiveOwners ? ({ kind: 'keep' } as const) : owner;
        skippedTotal += (await readTar(input, new TreeSink(tree, op.destination, archiveOwner))).skipped;
        continue;
      }
      let dir: string;
      let name: string;
      if (kind === 'directory') {
        dir = op.destination;
        name = '.';
      } else if (op.destinationIsDirectory || tree.kind(op.destination) === 'directory') {
        dir = op.destination;
        name = posix.basename(source.path);
      } else {
        dir = posix.dirname(posix.normalize(op.destination));
        name = posix.basename(posix.normalize(op.destination));
      }
      mkdirp(tree, dir, op.owner ?? root);
      const sink = new FilterSink(new TreeSink(tree, dir, owner), source.contextPath === null ? null : matcher, source.contextPath ?? '.', op.chmod);
      const fileName = kind === 'directory' ? '.' : name;
      skippedTotal += walk(from, source.path, fileName, sink, { followLast: true, oneFileSystem: false }).skipped;
      sink.finish();
    } finally {
      from.close();
    }
  }
}

/**
 * `rel` under `upper` when every directory on the way is a real one: the step may have
 * replaced a parent with a symlink (to a host path, even), which must not be followed.
 */
function insideUpper(upper: string, rel: string): string | null {
  let path = upper;
  const parts = rel.split('/').filter(Boolean);
  for (const [i, part] of parts.entries()) {
    path = join(path, part);
    if (i === parts.length - 1) return path;
    try {
      if (!lstatSync(path).isDirectory()) return null;
    } catch {
      return null;
    }
  }
  return null;
}

/** Removes the runtime's mount points the step left behind, when nothing was put in them. */
function dropMountPoints(upper: string, paths: readonly string[]): void {
  for (const rel of paths) {
    const path = insideUpper(upper, rel);
    if (path === null) continue;
    let st: Stats;
    try {
      st = lstatSync(path);
    } catch {
      continue;
    }
    // An opaque directory hides the image's: removing it, even empty, would bring that back.
    if (st.isDirectory() && isOpaque(path)) continue;
    try {
      if (st.isDirectory()) rmdirSync(path);
      else if (st.isFile() && st.size === 0) unlinkSync(path);
    } catch {
      // Not empty: the step put something there, it stays.
    }
  }
}

function isWhiteout(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

/** Writes the upper dir as a layer tar, sorted by name, hard links kept. */
function diff(request: DiffRequest): number {
  const fd = openSync(request.output, 'wx', 0o600);
  const sink = new TarSink(fd);
  const links = new Map<string, string>();
  const time = request.timestamp === null ? null : new Date(request.timestamp * 1000);
  let entries = 0;
  const visit = (dir: string, rel: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const entryPath = rel === '' ? name : `${rel}/${name}`;
      const st = lstatSync(path);
      const common = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: time ?? st.mtime, size: 0, linkTarget: '' };
      entries++;
      if (isWhiteout(st)) {
        sink.add({ ...common, path: posix.join(rel, `.wh.${name}`), type: 'file', mode: 0o600 })?.close();
      } else if (st.isDirectory()) {
        sink.add({ ...common, path: entryPath, type: 'directory' });
        if (isOpaque(path)) sink.add({ ...common, path: `${entryPath}/.wh..wh..opq`, type: 'file', mode: 0o600 })?.close();
        visit(path, entryPath);
      } else if (st.isSymbolicLink()) {
        sink.add({ ...common, path: entryPath, type: 'symlink', linkTarget: readlinkSync(path) });
      } else if (st.isFile()) {
        const key = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? links.get(key) : undefined;
        if (first !== undefined) {
          sink.add({ ...common, path: entryPath, type: 'hardlink', linkTarget: first });
          if (time !== null) lutimesSync(path, time, time);
          continue;
        }
        if (st.nlink > 1) links.set(key, entryPath);
        const body = sink.add({ ...common, path: entryPath, type: 'file', size: st.size });
        if (body) sendFile(openSync(path, O_RDONLY | O_NOFOLLOW), st.size, body);
      } else {
        // A fifo or socket the step made: a user namespace cannot make devices, nor can the next one.
        entries--;
        skippedTotal++;
      }
      // The upper dir becomes the extracted layer: its times must be the tar's.
      if (time !== null) lutimesSync(path, time, time);
    }
  };
  visit(request.upper, '');
  sink.finish();
  closeSync(fd);
  return entries;
}

async function main(): Promise<void> {
  const request = JSON.parse(process.argv[2] ?? '') as DiffRequest;
  process.umask(0o022);
  try {
    if (request.views.length > 0) {
      const { mountLayers } = await import('./mount.js');
      for (const view of request.views) mountLayers(view.lowerDirs, view.target);
    }
    if (request.writes.length > 0) {
      if (request.root === null) throw new StepError('writes need the step root mounted');
      const tree = RootedTree.open(request.root);
      for (const op of request.writes) {
        if (op.kind === 'mkdir') mkdirp(tree, op.path, op.owner);
        else await copy(tree, op);
      }
    }
    dropMountPoints(request.upper, request.drop);
    const entries = diff(request);
    const result: DiffResult = { entries, skipped: skippedTotal };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } catch (err) {
    const message = err instanceof StepError || err instanceof SysError ? err.message : `${(err as Error).message ?? err}`;
    process.stderr.write(`${JSON.stringify({ message })}\n`);
    process.exit(DIFF_FAILED);
  }
}

void main();
