import { createReadStream } from 'node:fs';
import { RegistryError } from '../errors.js';
import type { Digest } from '../store/digest.js';
import type { ImageRecord } from '../store/images.js';
import type { Store } from '../store/store.js';
import { formatReference, type Reference } from './reference.js';
import type { RegistryClient } from './registry.js';

/** Receives one line per step, in podman's words ("Copying blob … done"). */
export type PushProgress = (line: string) => void;

/**
 * Pushes an image from the store to `dest`: each blob the registry lacks (asked with HEAD)
 * is uploaded as stored, then the manifest, byte for byte, so the pushed image has the
 * digest and id it has here.
 */
export async function pushToRegistry(client: RegistryClient, store: Store, record: ImageRecord, dest: Reference, progress: PushProgress): Promise<void> {
  const repo = dest.repository;
  if (dest.digest !== undefined && dest.digest !== record.manifestDigest) {
    throw new RegistryError(`cannot push to ${formatReference(dest)}: the image's manifest is ${record.manifestDigest}`, 'push to a tag, or to the digest the image has');
  }
  const blobs: { digest: Digest; kind: string }[] = [
    ...[...new Set(record.layers.map((l) => l.digest))].map((digest) => ({ digest, kind: 'blob' })),
    { digest: record.configDigest, kind: 'config' },
  ];
  progress('Getting image source signatures');
  for (const { digest, kind } of blobs) {
    if (await client.hasBlob(repo, digest)) {
      progress(`Copying ${kind} ${digest} skipped: already exists`);
      continue;
    }
    await client.uploadBlob(repo, digest, () => createReadStream(store.blobs.path(digest)));
    progress(`Copying ${kind} ${digest} done`);
  }
  progress('Writing manifest to image destination');
  const manifest = await store.blobs.read(record.manifestDigest);
  await client.putManifest(repo, dest.tag ?? record.manifestDigest, manifest, record.manifestMediaType);
}
