import type { PushOptions } from './options.js';
import { ImageError } from '../../errors.js';
import { findCredentials } from '../../image/credentials.js';
import { findLocalImage } from '../../image/local.js';
import { pushToRegistry } from '../../image/push.js';
import { parseReference } from '../../image/reference.js';
import { RegistryClient } from '../../image/registry.js';
import { openStore } from '../../store/store.js';
import type { ImageIO } from './options.js';

/**
 * `nook push IMAGE [DESTINATION]`: progress on stderr, as podman. Without a destination
 * the image's own name says where it goes. `docker://` is accepted in front, as podman
 * accepts it.
 */
export async function pushImage(options: PushOptions, io: ImageIO): Promise<number> {
  const store = await openStore();
  const match = findLocalImage(await store.images.readIndex(), options.image);
  const target = options.destination?.replace(/^docker:\/\//, '') ?? (match.by === 'name' ? match.name : undefined);
  if (target === undefined) {
    throw new ImageError(`${options.image} names the image by id: nook cannot tell where to push it`, `give a destination: nook push ${options.image} REGISTRY/REPOSITORY:TAG`);
  }
  const dest = parseReference(target);
  const record = await store.images.readRecord(match.id);
  const credentials = await findCredentials(dest.registry, dest.repository);
  const client = new RegistryClient(dest.registry, { tlsVerify: options.tlsVerify, credentials });
  await pushToRegistry(client, store, record, dest, options.quiet ? () => undefined : io.err);
  return 0;
}
