import type { Digest } from '../store/digest.js';
import { digestOf } from '../store/hashing.js';
import type { ImageRecord, LayerRecord } from '../store/images.js';
import { OCI_CONFIG_TYPE } from './archive/oci.js';
import { MEDIA_TYPES } from './manifest.js';

/** The platform and history facts of an image nook makes itself, as its config says them. */
export interface LocalImageFacts {
  readonly diffIds: readonly Digest[];
  readonly os: string;
  readonly architecture: string;
  readonly variant: string | undefined;
  readonly created: string;
}

/**
 * An image nook makes itself (import, build): the OCI manifest that names `config` and
 * `layers`, and the image's record. Nothing is written: the caller stores both blobs.
 */
export function localImage(config: Buffer, layers: readonly LayerRecord[], facts: LocalImageFacts): { manifest: Buffer; configDigest: Digest; record: ImageRecord } {
  const configDigest = digestOf(config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociManifest,
      config: { mediaType: OCI_CONFIG_TYPE, digest: configDigest, size: config.length },
      layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    }),
  );
  const record: ImageRecord = {
    id: configDigest.slice('sha256:'.length),
    configDigest,
    manifestDigest: digestOf(manifest),
    manifestMediaType: MEDIA_TYPES.ociManifest,
    indexDigest: undefined,
    layers,
    diffIds: [...facts.diffIds],
    os: facts.os,
    architecture: facts.architecture,
    variant: facts.variant,
    created: facts.created,
    size: config.length + layers.reduce((sum, l) => sum + l.size, 0),
  };
  return { manifest, configDigest, record };
}
