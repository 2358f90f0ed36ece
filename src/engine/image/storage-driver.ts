import { readFile } from 'node:fs/promises';
import { release } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../../store/atomic.js';
import type { Store } from '../../store/store.js';
import type { ContainerIdMaps } from '../../sys/idmap.js';
import { probeOverlay } from './overlay-probe.js';

/**
 * How an image becomes a container root, by podman's names: `overlay` stacks the shared
 * layers with kernel overlayfs; `vfs` copies them into a private directory per container,
 * slower and bigger, for kernels or filesystems that refuse overlayfs in a user namespace.
 */
export type StorageDriver = 'overlay' | 'vfs';

export interface DriverChoice {
  readonly driver: StorageDriver;
  /** Why: asked for, or what the probe found. */
  readonly reason: string;
}

interface CachedChoice extends DriverChoice {
  readonly kernel: string;
}

/**
 * The driver asked for, or else the one that works here: overlayfs is probed once per
 * kernel and the answer kept in the store (the probe costs a namespace and a mount).
 */
export async function chooseStorageDriver(store: Store, maps: ContainerIdMaps, requested: StorageDriver | undefined): Promise<DriverChoice> {
  if (requested !== undefined) return { driver: requested, reason: 'chosen with --storage-driver' };
  const cacheFile = join(store.root, 'storage-driver.json');
  const cached = await readFile(cacheFile, 'utf8')
    .then((text) => JSON.parse(text) as CachedChoice)
    .catch(() => null);
  if (cached !== null && cached.kernel === release()) return { driver: cached.driver, reason: cached.reason };
  const probe = await probeOverlay(store.root, maps);
  const choice: DriverChoice = probe.ok
    ? { driver: 'overlay', reason: 'kernel overlayfs mounts in a user namespace here' }
    : { driver: 'vfs', reason: `overlayfs is refused here (${probe.reason}): layers are copied per container` };
  await writeFileAtomic(cacheFile, `${JSON.stringify({ ...choice, kernel: release() })}\n`, 0o600);
  return choice;
}
