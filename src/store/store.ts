import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { sweepTemp } from './atomic.js';
import { BlobStore } from './blobs.js';
import { ImageStore } from './images.js';
import { LayerStore } from './layers.js';
import { storeRoot } from './paths.js';

export interface Store {
  readonly root: string;
  readonly blobs: BlobStore;
  readonly images: ImageStore;
  readonly layers: LayerStore;
}

/**
 * Opens (creating, mode 0700) the store and sweeps the temp files that killed commands
 * left: the store is valid without them, they only take space.
 */
export async function openStore(root = storeRoot()): Promise<Store> {
  await mkdir(root, { recursive: true, mode: 0o700 });
  const blobs = new BlobStore(root);
  const images = new ImageStore(root);
  await mkdir(blobs.dir, { recursive: true, mode: 0o700 });
  await mkdir(images.dir, { recursive: true, mode: 0o700 });
  const imageDirs = (await readdir(images.dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => join(images.dir, e.name));
  await Promise.all([root, blobs.dir, images.dir, ...imageDirs].map(sweepTemp));
  return { root, blobs, images, layers: new LayerStore(root) };
}
