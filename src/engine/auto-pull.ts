import { ImageError } from '../errors.js';
import { findCredentials } from '../image/credentials.js';
import { findLocalImage } from '../image/local.js';
import { hostPlatform } from '../image/platform.js';
import { pullToStore } from '../image/pull.js';
import { formatReference, parseReference } from '../image/reference.js';
import { RegistryClient } from '../image/registry.js';
import type { Store } from '../store/store.js';
import type { ContainerIdMaps } from '../sys/idmap.js';
import { lineProgress, terminalProgress } from './progress.js';

/** podman's --pull: when `run` fetches its image from the registry. */
export type PullPolicy = 'missing' | 'always' | 'never';

export interface AutoPullOptions {
  readonly policy: PullPolicy;
  readonly tlsVerify: boolean;
}

/**
 * Makes sure the image `name` is in the store before a run, pulling it as `nook pull`
 * would (progress on stderr) when the policy says so.
 */
export async function ensureImage(store: Store, maps: ContainerIdMaps, name: string, options: AutoPullOptions, warn: (line: string) => void): Promise<void> {
  if (options.policy !== 'always') {
    try {
      findLocalImage(await store.images.readIndex(), name);
      return;
    } catch (err) {
      if (!(err instanceof ImageError) || options.policy === 'never') throw err;
    }
  }
  const ref = parseReference(name);
  const credentials = await findCredentials(ref.registry, ref.repository);
  const client = new RegistryClient(ref.registry, { tlsVerify: options.tlsVerify, credentials });
  const progress = process.stderr.isTTY ? terminalProgress((text) => process.stderr.write(text)) : lineProgress(warn);
  progress.step(`Trying to pull ${formatReference(ref)}...`);
  await pullToStore(client, ref, hostPlatform(), store, maps, progress);
}
