import { mkdir } from 'node:fs/promises';
import { removeOwnedTrees } from '../../runtime/owned-trees.js';
import { withStoreLock } from '../../store/lock.js';
import { storeRoot } from '../../store/paths.js';
import { VOLUMES_FILE, VolumeStore } from '../../store/volumes.js';
import { containerIdMaps } from '../../sys/idmap.js';
import { ContainerStore } from '../../store/containers.js';

/** The volume store, and the store lock under which its list changes. */
export function openVolumes(): { volumes: VolumeStore; locked: <T>(fn: () => Promise<T>) => Promise<T> } {
  const root = storeRoot();
  const locked = async <T>(fn: () => Promise<T>): Promise<T> => {
    await mkdir(root, { recursive: true, mode: 0o700 });
    return withStoreLock(root, () => fn());
  };
  return { volumes: new VolumeStore(root), locked };
}

/** Volume names used by containers (running or not, as podman), each with one container's id. */
export function volumesInUse(): Map<string, string> {
  return new ContainerStore(storeRoot()).usedBy(VOLUMES_FILE);
}

/** Deletes detached volume dirs (what containers wrote may belong to any container id). */
export async function deleteVolumeDirs(paths: readonly string[]): Promise<void> {
  await removeOwnedTrees(containerIdMaps(), paths);
}
