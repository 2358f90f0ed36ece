import { StoreError } from '../errors.js';
import type { Digest } from '../store/digest.js';
import type { ImageRecord } from '../store/images.js';
import type { Store } from '../store/store.js';
import type { ContainerIdMaps } from '../sys/idmap.js';
import { commitImage, imageLayers, type CommitResult } from './commit.js';

/**
 * The end every local way into the store (import, load) shares with pull: blobs are in
 * the store, verified; then the layers are extracted and the image is committed.
 */

/** Removes blobs in `candidates` that no image in the index uses (under the lock). */
export async function removeUnused(store: Store, candidates: readonly Digest[]): Promise<void> {
  if (candidates.length === 0) return;
  await store.images.update(async (index, held) => {
    const used = await store.images.blobsInUse(index);
    held.assertHeld();
    await Promise.all(candidates.filter((d) => !used.has(d)).map((d) => store.blobs.remove(d)));
  });
}

/**
 * Runs `fn`, which adds blobs to the store and records each one it added in the list it is
 * given. On failure those no image uses are removed again, so the store is as it was.
 */
export async function withBlobCleanup<T>(store: Store, fn: (added: Digest[]) => Promise<T>): Promise<T> {
  const added: Digest[] = [];
  try {
    return await fn(added);
  } catch (err) {
    await removeUnused(store, added).catch(() => undefined);
    throw err;
  }
}

/**
 * Extracts an image's layers and commits it with `names`. Its blobs came from a local
 * file that cannot be read twice, so a blob that a concurrent rmi took away fails the
 * command instead of being fetched again as pull does.
 */
export async function storeImage(store: Store, maps: ContainerIdMaps, record: ImageRecord, names: readonly string[], digests: readonly string[]): Promise<CommitResult> {
  await store.layers.ensure(maps, store.blobs, imageLayers(record));
  const result = await commitImage(store, record, names, digests);
  if (result === undefined) throw new StoreError(`blobs of image ${record.id.slice(0, 12)} were removed while it was stored`, 'another nook command removed images meanwhile: run this one again');
  return result;
}
