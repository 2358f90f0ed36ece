import { ContainerStore, type ContainerRecord } from '../../store/containers.js';
import { storeRoot } from '../../store/paths.js';
import { containerIdMaps, type ContainerIdMaps } from '../../sys/idmap.js';
import { resolveNetwork } from '../network/resolve.js';
import { randomId } from '../shared/random-id.js';
import { checkCreateOptions, type CreateOptions } from './create-options.js';
import { openContainers } from './lookup.js';
import { buildRecord, claimNewName } from './record.js';
import { prepareContainerRoot, removeContainerDir, type PreparedRoot } from './root.js';

export interface CreateIO {
  readonly warn: (line: string) => void;
}

/** A container just created: its record, and its root as prepared (for the run that follows). */
export interface Created {
  readonly record: ContainerRecord;
  readonly root: PreparedRoot;
  readonly containers: ContainerStore;
  readonly idMaps: ContainerIdMaps;
}

/**
 * Creates a container: claims its name, prepares its root (the image's layers under an
 * upper dir of its own), decides user, command, environment and volumes, and writes the
 * record, the moment the container starts to exist. A failure or a kill before that leaves
 * only what the next command's sweep removes.
 */
export async function createContainer(opts: CreateOptions, io: CreateIO): Promise<Created> {
  checkCreateOptions(opts);
  const { containers, idMaps } = await openContainers();
  const id = randomId();
  const dir = containers.begin(id);
  let name: string | null = null;
  try {
    name = claimNewName(containers, opts.name, id);
    const root = await prepareContainerRoot(opts.source, idMaps, id, { dryRun: false, warn: io.warn });
    const network = await resolveNetwork(opts.network, root.config?.exposedPorts ?? [], containers, io);
    const record = await buildRecord(opts, idMaps, { id, name, dir, root, network, dryRun: false });
    containers.commit(record);
    return { record, root, containers, idMaps };
  } catch (err) {
    if (name !== null) containers.releaseName(name, id);
    await removeContainerDir(idMaps, dir).catch(() => undefined);
    throw err;
  }
}

/** What `run --explain` shows: the container a create would make, with nothing written. */
export async function plannedContainer(opts: CreateOptions, io: CreateIO): Promise<Created> {
  checkCreateOptions(opts);
  const containers = new ContainerStore(storeRoot());
  const idMaps = containerIdMaps();
  const id = randomId();
  const root = await prepareContainerRoot(opts.source, idMaps, id, { dryRun: true, warn: io.warn });
  const network = await resolveNetwork(opts.network, root.config?.exposedPorts ?? [], containers, io);
  const record = await buildRecord(opts, idMaps, { id, name: opts.name ?? 'explained', dir: containers.path(id), root, network, dryRun: true });
  return { record, root, containers, idMaps };
}
