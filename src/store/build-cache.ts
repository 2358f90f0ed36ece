import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic.js';
import type { Digest } from './digest.js';
import type { LayerRecord } from './images.js';

/** A build step that made a layer: what a later build with the same key reuses. */
export interface CachedLayer {
  readonly kind: 'layer';
  readonly diffId: Digest;
  readonly layer: LayerRecord;
  readonly createdBy: string;
  readonly created: string;
}

/** A whole build (every step's key, the labels, the timestamp) that committed an image. */
export interface CachedImage {
  readonly kind: 'image';
  readonly id: string;
}

export type CacheEntry = CachedLayer | CachedImage;

const KEY = /^[a-f0-9]{64}$/;

/**
 * `build-cache/<key>`: one small JSON file per cached build step, keyed by the hash of
 * everything the step depends on (its parent's key, its instruction, the args in scope,
 * its sources' content). An entry only points at layers and images: one that has been
 * removed since makes the entry a miss, never a wrong hit.
 */
export class BuildCache {
  readonly dir: string;

  constructor(root: string) {
    this.dir = join(root, 'build-cache');
  }

  async get(key: string): Promise<CacheEntry | null> {
    if (!KEY.test(key)) return null;
    try {
      return JSON.parse(await readFile(join(this.dir, key), 'utf8')) as CacheEntry;
    } catch {
      return null;
    }
  }

  /** The layers cached steps made: kept while the cache points at them (system check, prune). */
  async layers(): Promise<Set<Digest>> {
    const keys = await readdir(this.dir).catch(() => [] as string[]);
    const layers = new Set<Digest>();
    for (const key of keys) {
      const entry = await this.get(key);
      if (entry?.kind === 'layer') layers.add(entry.diffId);
    }
    return layers;
  }

  async put(key: string, entry: CacheEntry): Promise<void> {
    if (!KEY.test(key)) return;
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(join(this.dir, key), JSON.stringify(entry), 0o600);
  }
}
