import type { ImageRecord } from '../store/images.js';
import type { LayerSource } from '../store/layers.js';
import type { Store } from '../store/store.js';

export interface CommitResult {
  readonly record: ImageRecord;
  readonly names: readonly string[];
}

/** The layers of an image as the layer store wants them: blob and diff id, bottom first. */
export function imageLayers(record: ImageRecord): LayerSource[] {
  return record.layers.map((layer, i) => ({ blob: layer.digest, diffId: record.diffIds[i]! }));
}

/**
 * Makes an image whose blobs (and extracted layers) are in the store visible: writes its
 * record and gives it `names`, under the store lock. A tag names one image, so the names
 * move here from any image that had them. Returns undefined when a blob or an extracted
 * layer went missing in the meantime (a concurrent rmi): the caller fetches it again.
 */
export async function commitImage(store: Store, record: ImageRecord, names: readonly string[], digests: readonly string[]): Promise<CommitResult | undefined> {
  const needed = [record.configDigest, record.manifestDigest, ...(record.indexDigest ? [record.indexDigest] : []), ...record.layers.map((l) => l.digest)];
  return store.images.update(async (index, held) => {
    for (const d of needed) if (!(await store.blobs.has(d))) return undefined;
    for (const d of record.diffIds) if (!(await store.layers.has(d))) return undefined;
    await store.images.writeRecord(record, held);
    for (const entry of Object.values(index.images)) entry.names = entry.names.filter((n) => !names.includes(n));
    const entry = (index.images[record.id] ??= { names: [], digests: [] });
    entry.names = [...new Set([...entry.names, ...names])];
    entry.digests = [...new Set([...entry.digests, ...digests])];
    return { record, names: entry.names };
  });
}
