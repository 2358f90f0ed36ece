import { stat } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { digestHex } from '../../store/digest.js';
import { digestOf } from '../../store/hashing.js';
import type { ImageRecord } from '../../store/images.js';
import type { Store } from '../../store/store.js';
import { uncompressedLayer, uncompressedSize } from '../layer-tar.js';
import { MEDIA_TYPES } from '../manifest.js';
import { DOCKER_MANIFEST, formatDockerManifest, formatRepositories } from './docker.js';
import { blobPath, formatOciIndex, OCI_INDEX_FILE, OCI_LAYOUT, OCI_LAYOUT_FILE, ociManifestFor } from './oci.js';
import type { TarFile } from './tar-write.js';

export type ArchiveFormat = 'docker-archive' | 'oci-archive';

/**
 * The files of an image archive of `record`, in the order they are written; `name` (a
 * full `registry/repo:tag`) is the name the archive gives the image, if any. Both formats
 * keep the config blob byte for byte, so the image id survives a save and load.
 */
export function archiveFiles(store: Store, record: ImageRecord, name: string | undefined, format: ArchiveFormat): AsyncIterable<TarFile> {
  return format === 'docker-archive' ? dockerArchiveFiles(store, record, name) : ociArchiveFiles(store, record, name);
}

function blobFile(store: Store, path: string, digest: ImageRecord['configDigest'], size: number): TarFile {
  return { path, size, body: () => createReadStream(store.blobs.path(digest)) };
}

async function* dockerArchiveFiles(store: Store, record: ImageRecord, name: string | undefined): AsyncGenerator<TarFile> {
  const config = `${record.id}.json`;
  yield blobFile(store, config, record.configDigest, (await stat(store.blobs.path(record.configDigest))).size);
  const layers: string[] = [];
  for (const [i, layer] of record.layers.entries()) {
    const diffId = record.diffIds[i]!;
    const path = `${digestHex(diffId)}.tar`;
    // An image may hold the same layer twice; the archive needs it once.
    if (!layers.includes(path)) {
      yield { path, size: await uncompressedSize(store.blobs, layer, diffId), body: () => uncompressedLayer(store.blobs, layer, diffId) };
    }
    layers.push(path);
  }
  const repoTags = name === undefined ? [] : [name];
  yield text(DOCKER_MANIFEST, formatDockerManifest([{ config, layers, repoTags }]));
  if (repoTags.length > 0 && layers.length > 0) yield text('repositories', formatRepositories(repoTags, layers.at(-1)!));
}

async function* ociArchiveFiles(store: Store, record: ImageRecord, name: string | undefined): AsyncGenerator<TarFile> {
  yield text(OCI_LAYOUT_FILE, OCI_LAYOUT);
  const configSize = (await stat(store.blobs.path(record.configDigest))).size;
  yield blobFile(store, blobPath(record.configDigest), record.configDigest, configSize);
  const seen = new Set<string>();
  for (const layer of record.layers) {
    if (seen.has(layer.digest)) continue;
    seen.add(layer.digest);
    yield blobFile(store, blobPath(layer.digest), layer.digest, layer.size);
  }
  // An OCI manifest is kept as it was pulled (its digest then matches the registry's);
  // a Docker one is rewritten over the same blobs.
  const manifest = record.manifestMediaType === MEDIA_TYPES.ociManifest ? await store.blobs.read(record.manifestDigest) : ociManifestFor(record, configSize);
  const digest = digestOf(manifest);
  yield { path: blobPath(digest), size: manifest.length, body: manifest };
  yield text(OCI_INDEX_FILE, formatOciIndex({ mediaType: MEDIA_TYPES.ociManifest, digest, size: manifest.length }, name));
}

function text(path: string, content: string): TarFile {
  const body = Buffer.from(content);
  return { path, size: body.length, body };
}
