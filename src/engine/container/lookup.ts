import { ContainerError, type ExitCode } from '../../errors.js';
import { removeOwnedTrees } from '../../runtime/owned-trees.js';
import { ContainerStore, type ContainerRecord, type CorruptContainer } from '../../store/containers.js';
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
  // Read when first needed (removing, starting): ps and stop mostly do without.
  let idMaps: ContainerIdMaps | undefined;
  const opened: OpenedContainers = {
    containers,
    get idMaps() {
      return (idMaps ??= containerIdMaps());
    },
  };
  const leftovers = containers.leftovers();
  if (leftovers.length > 0) await removeOwnedTrees(opened.idMaps, leftovers);
  return opened;
}

/** The container a user named has a record that cannot be used. */
export class CorruptContainerError extends ContainerError {
  constructor(
    readonly container: CorruptContainer,
    ref: string,
    exitCode: ExitCode,
  ) {
    super(`the record of container ${ref} is corrupt: ${container.file}: ${container.reason}`, `remove the container with: nook rm -f ${ref}`, exitCode);
  }
}

/**
 * The container a user named: by name, by full id, or by a prefix of its id that no other
 * container shares (as podman). `missing` is the exit code when there is none (rm says 1).
 * One whose record is corrupt is a CorruptContainerError, for rm -f to take.
 */
export function findContainer(containers: ContainerStore, ref: string, missing: ExitCode = 125): ContainerRecord {
  const byName = containers.nameTarget(ref);
  if (byName !== null) {
    const loaded = containers.load(byName);
    if (loaded.kind === 'valid' && loaded.record.name === ref) return loaded.record;
    if (loaded.kind === 'corrupt') throw new CorruptContainerError(loaded.container, ref, missing);
  }
  if (/^[0-9a-f]{1,64}$/.test(ref)) {
    const matches = containers.ids().filter((id) => id.startsWith(ref) && containers.exists(id));
    if (matches.length > 1) {
      throw new ContainerError(`more than one container has an ID starting with "${ref}"`, 'give more of the ID, or the container\'s name');
    }
    if (matches.length === 1) {
      const loaded = containers.load(matches[0]!);
      if (loaded.kind === 'valid') return loaded.record;
      if (loaded.kind === 'corrupt') throw new CorruptContainerError(loaded.container, ref, missing);
    }
  }
  throw new ContainerError(`no container with name or ID "${ref}" found`, 'see "nook ps -a" for the containers there are', missing);
}
