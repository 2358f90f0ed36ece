import type { PullOptions } from './options.js';
import { findCredentials } from '../../image/credentials.js';
import { hostPlatform, parsePlatform } from '../../image/platform.js';
import type { Platform } from '../../image/manifest.js';
import { pullToStore, type PullProgress, type PullResult } from '../../image/pull.js';
import { formatReference, parseReference, type Reference } from '../../image/reference.js';
import { RegistryClient } from '../../image/registry.js';
import { openStore, type Store } from '../../store/store.js';
import { containerIdMaps, type ContainerIdMaps } from '../../sys/idmap.js';
import type { ImageIO } from './options.js';
import { pullProgress } from './progress.js';

/**
 * `nook pull`: progress on stderr (a live display on a terminal, a line per step
 * otherwise), and the image id on stdout, which is all `-q` prints.
 */
export async function pullImage(options: PullOptions, io: ImageIO): Promise<number> {
  // A malformed name is refused before the store is opened (and made).
  const ref = parseReference(options.reference);
  const platform = options.platform === undefined ? hostPlatform() : parsePlatform(options.platform);
  const store = await openStore();
  const maps = containerIdMaps();
  if (maps.warning !== null) io.err(`WARN: ${maps.warning}`);
  const progress = pullProgress(options.quiet, io.err);
  const { record } = await pullNamed(store, maps, ref, { platform, tlsVerify: options.tlsVerify }, progress);
  io.out(record.id);
  return 0;
}

/** Pulls `ref` into the store with the user's credentials for its registry. */
export async function pullNamed(
  store: Store,
  maps: ContainerIdMaps,
  ref: Reference,
  options: { platform: Platform; tlsVerify: boolean },
  progress: PullProgress,
): Promise<PullResult> {
  const credentials = await findCredentials(ref.registry, ref.repository);
  const client = new RegistryClient(ref.registry, { tlsVerify: options.tlsVerify, credentials });
  progress.step(`Trying to pull ${formatReference(ref)}...`);
  return pullToStore(client, ref, options.platform, store, maps, progress);
}
