import type { ImageInspectOptions } from './options.js';
import { findLocalImage } from '../../image/local.js';
import { openStore } from '../../store/store.js';
import type { ImageIO } from './options.js';

interface ConfigDoc {
  author?: string;
  config?: { Labels?: Record<string, string>; User?: string } & Record<string, unknown>;
  history?: unknown[];
}

/** `nook image inspect`: podman's JSON array, with the config as the image gives it. */
export async function inspectImages(options: ImageInspectOptions, io: ImageIO): Promise<number> {
  io.out(JSON.stringify(await inspectedImages(options.images), null, 4));
  return 0;
}

/** Each image as podman's inspect shows it. */
export async function inspectedImages(names: readonly string[]): Promise<Record<string, unknown>[]> {
  const store = await openStore();
  const index = await store.images.readIndex();
  const out = [];
  for (const query of names) {
    const { id } = findLocalImage(index, query);
    const entry = index.images[id]!;
    const record = await store.images.readRecord(id);
    const config = JSON.parse((await store.blobs.read(record.configDigest)).toString('utf8')) as ConfigDoc;
    out.push({
      Id: record.id,
      Digest: record.manifestDigest,
      RepoTags: entry.names,
      RepoDigests: entry.digests,
      Created: record.created ?? null,
      Config: config.config ?? {},
      Author: config.author ?? '',
      Architecture: record.architecture,
      Os: record.os,
      ...(record.variant ? { Variant: record.variant } : {}),
      Size: record.size,
      RootFS: { Type: 'layers', Layers: record.diffIds },
      Layers: record.layers,
      Labels: config.config?.Labels ?? null,
      User: config.config?.User ?? '',
      ManifestType: record.manifestMediaType,
      History: config.history ?? [],
    });
  }
  return out;
}
