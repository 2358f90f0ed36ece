import type { Readable } from 'node:stream';
import { ArchiveError, DigestMismatchError, NookError } from '../../errors.js';
import type { Digest } from '../../store/digest.js';
import { digestOf } from '../../store/hashing.js';
import type { ImageRecord, LayerRecord } from '../../store/images.js';
import type { Store } from '../../store/store.js';
import type { ContainerIdMaps } from '../../sys/idmap.js';
import type { CommitResult } from '../commit.js';
import { compressionOf } from '../decompress.js';
import { removeUnused, storeImage, withBlobCleanup } from '../ingest.js';
import { MEDIA_TYPES, parseImageConfig, parseManifest, type ImageManifest } from '../manifest.js';
import { hostPlatform, selectPlatform } from '../platform.js';
import { formatReference, parseLocalName, parseReference } from '../reference.js';
import { DOCKER_MANIFEST, parseDockerManifest } from './docker.js';
import { blobDigest, OCI_INDEX_FILE, parseOciIndex } from './oci.js';
import { readTar } from './tar-read.js';

/** Metadata files are small; one larger than this is not what it claims to be. */
const METADATA_LIMIT = 16 * 1024 * 1024;

/** An archive's files once read: metadata in memory, everything else as blobs in the store. */
interface ArchiveContent {
  readonly metadata: Map<string, Buffer>;
  readonly blobs: Map<string, { digest: Digest; size: number }>;
}

/** Top-level JSON files (manifest.json, index.json, docker configs) and other small bookkeeping. */
function isMetadata(path: string): boolean {
  return !path.includes('/') && (path.endsWith('.json') || path === 'repositories' || path === 'oci-layout' || path === 'VERSION');
}

async function readBody(body: AsyncIterable<Uint8Array>, path: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.length;
    if (total > METADATA_LIMIT) throw new ArchiveError(`"${path}" in the archive is larger than ${METADATA_LIMIT} bytes`, 'the archive is not an image archive');
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

/**
 * Streams the archive: metadata into memory, every other file straight into the blob store
 * under the digest of its content (a `blobs/sha256/<hex>` file must hash to its name).
 */
async function readArchive(store: Store, source: Readable, what: string, added: Digest[]): Promise<ArchiveContent> {
  const content: ArchiveContent = { metadata: new Map(), blobs: new Map() };
  try {
    await readTar(source, async (path, body) => {
      if (isMetadata(path)) {
        content.metadata.set(path, await readBody(body, path));
        return;
      }
      const { digest, size, existed } = await store.blobs.writeUnknown(body);
      if (!existed) added.push(digest);
      const named = blobDigest(path);
      if (named !== undefined && named !== digest) {
        throw new DigestMismatchError(`${path} in ${what} does not match its digest: it hashes to ${digest}`, 'the archive is corrupt; nothing was loaded');
      }
      content.blobs.set(path, { digest, size });
    });
  } catch (err) {
    if (err instanceof NookError) throw err;
    throw new ArchiveError(`${what} is not a readable image archive: ${(err as Error).message}`, 'give an archive written by "nook save", "podman save" or "docker save" (it may be truncated)');
  }
  return content;
}

/**
 * Loads every image of a docker-archive or oci-archive (plain or compressed) into the
 * store, as pull would: blobs verified, layers extracted, then the image committed with
 * the archive's names. A failure removes the blobs this load added.
 */
export async function loadArchive(store: Store, maps: ContainerIdMaps, source: Readable, what: string): Promise<CommitResult[]> {
  return withBlobCleanup(store, async (added) => {
    const content = await readArchive(store, source, what, added);
    const images = content.metadata.has(DOCKER_MANIFEST)
      ? await dockerImages(store, content, what, added)
      : content.metadata.has(OCI_INDEX_FILE)
        ? await ociImages(store, content, what)
        : undefined;
    if (images === undefined) {
      throw new ArchiveError(`${what} is neither a docker-archive nor an oci-archive: it has no ${DOCKER_MANIFEST} or ${OCI_INDEX_FILE}`, 'give an archive written by "nook save", "podman save" or "docker save"');
    }
    const results: CommitResult[] = [];
    for (const { record, names } of images) results.push(await storeImage(store, maps, record, names, []));
    // Files no image refers to (docker's legacy <id>/json and <id>/layer.tar) were stored
    // as blobs while the archive streamed by: they go now.
    await removeUnused(store, added);
    return results;
  });
}

interface LoadedImage {
  readonly record: ImageRecord;
  readonly names: readonly string[];
}

/** Reads a file of the archive that may be metadata or a blob. */
async function archiveFile(store: Store, content: ArchiveContent, path: string, what: string): Promise<Buffer> {
  const inMemory = content.metadata.get(path.replace(/^(\.\/)+/, ''));
  if (inMemory !== undefined) return inMemory;
  const blob = content.blobs.get(path.replace(/^(\.\/)+/, ''));
  if (blob === undefined) throw new ArchiveError(`${what} lacks "${path}", which its manifest names`, 'the archive is incomplete');
  return store.blobs.read(blob.digest);
}

const DOCKER_LAYER_TYPES = {
  none: 'application/vnd.docker.image.rootfs.diff.tar',
  gzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  zstd: 'application/vnd.docker.image.rootfs.diff.tar.zstd',
} as const;

async function dockerImages(store: Store, content: ArchiveContent, what: string, added: Digest[]): Promise<LoadedImage[]> {
  const images: LoadedImage[] = [];
  for (const entry of parseDockerManifest(content.metadata.get(DOCKER_MANIFEST)!)) {
    const configBytes = await archiveFile(store, content, entry.config, what);
    const configDigest = digestOf(configBytes);
    const config = parseImageConfig(configBytes, `config ${entry.config} of ${what}`);
    if (config.diffIds.length !== entry.layers.length) {
      throw new ArchiveError(`${what} is inconsistent: its manifest lists ${entry.layers.length} layers, the config ${config.diffIds.length}`, 'the archive is corrupt');
    }
    const layers: LayerRecord[] = [];
    for (const [i, path] of entry.layers.entries()) {
      const blob = content.blobs.get(path.replace(/^(\.\/)+/, ''));
      if (blob === undefined) throw new ArchiveError(`${what} lacks the layer "${path}" its manifest names`, 'the archive is incomplete');
      const compression = compressionOf(await store.blobs.readHead(blob.digest, 4));
      // An uncompressed layer is its own diff id; a compressed one is checked when extracted.
      if (compression === 'none' && blob.digest !== config.diffIds[i]) {
        throw new DigestMismatchError(`layer "${path}" of ${what} does not match its digest: it hashes to ${blob.digest}, the config says ${config.diffIds[i]}`, 'the archive is corrupt; nothing was loaded');
      }
      layers.push({ digest: blob.digest, size: blob.size, mediaType: DOCKER_LAYER_TYPES[compression] });
    }
    // docker-archives carry no manifest: write the one a registry would serve for them.
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.dockerManifest,
        config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: configBytes.length, digest: configDigest },
        layers,
      }),
    );
    const manifestDigest = digestOf(manifest);
    for (const [digest, bytes] of [[configDigest, configBytes], [manifestDigest, manifest]] as const) {
      if (await store.blobs.has(digest)) continue;
      await store.blobs.writeBytes(digest, bytes, `${digest} of ${what}`);
      added.push(digest);
    }
    const names = entry.repoTags.map((tag) => formatReference(parseReference(tag)));
    images.push({ record: recordOf(configDigest, configBytes.length, manifestDigest, MEDIA_TYPES.dockerManifest, layers, config), names });
  }
  return images;
}

