import { rm } from 'node:fs/promises';
import { BuildCache } from '../../store/build-cache.js';
import type { Store } from '../../store/store.js';
import type { ContainerIdMaps } from '../../sys/idmap.js';

/**
 * Drops the build cache (part of `system prune`): its entries, and the layers (extracted
 * and blob) they point at that no image uses. Cache mounts (`RUN --mount=type=cache`) stay:
 * keeping them between builds is what they are for. Returns how many layers went.
 */
export async function pruneBuildCache(store: Store, maps: ContainerIdMaps): Promise<number> {
  const cache = new BuildCache(store.root);
  const layers = await cache.layers();
  return store.images.update(async (index, held) => {
    const used = await store.images.inUse(index);
    const unused = [...layers].filter((d) => !used.layers.has(d));
    held.assertHeld();
    await Promise.all(unused.filter((d) => !used.blobs.has(d)).map((d) => store.blobs.remove(d)));
    await store.layers.remove(maps, unused);
    await rm(cache.dir, { recursive: true, force: true });
    return unused.length;
  });
}
