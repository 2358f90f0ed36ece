import { chmodSync, type Stats } from 'node:fs';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { Parser, type ReadEntry } from 'tar';
import type { ExtractedLayer } from './request.js';
import { decompressHere, type TarStream } from './tar-stream.js';
import { LayerWriter, PARENT_MODE, UnsupportedEntry } from './unpack.js';
import { UnsafeLayerPath } from './layer-path.js';

/**
 * One layer's extraction: node-tar parses, the checks here accept or refuse each entry,
 * unpack.ts writes. The archive is untrusted: an entry that would land outside the layer
 * directory fails the whole layer. test/fuzz/layer-entries.ts fuzzes this module.
 */

/** The archive is malformed or unsafe. */
export class LayerError extends Error {}

/** An entry owned by an id the container's map does not reach. */
export class OwnerBeyondMap extends LayerError {
  constructor(
    message: string,
    readonly owner: number,
  ) {
    super(message);
  }
}

/** A pax record can hold a NUL byte; no file name or link target can. */
function checkNoNul(kind: string, text: string): void {
  const nul = text.indexOf('\0');
  if (nul >= 0) throw new LayerError(`${kind} contains a NUL byte (after ${JSON.stringify(text.slice(0, nul))})`);
}

function checkRelative(kind: string, path: string): void {
  checkNoNul(kind, path);
  if (path.startsWith('/')) throw new LayerError(`${kind} "${path}" is an absolute path`);
  if (DOT_DOT.test(path)) throw new LayerError(`${kind} "${path}" contains ".."`);
}

/** A ".." component. */
const DOT_DOT = /(?:^|\/)\.\.(?:\/|$)/;

/**
 * The symlinks this layer has created so far. The target directory starts empty, so they
 * are the only links an entry could be written through, and knowing them from the archive
 * itself is exact even while earlier entries are still being written.
 */
class SymlinkGuard {
  private readonly links = new Set<string>();

  /** Refuses a path that goes through, or replaces, a symlink of this layer. */
  check(kind: string, path: string): void {
    if (this.links.size === 0) return;
    const normal = normalise(path);
    // Every prefix that ends at a component's end, the whole path last.
    for (let end = normal.indexOf('/'); ; end = normal.indexOf('/', end + 1)) {
      const prefix = end < 0 ? normal : normal.slice(0, end);
      if (this.links.has(prefix)) throw new LayerError(`${kind} "${path}" would be written through the symlink "${prefix}"`);
      if (end < 0) return;
    }
  }

  add(path: string): void {
    this.links.add(normalise(path));
  }
}

function normalise(path: string): string {
  // Most names are normal already ("usr/bin/ls"): only the others are taken apart.
  if (!NOT_NORMAL.test(path)) return path;
  return path.split('/').filter((p) => p !== '' && p !== '.').join('/');
}

/** An empty or "." component: a leading "./", a trailing or doubled "/", or "" itself. */
const NOT_NORMAL = /(?:^|\/)\.?(?:\/|$)/;

/** What a layer's extraction keeps of the archive's owners. */
export interface OwnerPolicy {
  /** Keep the archive's owners (a full id map); false: everything belongs to container root. */
  readonly preserveOwners: boolean;
  /** Highest container uid/gid that maps to a host id. */
  readonly maxId: number;
}

/**
 * Extracts one layer, the (possibly compressed) tar stream `source`, into the empty
 * directory `target`, decompressing in this thread. Throws, having stopped at the first
 * refused entry, when the layer is malformed or unsafe; what it wrote so far is the
 * caller's to remove.
 */
export async function extractLayer(source: Readable, target: string, request: OwnerPolicy): Promise<ExtractedLayer> {
  return extractTar(decompressHere(source), target, request);
}

/** extractLayer for a tar that is decompressed and hashed elsewhere (the reader thread). */
export async function extractTar(tar: TarStream, target: string, request: OwnerPolicy): Promise<ExtractedLayer> {
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
      if (entry.type === 'SymbolicLink') {
        checkNoNul(`symlink target of "${path}"`, entry.linkpath ?? '');
        symlinks.add(path);
      }
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

  // The image's root directory unless the layer names "./": made by nook, under its umask.
  chmodSync(target, PARENT_MODE);
  const writer = new LayerWriter(target, request.preserveOwners);
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
    // Synchronous file writes: this thread has nothing else to do, and node-tar's async
    // Unpack sent every syscall through the thread pool, one round trip at a time.
    for await (const chunk of tar) feed(chunk);
    feed();
  } catch (err) {
    // Stopping the read for a refused entry may make it report the abort instead.
    throw failure ?? err;
  }
  if (failure) throw failure;
  if (opaque.length > 0 || whiteouts.length > 0) {
    const { makeOpaque, makeWhiteout } = await import('./whiteouts.js');
    for (const dir of opaque) makeOpaque(target, dir);
    for (const path of whiteouts) makeWhiteout(target, path);
  }
  writer.finish();
  return { target, diffId: tar.digest(), entries, skippedDevices };
}

/** Whether `err` is extractLayer's verdict on the layer, not a failure of the extractor itself. */
export function isLayerRefusal(err: unknown): boolean {
  return err instanceof LayerError || err instanceof UnsafeLayerPath || err instanceof UnsupportedEntry;
}
