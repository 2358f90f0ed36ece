import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { DigestMismatchError } from '../errors.js';
import type { BlobStore } from '../store/blobs.js';
import type { Digest } from '../store/digest.js';
import type { LayerRecord } from '../store/images.js';
import { decompressor } from './decompress.js';

/**
 * A stored layer as its uncompressed tar (what docker-archives hold), hashed as it streams
 * and refused at the end unless it is the diff id the image config names: a corrupted
 * blob must not leave the store looking like the image.
 */
export async function* uncompressedLayer(blobs: BlobStore, layer: LayerRecord, diffId: Digest): AsyncGenerator<Uint8Array> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(blobs.path(layer.digest)).pipe(decompressor())) {
    hash.update(chunk as Buffer);
    yield chunk as Buffer;
  }
  const actual = `sha256:${hash.digest('hex')}`;
  if (actual !== diffId) {
    throw new DigestMismatchError(`layer ${layer.digest} in the store uncompresses to ${actual}, not the ${diffId} its image names`, 'the store is damaged: remove the image and pull or load it again');
  }
}

/** The uncompressed size of a stored layer (a tar header needs it first), verified on the way. */
export async function uncompressedSize(blobs: BlobStore, layer: LayerRecord, diffId: Digest): Promise<number> {
  if (layer.digest === diffId) return layer.size;
  let size = 0;
  for await (const chunk of uncompressedLayer(blobs, layer, diffId)) size += chunk.length;
  return size;
}
