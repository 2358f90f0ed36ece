import { createHash } from 'node:crypto';
import { createReadStream, type Stats } from 'node:fs';
import { posix } from 'node:path';
import { PassThrough, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { Decompress } from 'fzstd';
import { x as extractTar, type ReadEntry } from 'tar';
import { EXTRACT_FAILED, type ExtractedLayer, type ExtractRequest, type LayerToExtract } from './request.js';
import { makeOpaque, makeWhiteout, UnsafeLayerPath } from './whiteouts.js';

/**
 * The layer extractor: runs as root of a user namespace with the container id maps (started
 * by nook-runtime), so every file gets its image owner as a mapped id. Untrusted input:
 * an entry that would land outside the layer directory fails the whole layer.
 */

class LayerError extends Error {}

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

/** Picks the decompressor from the first bytes: registries' media types are not always right. */
function decompressor(): Transform {
  let inner: Transform | null = null;
  return new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      if (inner === null) {
        inner = chunk.subarray(0, 2).equals(GZIP_MAGIC) ? createGunzip() : chunk.subarray(0, 4).equals(ZSTD_MAGIC) ? zstdStream() : new PassThrough();
        inner.on('data', (data: Buffer) => this.push(data));
        inner.on('error', (err) => this.destroy(err));
      }
      inner.write(chunk, done);
    },
    flush(done: TransformCallback) {
      if (inner === null) return done();
      inner.once('end', () => done());
      inner.end();
      inner.resume();
    },
  });
}

/** Node 20's zlib has no zstd. */
function zstdStream(): Transform {
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      try {
        decoder.push(chunk);
        done();
      } catch (err) {
        done(err as Error);
      }
    },
    flush(done: TransformCallback) {
      try {
        decoder.push(new Uint8Array(0), true);
        done();
      } catch (err) {
        done(err as Error);
      }
    },
  });
  const decoder = new Decompress((data) => {
    stream.push(Buffer.from(data));
  });
  return stream;
}

function hashing(hash: ReturnType<typeof createHash>): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
}

function checkRelative(kind: string, path: string): void {
  if (path.startsWith('/')) throw new LayerError(`${kind} "${path}" is an absolute path`);
  if (path.split('/').includes('..')) throw new LayerError(`${kind} "${path}" contains ".."`);
}

async function extractLayer(layer: LayerToExtract, request: ExtractRequest): Promise<ExtractedLayer> {
  const whiteouts: string[] = [];
  const opaque: string[] = [];
  let entries = 0;
  let skippedDevices = 0;
  let failure: Error | null = null;

  const accept = (path: string, stats: Stats | ReadEntry): boolean => {
    // Extraction always hands over archive entries; Stats is for tar.create.
    const entry = stats as ReadEntry;
    if (failure) return false;
    try {
      checkRelative('entry', path);
      if (entry.type === 'Link' && entry.linkpath !== undefined) checkRelative(`hard link target of "${path}"`, entry.linkpath);
      if (request.preserveOwners && ((entry.uid ?? 0) > request.maxId || (entry.gid ?? 0) > request.maxId)) {
        throw new LayerError(`"${path}" belongs to ${entry.uid}:${entry.gid}, beyond the ${request.maxId + 1} ids a container maps`);
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
  await pipeline(
    createReadStream(layer.blob),
    decompressor(),
    hashing(hash),
    extractTar({
      cwd: layer.target,
      strict: true,
      preserveOwner: request.preserveOwners,
      chmod: true,
      processUmask: 0,
      filter: accept,
      onwarn: (_code: string, message: string) => {
        failure ??= new LayerError(message);
      },
    }),
  );
  if (failure) throw failure;
  for (const dir of opaque) makeOpaque(layer.target, dir);
  for (const path of whiteouts) makeWhiteout(layer.target, path);
  return { target: layer.target, diffId: `sha256:${hash.digest('hex')}`, entries, skippedDevices };
}

async function main(): Promise<void> {
  const request = JSON.parse(process.argv[2] ?? '') as ExtractRequest;
  for (const layer of request.layers) {
    try {
      process.stdout.write(`${JSON.stringify(await extractLayer(layer, request))}\n`);
    } catch (err) {
      const known = err instanceof LayerError || err instanceof UnsafeLayerPath;
      const message = known ? (err as Error).message : `${(err as Error).message ?? err}`;
      process.stderr.write(`${JSON.stringify({ blob: layer.blob, message })}\n`);
      process.exit(EXTRACT_FAILED);
    }
  }
}

void main();
