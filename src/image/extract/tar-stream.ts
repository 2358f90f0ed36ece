import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { decompressor } from '../decompress.js';

/**
 * A layer's uncompressed tar, chunk by chunk. `digest()` is the sha256 of every byte the
 * iteration yielded (the layer's diff id); it is known once the iteration has ended.
 */
export interface TarStream extends AsyncIterable<Buffer> {
  digest(): string;
}

/** `digest()` of a TarStream whose iteration has not ended. */
export function unfinished(): never {
  throw new Error('the layer tar was not read to its end');
}

/**
 * The tar inside `source` (gzip, zstd or plain), decompressed and hashed in this thread:
 * for one-off callers (the fuzz target); the extractor itself reads on a worker (reader.ts).
 */
export function decompressHere(source: Readable): TarStream {
  const hash = createHash('sha256');
  let digest: string | null = null;
  const tar = decompressor();
  source.on('error', (err) => tar.destroy(err));
  source.pipe(tar);
  return {
    async *[Symbol.asyncIterator]() {
      for await (const chunk of tar as AsyncIterable<Buffer>) {
        hash.update(chunk);
        yield chunk;
      }
      digest = `sha256:${hash.digest('hex')}`;
    },
    digest: () => digest ?? unfinished(),
  };
}
