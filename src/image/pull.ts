import { PassThrough, type Readable } from 'node:stream';
import { NookError, RegistryError, StoreError } from '../errors.js';
import { digestHex, type Digest } from '../store/digest.js';
import type { ImageRecord } from '../store/images.js';
import type { LayerSource } from '../store/layers.js';
import type { Store } from '../store/store.js';
import { parseImageConfig, parseManifest, type Descriptor, type Platform } from './manifest.js';
import { formatPlatform, selectPlatform } from './platform.js';
import { formatReference, repositoryName, type Reference } from './reference.js';
import type { ContainerIdMaps } from '../sys/idmap.js';
import { commitImage, imageLayers, type CommitResult } from './commit.js';
import { GROWING_END } from './extract/request.js';
import { removeUnused } from './ingest.js';
import type { RegistryClient } from './registry.js';

/** Layers downloaded at once: enough to fill a link, few enough to be polite to a registry. */
const PARALLEL_LAYERS = 3;

/** What a pull reports as it goes: steps, and each blob's state. */
export interface PullProgress {
  step(line: string): void;
  /** `received` bytes of `total` so far; 'skipped' (already stored) or 'done' at the end. */
  blob(kind: string, digest: Digest, state: 'skipped' | 'done' | { received: number; total: number }): void;
}

export type PullResult = CommitResult;

/**
 * Pulls `ref` into the store: manifest (picked for `platform` from an index), config and
 * layers as verified blobs, then, under the store lock, the image record and its names.
 * Downloads happen outside the lock. On failure the blobs this pull added that no image
 * uses are removed again, so a failed pull leaves the store as it found it.
 */
export async function pullToStore(
  client: RegistryClient,
  ref: Reference,
  platform: Platform,
  store: Store,
  maps: ContainerIdMaps,
  progress: PullProgress,
): Promise<PullResult> {
  const added: Digest[] = [];
  try {
    // A concurrent rmi may remove a blob this pull found present and skipped; the commit
    // notices, and one more pass fetches what went missing.
    for (let attempt = 0; attempt < 2; attempt++) {
      const result = await pullOnce(client, ref, platform, store, maps, progress, added);
      if (result !== undefined) return result;
    }
    throw new StoreError(`blobs of ${formatReference(ref)} kept disappearing while it was pulled`, 'another nook command is removing images: run the pull again');
  } catch (err) {
    await removeUnused(store, added).catch(() => undefined);
    throw err;
  }
}

