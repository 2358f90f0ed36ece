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

  async readIndex(): Promise<ImageIndex> {
    let text: string;
    try {
      text = await readFile(this.indexPath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, images: {} };
      throw err;
    }
    const index = JSON.parse(text) as ImageIndex;
    if (index?.version !== 1 || typeof index.images !== 'object') {
      throw new StoreError(`${this.indexPath} is not an image index this nook understands`, 'it may come from a newer nook');
    }
    return index;
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
      const result = await fn(index, held);
      held.assertHeld();
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
