import { OCI_CONFIG_TYPE } from '../../image/archive/oci.js';
import { commitImage } from '../../image/commit.js';
import { MEDIA_TYPES } from '../../image/manifest.js';
import { StoreError } from '../../errors.js';
import { digestOf } from '../../store/hashing.js';
import type { ImageRecord, LayerRecord } from '../../store/images.js';
import { buildTime } from './layer-step.js';
import { cacheKey, type Build, type Stage } from './stage.js';

/** OCI media types for every layer of the manifest (a pulled Docker v2 image has Docker ones). */
function ociLayer(layer: LayerRecord): LayerRecord {
  const docker: Record<string, string> = {
    'application/vnd.docker.image.rootfs.diff.tar.gzip': 'application/vnd.oci.image.layer.v1.tar+gzip',
    'application/vnd.docker.image.rootfs.diff.tar': 'application/vnd.oci.image.layer.v1.tar',
  };
  return { ...layer, mediaType: docker[layer.mediaType] ?? layer.mediaType };
}

/**
 * The image of the built stage: its config and manifest as blobs, committed under the store
 * lock with `names`. A fully cached build gives the image its earlier run committed.
 */
export async function commitBuild(build: Build, stage: Stage, names: readonly string[]): Promise<string> {
  const { store } = build;
  const config = stage.doc.config;
  if (build.options.labels.size > 0) config.Labels = { ...(config.Labels ?? {}), ...Object.fromEntries(build.options.labels) };
  const key = cacheKey([stage.key, 'COMMIT', [...build.options.labels], build.options.timestamp]);
  if (!build.options.noCache) {
    const hit = await build.cache.get(key);
    if (hit?.kind === 'image') {
      // Already named as asked (the usual unchanged rebuild): nothing to write, no lock to take.
      const current = (await store.images.readIndex()).images[hit.id];
      if (current !== undefined && names.every((n) => current.names.includes(n))) return hit.id;
      const tagged = await store.images.update(async (index) => {
        if (!(hit.id in index.images)) return false;
        for (const entry of Object.values(index.images)) entry.names = entry.names.filter((n) => !names.includes(n));
        index.images[hit.id]!.names = [...new Set([...index.images[hit.id]!.names, ...names])];
        return true;
      });
      if (tagged) return hit.id;
    }
  }
  const created = buildTime(build);
  const doc = {
    created,
    ...(stage.meta.author === undefined ? {} : { author: stage.meta.author }),
    architecture: stage.doc.architecture,
    os: stage.doc.os,
    ...(stage.doc.variant === undefined ? {} : { variant: stage.doc.variant }),
    config,
    rootfs: { type: 'layers', diff_ids: stage.diffIds },
    history: stage.doc.history,
  };
  const configBytes = Buffer.from(JSON.stringify(doc));
  const configDigest = digestOf(configBytes);
  const layers = stage.layers.map(ociLayer);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociManifest,
      config: { mediaType: OCI_CONFIG_TYPE, digest: configDigest, size: configBytes.length },
      layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    }),
  );
  const manifestDigest = digestOf(manifest);
  await store.blobs.writeBytes(configDigest, configBytes, 'the built image config');
  await store.blobs.writeBytes(manifestDigest, manifest, 'the built image manifest');
  const record: ImageRecord = {
    id: configDigest.slice('sha256:'.length),
    configDigest,
    manifestDigest,
    manifestMediaType: MEDIA_TYPES.ociManifest,
    indexDigest: undefined,
    layers,
    diffIds: [...stage.diffIds],
    os: stage.doc.os,
    architecture: stage.doc.architecture,
    variant: stage.doc.variant,
    created,
    size: configBytes.length + layers.reduce((sum, l) => sum + l.size, 0),
  };
  const result = await commitImage(store, record, names, []);
  if (result === undefined) throw new StoreError('layers of the image were removed while it was built', 'another nook command removed images meanwhile: build again');
  await build.cache.put(key, { kind: 'image', id: record.id });
  return record.id;
}

