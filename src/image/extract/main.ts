import { createHash } from 'node:crypto';
import { chmodSync, createReadStream, type Stats } from 'node:fs';
import { posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Parser, type ReadEntry } from 'tar';
import { decompressor } from '../decompress.js';
import { EXTRACT_FAILED, STDIN, type ExtractedLayer, type ExtractRequest, type LayerToExtract } from './request.js';
import { LayerWriter, PARENT_MODE, UnsupportedEntry } from './unpack.js';
import { UnsafeLayerPath } from './layer-path.js';

/**
 * The layer extractor: runs as root of a user namespace with the container id maps (started
 * by nook-runtime), so every file gets its image owner as a mapped id. Untrusted input:
 * an entry that would land outside the layer directory fails the whole layer.
 */

class LayerError extends Error {}

/** An entry owned by an id the container's map does not reach. */
class OwnerBeyondMap extends LayerError {
  constructor(
    message: string,
    readonly owner: number,
  ) {
    super(message);
  }
}

function checkRelative(kind: string, path: string): void {
  if (path.startsWith('/')) throw new LayerError(`${kind} "${path}" is an absolute path`);
  if (path.split('/').includes('..')) throw new LayerError(`${kind} "${path}" contains ".."`);
}

/**
 * The symlinks this layer has created so far. The target directory starts empty, so they
 * are the only links an entry could be written through, and knowing them from the archive
 * itself is exact even while earlier entries are still being written.
 */
class SymlinkGuard {
  private readonly links = new Set<string>();

  /** Refuses a path that goes through, or replaces, a symlink of this layer. */
  check(kind: string, path: string): void {
    const parts = normalise(path).split('/');
    for (let i = 1; i <= parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      if (this.links.has(prefix)) throw new LayerError(`${kind} "${path}" would be written through the symlink "${prefix}"`);
    }
  }

  add(path: string): void {
    this.links.add(normalise(path));
  }
}

function normalise(path: string): string {
  return path.split('/').filter((p) => p !== '' && p !== '.').join('/');
}

async function extractLayer(layer: LayerToExtract, request: ExtractRequest): Promise<ExtractedLayer> {
  const whiteouts: string[] = [];
  const opaque: string[] = [];
  let entries = 0;
  let skippedDevices = 0;
  let failure: Error | null = null;

  const symlinks = new SymlinkGuard();
  const accept = (path: string, stats: Stats | ReadEntry): boolean => {
    // Parsing always hands over archive entries; Stats is for tar.create.
    const entry = stats as ReadEntry;
    if (failure) return false;
    try {
      checkRelative('entry', path);
      symlinks.check('entry', path);
      if (entry.type === 'Link') {
        checkRelative(`hard link target of "${path}"`, entry.linkpath ?? '');
        symlinks.check(`hard link target of "${path}"`, entry.linkpath ?? '');
      }
      if (entry.type === 'SymbolicLink') symlinks.add(path);
      if (request.preserveOwners && ((entry.uid ?? 0) > request.maxId || (entry.gid ?? 0) > request.maxId)) {
        throw new OwnerBeyondMap(`"${path}" belongs to ${entry.uid}:${entry.gid}, beyond the ${request.maxId + 1} ids a container maps`, Math.max(entry.uid ?? 0, entry.gid ?? 0));
      }
    } catch (err) {
      failure = err as Error;
      return false;
    }
    entries++;
    const name = posix.basename(path);
    const dir = posix.dirname(path);
    if (name === '.wh..wh..opq') opaque.push(dir);
    else if (name.startsWith('.wh..wh.')) return false;
    else if (name.startsWith('.wh.')) whiteouts.push(posix.join(dir, name.slice(4)));
    else if (entry.type === 'CharacterDevice' || entry.type === 'BlockDevice' || entry.type === 'FIFO') skippedDevices++;
    else return true;
    return false;
  };

  const hash = createHash('sha256');
  // The image's root directory unless the layer names "./": made by nook, under its umask.
  chmodSync(layer.target, PARENT_MODE);
  const writer = new LayerWriter(layer.target, request.preserveOwners);
  // node-tar parses (ustar, pax, GNU long names; strict: a bad checksum or a cut-off
  // archive is an error); nook writes what the checks above accept (unpack.ts).
  const parser = new Parser({ strict: true, filter: accept });
  parser.on('entry', (entry: ReadEntry) => writer.write(entry));
  parser.on('error', (err: Error) => {
    failure ??= new LayerError(err.message);
  });
  /** Parses (and writes) `chunk`, or the end; a refused entry or a failed write stops the layer. */
  const feed = (chunk?: Buffer): void => {
    try {
      if (chunk === undefined) parser.end();
      else parser.write(chunk);
    } catch (err) {
      failure ??= err as Error;
    }
    if (failure) throw failure;
  };
  try {
    await pipeline(
      layer.blob === STDIN ? process.stdin : createReadStream(layer.blob),
      decompressor(),
      // Reads the gunzip's output instead of being written to from inside its callback, so
      // the thread pool inflates the next chunk while this thread hashes and unpacks this
      // one (piped, the two ran in turn: 2.4 s against 1.5 s for the bench's layer).
      // Synchronous file writes: this process has nothing else to do, and node-tar's async
      // Unpack sent every syscall through the thread pool, one round trip at a time.
      async (tar: AsyncIterable<Buffer>) => {
        for await (const chunk of tar) {
          hash.update(chunk);
          feed(chunk);
        }
        feed();
      },
    );
  } catch (err) {
    // Stopping the pipeline for a refused entry makes it report the abort instead.
    throw failure ?? err;
  }
  if (failure) throw failure;
  if (opaque.length > 0 || whiteouts.length > 0) {
    const { makeOpaque, makeWhiteout } = await import('./whiteouts.js');
    for (const dir of opaque) makeOpaque(layer.target, dir);
    for (const path of whiteouts) makeWhiteout(layer.target, path);
  }
  writer.finish();
  return { target: layer.target, diffId: `sha256:${hash.digest('hex')}`, entries, skippedDevices };
}

async function main(): Promise<void> {
  const request = JSON.parse(process.argv[2] ?? '') as ExtractRequest;
  // Every mode bit comes from the archive: the caller's umask would take group and other
  // write off /tmp (1777) or a setgid 2775 directory.
  process.umask(0);
  for (const layer of request.layers) {
    try {
      process.stdout.write(`${JSON.stringify(await extractLayer(layer, request))}\n`);
    } catch (err) {
      const known = err instanceof LayerError || err instanceof UnsafeLayerPath || err instanceof UnsupportedEntry;
      const message = known ? (err as Error).message : `${(err as Error).message ?? err}`;
      const owner = err instanceof OwnerBeyondMap ? { owner: err.owner } : {};
      process.stderr.write(`${JSON.stringify({ blob: layer.blob, message, ...owner })}\n`);
      process.exit(EXTRACT_FAILED);
    }
  }
}

void main();
