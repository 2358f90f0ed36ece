import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { ArchiveError, NookError } from '../errors.js';
import type { Digest } from '../store/digest.js';
import type { Store } from '../store/store.js';
import type { ContainerIdMaps } from '../sys/idmap.js';
import { readTar } from './archive/tar-read.js';
import type { CommitResult } from './commit.js';
import { compressionOf } from './decompress.js';
import { storeImage, withBlobCleanup } from './ingest.js';
import { localImage } from './local-image.js';
import { hostPlatform } from './platform.js';

const OCI_LAYER_TYPES = {
  none: 'application/vnd.oci.image.layer.v1.tar',
  gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
} as const;

/**
 * The diff id of a stored layer blob, reading it as a tar to the end: a file that is not a
 * tar, or is cut short, is refused here rather than half-extracted.
 */
async function layerDiffId(store: Store, blob: Digest, what: string): Promise<Digest> {
  const hash = createHash('sha256');
  try {
    await readTar(createReadStream(store.blobs.path(blob)), async (_path, body) => void body.resume(), hash);
  } catch (err) {
    if (err instanceof NookError) throw err;
    throw new ArchiveError(`${what} is not a readable tar archive: ${(err as Error).message}`, 'give a root filesystem tarball (plain, gzip or zstd), e.g. an Alpine minirootfs');
  }
  return `sha256:${hash.digest('hex')}`;
}

/**
 * `import`: a root filesystem tarball as a one-layer image. The tarball is stored as it
 * comes (its compression kept, as pull keeps a registry's), with an OCI manifest and a
 * config like podman's: this host's platform, no Cmd or Entrypoint.
 */
export async function importTarball(store: Store, maps: ContainerIdMaps, source: Readable, what: string, names: readonly string[]): Promise<CommitResult> {
  return withBlobCleanup(store, async (added) => {
    const layer = await store.blobs.writeUnknown(source);
    if (!layer.existed) added.push(layer.digest);
    const diffId = await layerDiffId(store, layer.digest, what);
    const head = await store.blobs.readHead(layer.digest, 4);
    const created = new Date().toISOString();
    const { os, architecture } = hostPlatform();
    const config = Buffer.from(
      JSON.stringify({
        created,
        architecture,
        os,
        config: {},
        rootfs: { type: 'layers', diff_ids: [diffId] },
        history: [{ created, created_by: `/bin/sh -c #(nop) ADD file:${diffId.slice('sha256:'.length)} in /`, comment: 'imported from tarball' }],
      }),
    );
    const layerDescriptor = { mediaType: OCI_LAYER_TYPES[compressionOf(head)], digest: layer.digest, size: layer.size };
    const { manifest, configDigest, record } = localImage(config, [layerDescriptor], { diffIds: [diffId], os, architecture, variant: undefined, created });
    for (const [digest, bytes] of [[configDigest, config], [record.manifestDigest, manifest]] as const) {
      if (await store.blobs.has(digest)) continue;
      await store.blobs.writeBytes(digest, bytes, `${digest} of ${what}`);
      added.push(digest);
    }
    return storeImage(store, maps, record, names, []);
  });
}
