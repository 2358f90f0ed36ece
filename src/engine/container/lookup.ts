import { ContainerError, type ExitCode } from '../../errors.js';
import { removeOwnedTrees } from '../../image/extract/run.js';
import { ContainerStore, type ContainerRecord } from '../../store/containers.js';
import { storeRoot } from '../../store/paths.js';
import { containerIdMaps, type ContainerIdMaps } from '../../sys/idmap.js';

/** The container store, with the id maps its files are owned through. */
export interface OpenedContainers {
  readonly containers: ContainerStore;
  readonly idMaps: ContainerIdMaps;
}

/**
 * The container store, with what killed commands left behind removed first: half-made
 * containers, half-removed ones, names nothing holds.
 */
export async function openContainers(): Promise<OpenedContainers> {
  const containers = new ContainerStore(storeRoot());
  const idMaps = containerIdMaps();
  const leftovers = containers.leftovers();
  if (leftovers.length > 0) await removeOwnedTrees(idMaps, leftovers);
  return { containers, idMaps };
}

/**
 * The container a user named: by name, by full id, or by a prefix of its id that no other
 * container shares (as podman). `missing` is the exit code when there is none (rm says 1).
 */
export function findContainer(containers: ContainerStore, ref: string, missing: ExitCode = 125): ContainerRecord {
  const byName = containers.nameTarget(ref);
  if (byName !== null) {
    const record = containers.read(byName);
    if (record !== null && record.name === ref) return record;
  }
  if (/^[0-9a-f]{1,64}$/.test(ref)) {
    const matches = containers.ids().filter((id) => id.startsWith(ref));
    const records = matches.flatMap((id) => {
      const record = containers.read(id);
      return record ? [record] : [];
    });
    if (records.length === 1) return records[0]!;
    if (records.length > 1) {
      throw new ContainerError(`more than one container has an ID starting with "${ref}"`, 'give more of the ID, or the container\'s name');
    }
  }
  throw new ContainerError(`no container with name or ID "${ref}" found`, 'see "nook ps -a" for the containers there are', missing);
}
