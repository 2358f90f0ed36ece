import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isStaleTemp, isTempName } from './atomic.js';
import type { ImageIndex, ImageRecord } from './images.js';
import { indexProblem, isImageId } from './images.js';
import { isDigest, type Digest } from './digest.js';
import type { Store } from './store.js';

/**
 * Consistency checks of the image store (nook system check): what a killed command or a
 * hand edit can leave. Each finding says what is wrong; the caller decides and repairs.
 */

/** The index file, unreadable or malformed: rebuilt from the image records. */
export async function checkIndexFile(store: Store): Promise<string | null> {
  let text: string;
  try {
    text = await readFile(store.images.indexFile, 'utf8');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? null : `cannot be read (${(err as Error).message})`;
  }
  return indexProblem(text);
}

/** The image ids that have a record directory. */
export async function imageRecordIds(store: Store): Promise<string[]> {
  const names = await readdir(store.images.dir).catch(() => [] as string[]);
  return names.filter(isImageId);
}

/** A fresh index from the records on disk, with the names each kept (images/<id>/names.json). */
export async function indexFromRecords(store: Store): Promise<{ index: ImageIndex; unnamed: string[] }> {
  const index: ImageIndex = { version: 1, images: {} };
  const unnamed: string[] = [];
  for (const id of await imageRecordIds(store)) {
    if ((await readRecord(store, id)) === null) continue;
    const names = await store.images.readNames(id);
    if (names === null) unnamed.push(id);
    index.images[id] = names ?? { names: [], digests: [] };
  }
  // A tag names one image: where two records claim one (the index had moved it), neither keeps it.
  const seen = new Map<string, string>();
  for (const [id, entry] of Object.entries(index.images)) {
    for (const name of entry.names) {
      const other = seen.get(name);
      if (other !== undefined) {
        index.images[other]!.names = index.images[other]!.names.filter((n) => n !== name);
        entry.names = entry.names.filter((n) => n !== name);
      } else seen.set(name, id);
    }
  }
  return { index, unnamed };
}

async function readRecord(store: Store, id: string): Promise<ImageRecord | null> {
  try {
    const record = await store.images.readRecord(id);
    const valid = record.id === id && isDigest(record.configDigest) && isDigest(record.manifestDigest) && Array.isArray(record.layers) && Array.isArray(record.diffIds);
    return valid && record.layers.length === record.diffIds.length ? record : null;
  } catch {
    return null;
  }
}

/** What is wrong with one image of the index. */
export interface ImageDamage {
  readonly id: string;
  readonly problems: readonly string[];
  /** Only extracted layers are missing, and their blobs are there: extracting again repairs it. */
  readonly reextract: boolean;
  readonly record: ImageRecord | null;
}

export async function checkImage(store: Store, id: string): Promise<ImageDamage | null> {
  const record = await readRecord(store, id);
  if (record === null) return { id, problems: [`its record ${join(store.images.dir, id, 'image.json')} is missing or unreadable`], reextract: false, record };
  const problems: string[] = [];
  const blobs = [record.configDigest, record.manifestDigest, ...(record.indexDigest ? [record.indexDigest] : []), ...record.layers.map((l) => l.digest)];
  let blobMissing = false;
  for (const digest of blobs) {
    if (!(await store.blobs.has(digest))) {
      blobMissing = true;
      problems.push(`blob ${digest} is missing`);
    }
  }
  for (const diffId of record.diffIds) if (!(await store.layers.has(diffId))) problems.push(`extracted layer ${diffId} is missing`);
  return problems.length === 0 ? null : { id, problems, reextract: !blobMissing, record };
}

/** A directory under layers/ that is not a complete layer some image or container uses. */
export interface LayerDamage {
  readonly name: string;
  readonly path: string;
  readonly problem: string;
}

/**
 * Layers half-written by killed commands (temp names of gone processes, or a layer dir
 * without its layer.json), and complete layers nothing references that are older than
 * `maxAgeMs` (a younger one may belong to a pull that has yet to commit its image).
 */
export async function checkLayers(store: Store, referenced: ReadonlySet<Digest>, maxAgeMs: number): Promise<LayerDamage[]> {
  const names = await readdir(store.layers.dir).catch(() => [] as string[]);
  const found: LayerDamage[] = [];
  for (const name of names) {
    const path = join(store.layers.dir, name);
    if (isTempName(name)) {
      if (isStaleTemp(name)) found.push({ name, path, problem: 'half-extracted: the command extracting it was killed' });
      continue;
    }
    const diffId = `sha256:${name}` as Digest;
    if (!isDigest(diffId)) {
      found.push({ name, path, problem: 'not a layer nook made' });
      continue;
    }
    if (!(await store.layers.has(diffId))) {
      found.push({ name, path, problem: 'incomplete: it has no valid layer.json' });
      continue;
    }
    if (referenced.has(diffId)) continue;
    const age = Date.now() - (await stat(join(path, 'layer.json'))).mtimeMs;
    if (age > maxAgeMs) found.push({ name, path, problem: 'no image or container uses it' });
  }
  return found;
}
