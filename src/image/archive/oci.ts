import { ArchiveError } from '../../errors.js';
import { isDigest, type Digest } from '../../store/digest.js';
import type { ImageRecord } from '../../store/images.js';
import { MEDIA_TYPES, type Descriptor } from '../manifest.js';

/**
 * oci-archive: an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/<hex>`) in a
 * tar. index.json names each image with the `org.opencontainers.image.ref.name`
 * annotation, which podman sets to the image's full name.
 */
export const OCI_LAYOUT_FILE = 'oci-layout';
export const OCI_INDEX_FILE = 'index.json';
export const OCI_LAYOUT = JSON.stringify({ imageLayoutVersion: '1.0.0' });
export const REF_NAME = 'org.opencontainers.image.ref.name';

export interface OciIndexEntry {
  readonly descriptor: Descriptor;
  readonly refName: string | undefined;
}

export function blobPath(digest: Digest): string {
  return `blobs/sha256/${digest.slice('sha256:'.length)}`;
}

/** The digest a `blobs/sha256/<hex>` path names; undefined for any other path. */
export function blobDigest(path: string): Digest | undefined {
  const match = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(path);
  return match ? `sha256:${match[1]}` : undefined;
}

function invalid(why: string): ArchiveError {
  return new ArchiveError(`the archive's ${OCI_INDEX_FILE} is malformed: ${why}`, 'the archive is not an oci-archive nook can read; save it again');
}

export function parseOciIndex(bytes: Uint8Array): OciIndexEntry[] {
  let doc: { manifests?: unknown };
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8')) as typeof doc;
  } catch {
    throw invalid('it is not JSON');
  }
  if (!Array.isArray(doc?.manifests) || doc.manifests.length === 0) throw invalid('it lists no manifests');
  return doc.manifests.map((m: unknown) => {
    const d = m as { mediaType?: unknown; digest?: unknown; size?: unknown; annotations?: Record<string, unknown> } | null;
    if (typeof d !== 'object' || d === null || !isDigest(d.digest)) throw invalid('a manifest entry has no sha256 digest');
    if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) throw invalid(`the entry for ${d.digest} has no valid size`);
    const name = d.annotations?.[REF_NAME];
    return {
      descriptor: { mediaType: typeof d.mediaType === 'string' ? d.mediaType : '', digest: d.digest, size: d.size },
      refName: typeof name === 'string' && name !== '' ? name : undefined,
    };
  });
}

export function formatOciIndex(manifest: Descriptor, refName: string | undefined): string {
  const entry = { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.size, ...(refName === undefined ? {} : { annotations: { [REF_NAME]: refName } }) };
  return JSON.stringify({ schemaVersion: 2, manifests: [entry] });
}

/** Docker layer media types and their OCI equivalents. */
const OCI_LAYER_TYPES: Record<string, string> = {
  'application/vnd.docker.image.rootfs.diff.tar.gzip': 'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.docker.image.rootfs.diff.tar': 'application/vnd.oci.image.layer.v1.tar',
  'application/vnd.docker.image.rootfs.diff.tar.zstd': 'application/vnd.oci.image.layer.v1.tar+zstd',
};

export const OCI_CONFIG_TYPE = 'application/vnd.oci.image.config.v1+json';

/**
 * An OCI manifest for an image whose stored manifest is Docker's: same config and layer
 * blobs, so the image id (the config digest) stays the same.
 */
export function ociManifestFor(record: ImageRecord, configSize: number): Uint8Array {
  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    config: { mediaType: OCI_CONFIG_TYPE, digest: record.configDigest, size: configSize },
    layers: record.layers.map((l) => ({ mediaType: OCI_LAYER_TYPES[l.mediaType] ?? l.mediaType, digest: l.digest, size: l.size })),
  };
  return Buffer.from(JSON.stringify(manifest));
}
