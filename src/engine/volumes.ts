import { readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { removeAsContainerRoot } from '../image/extract/run.js';
import { withStoreLock } from '../store/lock.js';
import { storeRoot } from '../store/paths.js';
import { VolumeStore } from '../store/volumes.js';
import { containerIdMaps } from '../sys/idmap.js';
import { runtimeDirPath } from '../sys/paths.js';
import { VOLUMES_FILE } from './mounts.js';
import { liveRunDirs } from './stale-runs.js';

/** The volume store, and the store lock under which its list changes. */
export function openVolumes(): { volumes: VolumeStore; locked: <T>(fn: () => Promise<T>) => Promise<T> } {
  const root = storeRoot();
  const locked = async <T>(fn: () => Promise<T>): Promise<T> => {
    await mkdir(root, { recursive: true, mode: 0o700 });
    return withStoreLock(root, () => fn());
  };
  return { volumes: new VolumeStore(root), locked };
}

/** Volume names used by containers running now, each with one container's id. */
export function volumesInUse(): Map<string, string> {
  const inUse = new Map<string, string>();
  for (const dir of liveRunDirs(join(runtimeDirPath(), 'containers'))) {
    let names: string[];
    try {
      names = readFileSync(join(dir, VOLUMES_FILE), 'utf8').split('\n');
    } catch {
      continue;
    }
    for (const name of names) if (name) inUse.set(name, basename(dir));
  }
  return inUse;
}

/**
 * Deletes detached volume dirs. What containers wrote may belong to any container id, which
 * only container root may remove; usually it is all the user's, and the plain removal
 * saves a user-namespace launch.
 */
export async function deleteVolumeDirs(paths: readonly string[]): Promise<void> {
  const left: string[] = [];
  for (const path of paths) {
    await rm(path, { recursive: true, force: true }).catch(() => left.push(path));
  }
  if (left.length > 0) await removeAsContainerRoot(containerIdMaps(), left);
}
