import { closeSync, fstatSync, openSync, writeFileSync } from 'node:fs';
import { posix } from 'node:path';
import type { Sink } from './entry.js';
import type { CopyEnd, CopyRequest, CopyResult } from './request.js';
import { O_NOFOLLOW, O_PATH, SysError } from './syscalls.js';
import { BadArchive, readTar } from './tar-in.js';
import { TarSink } from './tar-out.js';
import { copyTarget, followsLast, isContentsOnly, TargetError } from './target.js';
import { RootedTree } from './tree.js';
import { walk } from './walk.js';
import { CopyConflict, TreeSink } from './write-tree.js';

/**
 * The copier: runs as root of the container's user namespace (started by nook-runtime, see
 * src/engine/cp-launch.ts), so it may read and write files of every container id, and what
 * it writes on the host belongs to the user. Every path inside a tree is resolved by
 * RootedTree: the container cannot point a copy out of itself.
 */

type Tree = Extract<CopyEnd, { kind: 'tree' }>;

/** Whether the source (not what a final symlink points to, unless written `LINK/`) is a directory. */
function sourceIsDirectory(tree: RootedTree, path: string): boolean {
  const fd = tree.open(path, O_PATH | (followsLast(path) ? 0 : O_NOFOLLOW));
  try {
    return fstatSync(fd).isDirectory();
  } finally {
    closeSync(fd);
  }
}

/** The sink for a tree destination, and the name the source gets there. */
function treeSink(source: Tree, destination: Tree, request: CopyRequest, sourceTree: RootedTree): { sink: Sink; name: string } {
  const tree = RootedTree.open(destination.root);
  const state = tree.kind(destination.path);
  const parent = posix.dirname(posix.normalize(destination.path));
  const target = copyTarget({ path: source.path, isDirectory: sourceIsDirectory(sourceTree, source.path) }, destination.path, state, tree.kind(parent) === 'directory');
  return { sink: new TreeSink(tree, target.dir, request.owner), name: target.name };
}

function streamName(path: string): string {
  return isContentsOnly(path) ? '.' : posix.basename(posix.normalize(path));
}

async function copy(request: CopyRequest): Promise<number> {
  const { source, destination } = request;
  if (source.kind === 'stream') {
    if (destination.kind !== 'tree') throw new TargetError('a tar stream can only be copied into a directory');
    const tree = RootedTree.open(destination.root);
    const state = tree.kind(destination.path);
    if (state === 'missing') throw new TargetError(`"${destination.path}": no such file or directory`, destination.path);
    if (state !== 'directory') throw new TargetError(`"${destination.path}": not a directory (a tar stream is extracted into a directory)`);
    return (await readTar(process.stdin, new TreeSink(tree, posix.normalize(destination.path), request.owner))).skipped;
  }
  if (source.kind !== 'tree') throw new TargetError('a copy reads from a directory tree or a tar stream');
  const tree = RootedTree.open(source.root);
  let sink: Sink;
  let name = streamName(source.path);
  let output: number | null = null;
  if (destination.kind === 'tree') ({ sink, name } = treeSink(source, destination, request, tree));
  else if (destination.kind === 'file') sink = new TarSink((output = openSync(destination.path, 'w', 0o644)));
  else sink = new TarSink(1);
  const { skipped } = walk(tree, source.path, name, sink, { followLast: followsLast(source.path), oneFileSystem: request.oneFileSystem });
  sink.finish();
  if (output !== null) closeSync(output);
  return skipped;
}

function failureOf(err: unknown): CopyResult['failure'] {
  if (err instanceof TargetError) return { message: err.message, kind: err.missing === null ? 'failed' : 'missing' };
  if (err instanceof BadArchive) return { message: err.message, kind: 'bad-archive' };
  if (err instanceof SysError) return { message: err.message, kind: err.code === 'ENOENT' ? 'missing' : 'failed' };
  if (err instanceof CopyConflict) return { message: err.message, kind: 'failed' };
  // Node's own fs errors: the host side (export -o, a host tree).
  const code = (err as NodeJS.ErrnoException).code;
  return { message: (err as Error).message ?? String(err), kind: code === 'ENOENT' ? 'missing' : 'failed' };
}

async function main(): Promise<void> {
  const request = JSON.parse(process.argv[2] ?? '') as CopyRequest;
  let result: CopyResult;
  try {
    result = { failure: null, skipped: await copy(request) };
  } catch (err) {
    result = { failure: failureOf(err), skipped: 0 };
  }
  writeFileSync(request.resultFile, JSON.stringify(result), { mode: 0o600 });
}

void main();
