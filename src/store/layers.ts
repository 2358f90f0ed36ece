import { mkdir, readdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { StoreError } from '../errors.js';
import type { ExtractedLayer } from '../image/extract/request.js';
import { extractGrowingBlob, extractLayers, LayerExtractError } from '../image/extract/run.js';
import { removeAsContainerRoot } from '../runtime/owned-trees.js';
import type { ContainerIdMaps } from '../sys/idmap.js';
import { isStaleTemp, tempPathFor, writeFileAtomic } from './atomic.js';
import type { BlobStore } from './blobs.js';
import { digestHex, type Digest } from './digest.js';

/** A layer to have on disk: its compressed blob and the digest of its uncompressed tar. */
export interface LayerSource {
  readonly blob: Digest;
  readonly diffId: Digest;
}

/** A layer extracted into its temp dir, waiting for publishExtracted or discard. */
export interface ExtractedTemp {
  readonly temp: string;
  readonly layer: LayerSource;
}

/** `layers/<diffId hex>/layer.json`. */
interface LayerMeta {
  readonly diffId: Digest;
  readonly blob: Digest;
  readonly entries: number;
  readonly skippedDevices: number;
}

/**
 * Extracted layers, one directory each (`layers/<diffId hex>/diff`), shared by every image
 * that has the layer and used as overlayfs lower dirs. Their files belong to container ids,
 * so creating and removing them happens as root of a user namespace. A layer appears by
 * renaming a finished temp dir into place: a name here is always a complete layer.
 */
export class LayerStore {
  readonly dir: string;

  constructor(root: string) {
    this.dir = join(root, 'layers');
  }

  path(diffId: Digest): string {
    return join(this.dir, digestHex(diffId));
  }

  diffPath(diffId: Digest): string {
    return join(this.path(diffId), 'diff');
  }

  async has(diffId: Digest): Promise<boolean> {
    try {
      const meta = JSON.parse(await readFile(join(this.path(diffId), 'layer.json'), 'utf8')) as LayerMeta;
      return meta.diffId === diffId;
    } catch {
      return false;
    }
  }

  /** Extracts the layers not yet on disk, all in one user-namespace run. */
  async ensure(maps: ContainerIdMaps, blobs: BlobStore, layers: readonly LayerSource[]): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await this.sweep(maps);
    const missing: LayerSource[] = [];
    for (const layer of layers) {
      if (!missing.some((m) => m.diffId === layer.diffId) && !(await this.has(layer.diffId))) missing.push(layer);
    }
    if (missing.length === 0) return;

    const work = missing.map((layer) => ({ layer, temp: tempPathFor(this.path(layer.diffId)) }));
    try {
      for (const { temp } of work) await mkdir(join(temp, 'diff'), { recursive: true, mode: 0o755 });
      const extracted = await extractLayers(
        maps,
        work.map(({ layer, temp }) => ({ blob: blobs.path(layer.blob), target: join(temp, 'diff') })),
      );
      for (const [i, { layer, temp }] of work.entries()) await this.complete(temp, layer, extracted[i]);
      for (const { layer, temp } of work) await this.publish(maps, temp, layer.diffId);
    } catch (err) {
      await this.discard(
        maps,
        work.map((w) => w.temp),
      );
      throw err;
    }
  }

  /**
   * Extracts a layer of `size` bytes from the blob file `blob` while it is being written (a
   * download in progress, its progress told by `announcements`, see extractGrowingBlob) into
   * a temp dir. The layer appears only through publishExtracted, once the caller has
   * verified the blob too.
   */
  async extractGrowing(maps: ContainerIdMaps, layer: LayerSource, blob: string, announcements: Readable, size: number): Promise<ExtractedTemp> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const temp = tempPathFor(this.path(layer.diffId));
    try {
      await mkdir(join(temp, 'diff'), { recursive: true, mode: 0o755 });
      await this.complete(temp, layer, await extractGrowingBlob(maps, blob, announcements, size, join(temp, 'diff'), layer.blob));
      return { temp, layer };
    } catch (err) {
      await this.discard(maps, [temp]);
      throw err;
    }
  }

  async publishExtracted(maps: ContainerIdMaps, extracted: ExtractedTemp): Promise<void> {
    await this.publish(maps, extracted.temp, extracted.layer.diffId);
  }

  /**
   * Makes `dir` (on the store's filesystem, its content already in layer form: overlay
   * whiteouts and opaque markers, owners as mapped ids) the extracted layer `layer`, by
   * renaming it into place: a build step's upper dir, whose tar is the layer's blob.
   */
  async adopt(maps: ContainerIdMaps, layer: LayerSource, dir: string, entries: number): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    if (await this.has(layer.diffId)) return;
    const temp = tempPathFor(this.path(layer.diffId));
    try {
      await mkdir(temp, { mode: 0o755 });
      await rename(dir, join(temp, 'diff'));
      await this.complete(temp, layer, { target: join(temp, 'diff'), diffId: layer.diffId, entries, skippedDevices: 0 });
      await this.publish(maps, temp, layer.diffId);
    } catch (err) {
      await this.discard(maps, [temp]);
      throw err;
    }
  }

  /** A directory on the store's filesystem for work whose result becomes layers (build steps). */
  async scratch(): Promise<string> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const dir = tempPathFor(join(this.dir, 'build'));
    await mkdir(dir, { mode: 0o700 });
    return dir;
  }

  /** Removes temp dirs of extractions that failed or were abandoned. */
  async discard(maps: ContainerIdMaps, temps: readonly string[]): Promise<void> {
    await removeAsContainerRoot(maps, temps).catch(() => undefined);
  }

  /** Checks the extracted content against the config's diff id and records the layer. */
  private async complete(temp: string, layer: LayerSource, result: ExtractedLayer | undefined): Promise<void> {
    if (result === undefined || result.diffId !== layer.diffId) {
      throw new LayerExtractError(layer.blob, `its content is ${result?.diffId ?? 'missing'}, but the image config says ${layer.diffId}`);
    }
    const meta: LayerMeta = { diffId: layer.diffId, blob: layer.blob, entries: result.entries, skippedDevices: result.skippedDevices };
    await writeFileAtomic(join(temp, 'layer.json'), `${JSON.stringify(meta)}\n`);
  }

  /** Renames a finished layer into place; a concurrent command may have won the race. */
  private async publish(maps: ContainerIdMaps, temp: string, diffId: Digest): Promise<void> {
    try {
      await rename(temp, this.path(diffId));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code === 'ENOTEMPTY' || code === 'EEXIST') && (await this.has(diffId))) {
        await removeAsContainerRoot(maps, [temp]);
        return;
      }
      throw new StoreError(`cannot store layer ${diffId}: ${(err as Error).message}`);
    }
  }

  /** Removes layers (no image may still use them: the caller checks, under the store lock). */
  async remove(maps: ContainerIdMaps, diffIds: readonly Digest[]): Promise<void> {
    await removeAsContainerRoot(
      maps,
      diffIds.map((d) => this.path(d)),
    );
  }

  /** Removes what killed commands left half-extracted. */
  async sweep(maps: ContainerIdMaps): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return;
    }
    const stale = names.filter(isStaleTemp);
    await removeAsContainerRoot(
      maps,
      stale.map((name) => join(this.dir, name)),
    );
  }
}
