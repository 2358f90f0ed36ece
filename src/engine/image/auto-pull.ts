import { ImageError } from '../../errors.js';
import { findLocalImage } from '../../image/local.js';
import { hostPlatform } from '../../image/platform.js';
import { parseReference } from '../../image/reference.js';
import type { Store } from '../../store/store.js';
import type { ContainerIdMaps } from '../../sys/idmap.js';
import { pullProgress } from './progress.js';
import { pullNamed } from './pull.js';

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
  await pullNamed(store, maps, parseReference(name), { platform: hostPlatform(), tlsVerify: options.tlsVerify }, pullProgress(false, warn));
}