async function ociImages(store: Store, content: ArchiveContent, what: string): Promise<LoadedImage[]> {
  const images: LoadedImage[] = [];
  for (const { descriptor, refName } of parseOciIndex(content.metadata.get(OCI_INDEX_FILE)!)) {
    const present = async (digest: Digest) => {
      if (![...content.blobs.values()].some((b) => b.digest === digest) && !(await store.blobs.has(digest))) {
        throw new ArchiveError(`${what} lacks the blob ${digest}, which it refers to`, 'the archive is incomplete');
      }
    };
    await present(descriptor.digest);
    let manifestDigest = descriptor.digest;
    let manifest = parseManifest(await store.blobs.read(manifestDigest), descriptor.mediaType || null, `manifest ${manifestDigest} of ${what}`);
    if (manifest.kind === 'index') {
      manifestDigest = selectPlatform(manifest, hostPlatform(), `image index ${descriptor.digest} of ${what}`).digest;
      await present(manifestDigest);
      manifest = parseManifest(await store.blobs.read(manifestDigest), null, `manifest ${manifestDigest} of ${what}`);
      if (manifest.kind === 'index') throw new ArchiveError(`${what} nests image indexes`, 'nook does not follow nested indexes');
    }
    const image: ImageManifest = manifest;
    await present(image.config.digest);
    const configBytes = await store.blobs.read(image.config.digest);
    const config = parseImageConfig(configBytes, `config ${image.config.digest} of ${what}`);
    if (config.diffIds.length !== image.layers.length) {
      throw new ArchiveError(`${what} is inconsistent: its manifest lists ${image.layers.length} layers, the config ${config.diffIds.length}`, 'the archive is corrupt');
    }
    for (const layer of image.layers) await present(layer.digest);
    const layers = image.layers.map((l) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType }));
    images.push({ record: recordOf(image.config.digest, configBytes.length, manifestDigest, image.mediaType, layers, config), names: refNames(refName) });
  }
  return images;
}

/** podman writes the full name into ref.name; a bare tag or an invalid name gives no name. */
function refNames(refName: string | undefined): string[] {
  if (refName === undefined || !/[/:]/.test(refName)) return [];
  try {
    return [formatReference(parseLocalName(refName))];
  } catch {
    return [];
  }
}

function recordOf(
  configDigest: Digest,
  configSize: number,
  manifestDigest: Digest,
  manifestMediaType: string,
  layers: readonly LayerRecord[],
  config: ReturnType<typeof parseImageConfig>,
): ImageRecord {
  return {
    id: configDigest.slice('sha256:'.length),
    configDigest,
    manifestDigest,
    manifestMediaType,
    indexDigest: undefined,
    layers,
    diffIds: config.diffIds,
    os: config.os,
    architecture: config.architecture,
    variant: config.variant,
    created: config.created,
    size: configSize + layers.reduce((sum, l) => sum + l.size, 0),
  };
}
