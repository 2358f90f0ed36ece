import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { StoreError } from '../errors.js';
import { writeFileAtomic } from './atomic.js';
import { isDigest, type Digest } from './digest.js';
import { withStoreLock, type StoreLock } from './lock.js';

/** One layer as the manifest lists it: compressed blob, kept in blobs/ until extraction lands. */
export interface LayerRecord {
  readonly digest: Digest;
  readonly size: number;
  readonly mediaType: string;
}

/**
 * What `images/<id>/image.json` holds: written once, never changed. The manifest and
 * config bytes are blobs (content-addressed, so shared); this record names them and keeps
 * what the listing and the next steps (extraction: layers with their diff_ids) need.
 */
export interface ImageRecord {
  /** The config digest's hex: podman's image id. */
  readonly id: string;
  readonly configDigest: Digest;
  readonly manifestDigest: Digest;
  readonly manifestMediaType: string;
  /** Manifest list / index the manifest was picked from, when there was one. */
  readonly indexDigest: Digest | undefined;
  readonly layers: readonly LayerRecord[];
  /** The config's rootfs.diff_ids: digests of the uncompressed layers, in order. */
  readonly diffIds: readonly Digest[];
  readonly os: string;
  readonly architecture: string;
  readonly variant: string | undefined;
  /** From the config; undefined when the image does not say. */
  readonly created: string | undefined;
  /** Bytes of the config and compressed layers. */
  readonly size: number;
}

/** The mutable part of an image: the names that point at it. */
export interface IndexEntry {
  /** `registry/repository:tag`. A tag names one image; pulling it again moves it. */
  names: string[];
  /** `registry/repository@sha256:…`: manifest (and manifest list) digests it was pulled by. */
  digests: string[];
}

/** `images/index.json`: which images exist, and their names. Changed only under the store lock. */
export interface ImageIndex {
  version: 1;
  images: Record<string, IndexEntry>;
}

const ID = /^[a-f0-9]{64}$/;

/** In an image's dir: its names and digests, as the index has them (see readNames). */
const NAMES = 'names.json';

const isString = (v: unknown): v is string => typeof v === 'string';

/** What is wrong with an index file's text, or null when it is a valid index. */
export function indexProblem(text: string): string | null {
  let index: unknown;
  try {
    index = JSON.parse(text);
  } catch (err) {
    return `not valid JSON (${(err as Error).message})`;
  }
  const candidate = index as Partial<ImageIndex> | null;
  if (candidate?.version !== 1) return 'not an image index of version 1 (it may come from a newer nook)';
  if (typeof candidate.images !== 'object' || candidate.images === null) return 'it lists no images';
  for (const [id, entry] of Object.entries(candidate.images)) {
    if (!ID.test(id) || !Array.isArray(entry?.names) || !Array.isArray(entry.digests)) return `its entry "${id}" is malformed`;
  }
  return null;
}

export function isImageId(id: string): boolean {
  return ID.test(id);
}

/** The image index and records under `<root>/images`. */
export class ImageStore {
  readonly root: string;
  readonly dir: string;

  constructor(root: string) {
    this.root = root;
    this.dir = join(root, 'images');
  }

  private get indexPath(): string {
    return join(this.dir, 'index.json');
  }

  get indexFile(): string {
    return this.indexPath;
  }

  async readIndex(): Promise<ImageIndex> {
    let text: string;
    try {
      text = await readFile(this.indexPath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, images: {} };
      throw err;
    }
    const problem = indexProblem(text);
    if (problem !== null) {
      throw new StoreError(`the image index ${this.indexPath} is damaged: ${problem}`, 'run "nook system check --repair": it rebuilds the index from the image records');
    }
    return JSON.parse(text) as ImageIndex;
  }

  /** The names of one image as the index had them at its last change: what a rebuilt index gets. */
  async readNames(id: string): Promise<IndexEntry | null> {
    try {
      const entry = JSON.parse(await readFile(join(this.dir, id, NAMES), 'utf8')) as IndexEntry;
      return Array.isArray(entry.names) && Array.isArray(entry.digests) ? { names: entry.names.filter(isString), digests: entry.digests.filter(isString) } : null;
    } catch {
      return null;
    }
  }

  /** Replaces the index with `index` (system check's rebuild); call only under the lock. */
  async writeIndex(index: ImageIndex, held: StoreLock): Promise<void> {
    held.assertHeld();
    await writeFileAtomic(this.indexPath, `${JSON.stringify(index, null, 2)}\n`, 0o600);
  }

  async readRecord(id: string): Promise<ImageRecord> {
    if (!ID.test(id)) throw new StoreError(`"${id}" is not an image id`);
    return JSON.parse(await readFile(join(this.dir, id, 'image.json'), 'utf8')) as ImageRecord;
  }

  /** Writes a record; call only under the lock, before the index names it. */
  async writeRecord(record: ImageRecord, held: StoreLock): Promise<void> {
    await mkdir(join(this.dir, record.id), { recursive: true, mode: 0o700 });
    held.assertHeld();
    await writeFileAtomic(join(this.dir, record.id, 'image.json'), `${JSON.stringify(record, null, 2)}\n`);
  }

  /**
   * Reads the index under the store lock, lets `fn` change it, and writes it back
   * atomically. Image dirs the index does not name (a command killed between writing a
   * record and the index) are removed first.
   */
  async update<T>(fn: (index: ImageIndex, held: StoreLock) => Promise<T>): Promise<T> {
    return withStoreLock(this.root, async (held) => {
      const index = await this.readIndex();
      await this.removeOrphans(index);
      const before = new Map(Object.entries(index.images).map(([id, entry]) => [id, JSON.stringify(entry)]));
      const result = await fn(index, held);
      held.assertHeld();
      // Each image keeps a copy of its names, from which a damaged index is rebuilt. The
      // index stays the authority: an image dir gone by hand does not stop this change.
      for (const [id, entry] of Object.entries(index.images)) {
        if (before.get(id) !== JSON.stringify(entry)) await writeFileAtomic(join(this.dir, id, NAMES), `${JSON.stringify(entry)}\n`, 0o600).catch(() => undefined);
      }
      await writeFileAtomic(this.indexPath, `${JSON.stringify(index, null, 2)}\n`, 0o600);
      return result;
    });
  }

  private async removeOrphans(index: ImageIndex): Promise<void> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    await Promise.all(names.filter((n) => ID.test(n) && !(n in index.images)).map((n) => this.removeRecord(n)));
  }

  async removeRecord(id: string): Promise<void> {
    if (!ID.test(id)) throw new StoreError(`"${id}" is not an image id`);
    await rm(join(this.dir, id), { recursive: true, force: true });
  }

  /** Every blob the images in `index` use: what must survive a removal. */
  async blobsInUse(index: ImageIndex): Promise<Set<Digest>> {
    return (await this.inUse(index)).blobs;
  }

  /** The blobs and the extracted layers (by diff id) the images in `index` use, in one pass. */
  async inUse(index: ImageIndex): Promise<{ blobs: Set<Digest>; layers: Set<Digest> }> {
    const blobs = new Set<Digest>();
    const layers = new Set<Digest>();
    for (const id of Object.keys(index.images)) {
      const record = await this.readRecord(id);
      for (const d of [record.configDigest, record.manifestDigest, record.indexDigest, ...record.layers.map((l) => l.digest)]) {
        if (isDigest(d)) blobs.add(d);
      }
      for (const d of record.diffIds) layers.add(d);
    }
    return { blobs, layers };
  }
}
