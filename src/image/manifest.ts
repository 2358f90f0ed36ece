import { RegistryError } from '../errors.js';
import { isDigest, type Digest } from '../store/digest.js';

export const MEDIA_TYPES = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
} as const;

/** What `GET /v2/…/manifests/…` asks for: every format nook can pull. */
export const MANIFEST_ACCEPT = Object.values(MEDIA_TYPES).join(', ');

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: Digest;
  readonly size: number;
}

export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string | undefined;
}

export interface ImageManifest {
  readonly kind: 'manifest';
  readonly mediaType: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
}

export interface ManifestIndex {
  readonly kind: 'index';
  readonly mediaType: string;
  readonly manifests: readonly (Descriptor & { readonly platform: Platform | undefined })[];
}

/** The parts of an image config nook reads now; the rest is kept verbatim in the blob. */
export interface ImageConfig {
  readonly os: string;
  readonly architecture: string;
  readonly variant: string | undefined;
  readonly created: string | undefined;
  readonly diffIds: readonly Digest[];
}

function malformed(what: string, why: string): RegistryError {
  return new RegistryError(`${what} is malformed: ${why}`, 'the registry serves something nook cannot read as an image');
}

function descriptor(value: unknown, what: string): Descriptor {
  const d = value as Partial<Descriptor> | null;
  if (typeof d !== 'object' || d === null) throw malformed(what, 'a descriptor is not an object');
  if (!isDigest(d.digest)) throw malformed(what, `descriptor digest ${JSON.stringify(d.digest)} is not a sha256 digest`);
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) throw malformed(what, `descriptor ${d.digest} has no valid size`);
  return { mediaType: typeof d.mediaType === 'string' ? d.mediaType : '', digest: d.digest, size: d.size };
}

function platform(value: unknown): Platform | undefined {
  const p = value as Partial<Platform> | undefined;
  if (typeof p?.os !== 'string' || typeof p.architecture !== 'string') return undefined;
  return { os: p.os, architecture: p.architecture, variant: typeof p.variant === 'string' ? p.variant : undefined };
}

/**
 * Parses a manifest or index. The media type comes from the response's Content-Type,
 * falling back to the document's own `mediaType` (OCI makes it optional, some registries
 * send a generic Content-Type).
 */
export function parseManifest(bytes: Uint8Array, contentType: string | null, what: string): ImageManifest | ManifestIndex {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>;
  } catch {
    throw malformed(what, 'it is not JSON');
  }
  const declared = contentType?.split(';')[0]?.trim();
  const mediaType = declared && Object.values<string>(MEDIA_TYPES).includes(declared) ? declared : (doc.mediaType as string | undefined);
  if (doc.schemaVersion === 1 || mediaType?.startsWith('application/vnd.docker.distribution.manifest.v1')) {
    throw new RegistryError(`${what} is a Docker schema 1 manifest, which nook does not support`, 'the image is too old: push it again with a current tool');
  }
  if (mediaType === MEDIA_TYPES.dockerList || mediaType === MEDIA_TYPES.ociIndex || (mediaType === undefined && Array.isArray(doc.manifests))) {
    if (!Array.isArray(doc.manifests)) throw malformed(what, 'an index without "manifests"');
    return {
      kind: 'index',
      mediaType: mediaType ?? MEDIA_TYPES.ociIndex,
      manifests: doc.manifests.map((m: unknown) => ({ ...descriptor(m, what), platform: platform((m as { platform?: unknown }).platform) })),
    };
  }
  if (mediaType === MEDIA_TYPES.dockerManifest || mediaType === MEDIA_TYPES.ociManifest || (mediaType === undefined && doc.config !== undefined)) {
    if (!Array.isArray(doc.layers)) throw malformed(what, 'a manifest without "layers"');
    return {
      kind: 'manifest',
      mediaType: mediaType ?? MEDIA_TYPES.ociManifest,
      config: descriptor(doc.config, what),
      layers: doc.layers.map((l: unknown) => descriptor(l, what)),
    };
  }
  throw new RegistryError(`${what} has media type "${mediaType}", which is not an image manifest`, 'nook pulls Docker v2 and OCI images');
}

export function parseImageConfig(bytes: Uint8Array, what: string): ImageConfig {
  let doc: { os?: unknown; architecture?: unknown; variant?: unknown; created?: unknown; rootfs?: { diff_ids?: unknown } };
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8')) as typeof doc;
  } catch {
    throw malformed(what, 'it is not JSON');
  }
  const diffIds = doc.rootfs?.diff_ids;
  if (!Array.isArray(diffIds) || !diffIds.every(isDigest)) throw malformed(what, 'rootfs.diff_ids is not a list of sha256 digests');
  return {
    os: typeof doc.os === 'string' ? doc.os : 'linux',
    architecture: typeof doc.architecture === 'string' ? doc.architecture : 'unknown',
    variant: typeof doc.variant === 'string' ? doc.variant : undefined,
    created: typeof doc.created === 'string' ? doc.created : undefined,
    diffIds,
  };
}
