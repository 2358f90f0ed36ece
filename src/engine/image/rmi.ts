import type { RmiOptions } from './options.js';
import { ImageError, NookError } from '../../errors.js';
import { findLocalImage } from '../../image/local.js';
import type { Digest } from '../../store/digest.js';
import { openStore } from '../../store/store.js';
import { containerIdMaps } from '../../sys/idmap.js';
import { imagesInUse } from '../container/root.js';
import type { ImageIO } from './options.js';

/**
 * `nook rmi`: a name untags it, and removes the image with its last name; an id removes
 * the image, which podman refuses for an image with several names unless forced. The
 * image's blobs that no other image uses go with it. Every argument is tried; the first
 * failure is the command's error, the others are printed.
 */
export async function removeImages(options: RmiOptions, io: ImageIO): Promise<number> {
  const store = await openStore();
  const errors: NookError[] = [];
  const lines: string[] = [];
  await store.images.update(async (index, held) => {
    const inUse = imagesInUse(store);
    const removed: string[] = [];
    for (const query of options.images) {
      try {
        const match = findLocalImage(index, query);
        const entry = index.images[match.id]!;
        if (match.by === 'name' && entry.names.length > 1) {
          entry.names = entry.names.filter((n) => n !== match.name);
          lines.push(`Untagged: ${match.name}`);
          continue;
        }
        if (match.by === 'id' && entry.names.length > 1 && !options.force) {
          throw new ImageError(
            `unable to delete image ${match.id.slice(0, 12)} by id: it has several names (${entry.names.join(', ')})`,
            'remove it by name one name at a time, or force it: nook rmi -f',
          );
        }
        const container = inUse.get(match.id);
        if (container !== undefined) {
          throw new ImageError(`image ${match.id.slice(0, 12)} is in use by container ${container.slice(0, 12)}`, `remove the container first (nook rm ${container.slice(0, 12)})`);
        }
        for (const name of entry.names) lines.push(`Untagged: ${name}`);
        lines.push(`Deleted: ${match.id}`);
        delete index.images[match.id];
        removed.push(match.id);
      } catch (err) {
        if (!(err instanceof NookError)) throw err;
        errors.push(err);
      }
    }
    if (removed.length === 0) return;
    const candidates = new Set<Digest>();
    const layerCandidates = new Set<Digest>();
    for (const id of removed) {
      const record = await store.images.readRecord(id);
      for (const d of [record.configDigest, record.manifestDigest, record.indexDigest, ...record.layers.map((l) => l.digest)]) if (d) candidates.add(d);
      for (const d of record.diffIds) layerCandidates.add(d);
    }
    const used = await store.images.inUse(index);
    held.assertHeld();
    await Promise.all(removed.map((id) => store.images.removeRecord(id)));
    await Promise.all([...candidates].filter((d) => !used.blobs.has(d)).map((d) => store.blobs.remove(d)));
    // Extracted layers hold files of container ids: removed as container root.
    await store.layers.remove(
      containerIdMaps(),
      [...layerCandidates].filter((d) => !used.layers.has(d)),
    );
  });
  for (const line of lines) io.out(line);
  const [first, ...rest] = errors;
  for (const err of rest) io.err(`Error: ${err.message}`);
  if (first) throw first;
  return 0;
}
