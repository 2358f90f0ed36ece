import { chmod } from 'node:fs';
import { join } from 'node:path';
import { removeOwnedTrees } from '../../runtime/owned-trees.js';
import type { ContainerIdMaps } from '../../sys/idmap.js';

/**
 * Removes a container's store dir. The upper dir holds files of container ids, which only
 * container root may remove; overlayfs leaves work/work mode 000: opened up first. Apart
 * from root.ts (what preparing a root needs), for rm and ps, which remove containers.
 */
export async function removeContainerDir(maps: ContainerIdMaps, dir: string): Promise<void> {
  await new Promise<void>((resolve) => chmod(join(dir, 'work', 'work'), 0o700, () => resolve()));
  await removeOwnedTrees(maps, [dir]);
}