async function pullOnce(
  client: RegistryClient,
  ref: Reference,
  platform: Platform,
  store: Store,
  maps: ContainerIdMaps,
  progress: PullProgress,
  added: Digest[],
): Promise<PullResult | undefined> {
  const repo = ref.repository;
  const top = await client.getManifest(repo, ref.digest ?? ref.tag!);
  const what = formatReference(ref);
  let manifest = parseManifest(top.bytes, top.contentType, `manifest of ${what}`);
  let manifestFetched = top;
  let indexDigest: Digest | undefined;
  if (manifest.kind === 'index') {
    const picked = selectPlatform(manifest, platform, `image index of ${what}`);
    indexDigest = top.digest;
    manifestFetched = await client.getManifest(repo, picked.digest);
    manifest = parseManifest(manifestFetched.bytes, manifestFetched.contentType, `manifest ${picked.digest} of ${what}`);
    if (manifest.kind === 'index') throw new RegistryError(`the ${formatPlatform(platform)} entry of ${what}'s index is another index`, 'nook does not follow nested indexes');
  }

  /** Downloads a blob into the store; a layer's `diffId` also extracts it on the way. */
  const fetchBlob = async (d: Descriptor, kind: string, diffId?: Digest): Promise<void> => {
    if (await store.blobs.has(d.digest)) {
      progress.blob(kind, d.digest, 'skipped');
      return;
    }
    const extract = diffId !== undefined && !(await store.layers.has(diffId));
    // From here on nothing may wait before the stream is consumed: the progress listener
    // below sets it flowing.
    const stream = await client.getBlob(repo, d.digest);
    const name = `${kind} ${d.digest} of ${repositoryName(ref)}`;
    let received = 0;
    stream.on('data', (chunk: Buffer) => {
      received += chunk.length;
      progress.blob(kind, d.digest, { received, total: d.size });
    });
    try {
      if (extract) await storeAndExtract(stream, { blob: d.digest, diffId: diffId! }, name, d.size);
      else await store.blobs.write(d.digest, stream, name, d.size);
    } catch (err) {
      if (err instanceof NookError) throw err;
      // The connection broke mid-download, or the disk refused the write.
      throw new RegistryError(`downloading ${name} failed: ${(err as Error).message}`, 'check the connection and run the pull again');
    }
    if (!added.includes(d.digest)) added.push(d.digest);
    progress.blob(kind, d.digest, 'done');
  };

  /**
   * One pass over a layer download: the bytes go to a temp file in the blob store (hashed),
   * and the extractor follows that file as it grows (decompressed, hashed, unpacked). The
   * blob and the layer are committed only when both digests check out; if either side
   * fails, the other is stopped and undone.
   */
  const storeAndExtract = async (stream: Readable, layer: LayerSource, name: string, size: number): Promise<void> => {
    const blob = store.blobs.incoming(layer.blob, name, size);
    const announcements = new PassThrough();
    // Told only once the blob checks out: until then the extractor cannot finish the layer.
    const stored = blob.receive(stream, (bytes) => announcements.write(`${bytes}\n`)).then(
      () => void announcements.end(`${GROWING_END}\n`),
      (err: unknown) => {
        announcements.end();
        throw err;
      },
    );
    const extracting = store.layers.extractGrowing(maps, layer, blob.temp, announcements, size);
    // A failed extraction stops the download with its error (receive then removes its temp file).
    extracting.catch((err: Error) => stream.destroy(err));
    const [received, extracted] = await Promise.allSettled([stored, extracting]);
    if (received.status === 'rejected' || extracted.status === 'rejected') {
      if (received.status === 'fulfilled') await blob.discard();
      if (extracted.status === 'fulfilled') await store.layers.discard(maps, [extracted.value.temp]);
      throw received.status === 'rejected' ? received.reason : (extracted as PromiseRejectedResult).reason;
    }
    try {
      await blob.commit();
    } catch (err) {
      await blob.discard();
      await store.layers.discard(maps, [extracted.value.temp]);
      throw err;
    }
    // Stored, so the pull's failure cleanup removes it if nothing else uses it.
    added.push(layer.blob);
    await store.layers.publishExtracted(maps, extracted.value);
  };

  await fetchBlob(manifest.config, 'config');
  const config = parseImageConfig(await store.blobs.read(manifest.config.digest), `config of ${what}`);
  if (config.diffIds.length !== manifest.layers.length) {
    throw new RegistryError(`${what} is inconsistent: its manifest lists ${manifest.layers.length} layers, its config ${config.diffIds.length}`, 'the image is broken in the registry');
  }
  const unique = [...new Map(manifest.layers.map((l) => [l.digest, l])).values()];
  const diffIds = new Map(manifest.layers.map((l, i) => [l.digest, config.diffIds[i]!]));
  await inParallel(unique, PARALLEL_LAYERS, (layer) => fetchBlob(layer, 'blob', diffIds.get(layer.digest)));
  progress.step('Writing manifest to image destination');
  for (const [bytes, digest] of [[manifestFetched.bytes, manifestFetched.digest], ...(indexDigest ? [[top.bytes, top.digest] as const] : [])] as const) {
    if (!(await store.blobs.has(digest))) {
      await store.blobs.writeBytes(digest, bytes, `manifest ${digest} of ${what}`);
      added.push(digest);
    }
  }

  const record: ImageRecord = {
    id: digestHex(manifest.config.digest),
    configDigest: manifest.config.digest,
    manifestDigest: manifestFetched.digest,
    manifestMediaType: manifest.mediaType,
    indexDigest,
    layers: manifest.layers.map((l) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType })),
    diffIds: config.diffIds,
    os: config.os,
    architecture: config.architecture,
    variant: config.variant,
    created: config.created,
    size: manifest.config.size + manifest.layers.reduce((sum, l) => sum + l.size, 0),
  };
  progress.step('Extracting layers');
  await store.layers.ensure(maps, store.blobs, imageLayers(record));
  const names = ref.tag === undefined ? [] : [`${repositoryName(ref)}:${ref.tag}`];
  const digests = [manifestFetched.digest, ...(indexDigest ? [indexDigest] : [])].map((d) => `${repositoryName(ref)}@${d}`);
  return commitImage(store, record, names, digests);
}

/** Runs `fn` on every item, at most `limit` at once; waits for all started work, then throws the first failure. */
async function inParallel<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== undefined) throw failure.err;
}
