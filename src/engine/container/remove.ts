import type { ContainerRecord, ContainerStore } from '../../store/containers.js';
import type { ContainerIdMaps } from '../../sys/idmap.js';
import { removeContainerDir } from './remove-dir.js';

/**
 * Removes a container that is not running: its name and dir at once (renamed aside, so a
 * kill from here on leaves a temp dir the next sweep deletes), then its files, and with
 * `volumes` its anonymous volumes. False if another command removed it first.
 */
export async function removeContainer(containers: ContainerStore, idMaps: ContainerIdMaps, record: ContainerRecord, options: { volumes: boolean }): Promise<boolean> {
  let doomed: string;
  try {
    doomed = containers.detach(record);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  await removeContainerDir(idMaps, doomed);
  if (options.volumes && record.anonymousVolumes.length > 0) {
    const { deleteVolumes } = await import('../volume/commands.js');
    await deleteVolumes(record.anonymousVolumes);
  }
  return true;
}
