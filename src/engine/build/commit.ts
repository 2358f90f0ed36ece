import { commitImage } from '../../image/commit.js';
import { localImage } from '../../image/local-image.js';
import { StoreError } from '../../errors.js';
import type { LayerRecord } from '../../store/images.js';
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
  const { manifest, configDigest, record } = localImage(configBytes, stage.layers.map(ociLayer), {
    diffIds: stage.diffIds,
    os: stage.doc.os,
    architecture: stage.doc.architecture,
    variant: stage.doc.variant,
    created,
  });
  await store.blobs.writeBytes(configDigest, configBytes, 'the built image config');
  await store.blobs.writeBytes(record.manifestDigest, manifest, 'the built image manifest');
  const result = await commitImage(store, record, names, []);
  if (result === undefined) throw new StoreError('layers of the image were removed while it was built', 'another nook command removed images meanwhile: build again');
  await build.cache.put(key, { kind: 'image', id: record.id });
  return record.id;
}

