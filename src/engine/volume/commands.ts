import { VolumeError } from '../../errors.js';
import type { VolumeRecord } from '../../store/volumes.js';
import { promptLine } from '../shared/prompt.js';
import { randomId } from '../shared/random-id.js';
import { isVolumeName } from '../container/mount-request.js';
import { deleteVolumeDirs, openVolumes, volumesInUse } from './store.js';

export interface VolumeIO {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

/** podman's `volume inspect` shape (and `volume ls --format json`). */
function podmanShape(v: VolumeRecord): Record<string, unknown> {
  return {
    Name: v.name,
    Driver: 'local',
    Mountpoint: v.mountpoint,
    CreatedAt: v.createdAt,
    Labels: {},
    Scope: 'local',
    Options: {},
    ...(v.anonymous ? { Anonymous: true } : {}),
  };
}

export async function createVolume(name: string | undefined, io: VolumeIO): Promise<number> {
  if (name !== undefined && !isVolumeName(name)) {
    throw new VolumeError(`invalid volume name "${name}"`, 'volume names are letters, digits and _.- and start with a letter or digit');
  }
  const chosen = name ?? randomId();
  const { volumes, locked } = openVolumes();
  if (!(await locked(() => volumes.create(chosen, false)))) {
    throw new VolumeError(`volume with name ${chosen} already exists`, `use it as it is, or "nook volume rm ${chosen}" first`);
  }
  io.out(chosen);
  return 0;
}

export async function listVolumes(options: { format: 'table' | 'json'; quiet: boolean }, io: VolumeIO): Promise<number> {
  const { volumes } = openVolumes();
  const list = await volumes.list();
  if (options.quiet) for (const v of list) io.out(v.name);
  else if (options.format === 'json') io.out(JSON.stringify(list.map(podmanShape), null, 4));
  else {
    io.out('DRIVER      VOLUME NAME');
    for (const v of list) io.out(`local       ${v.name}`);
  }
  return 0;
}

export async function inspectVolumes(names: readonly string[], io: VolumeIO): Promise<number> {
  const { volumes } = openVolumes();
  const found: VolumeRecord[] = [];
  for (const name of names) {
    const record = isVolumeName(name) ? await volumes.read(name) : null;
    if (record === null) throw new VolumeError(`no such volume ${name}`, 'see "nook volume ls"');
    found.push(record);
  }
  io.out(JSON.stringify(found.map(podmanShape), null, 4));
  return 0;
}

/**
 * Takes the volumes out of the list under the store lock (a run records the volumes it
 * mounts under the same lock), then deletes them outside it: deleting may be slow.
 */
async function removeUnused(names: readonly string[], missingOk: boolean): Promise<string[]> {
  const { volumes, locked } = openVolumes();
  const detached = await locked(async () => {
    const inUse = volumesInUse();
    for (const name of names) {
      const user = inUse.get(name);
      if (user !== undefined) throw new VolumeError(`volume ${name} is being used by container ${user.slice(0, 12)}`, 'remove it once that container has exited');
      if (!missingOk && (!isVolumeName(name) || (await volumes.read(name)) === null)) throw new VolumeError(`no volume with name "${name}" found`, 'see "nook volume ls"');
    }
    const removed: { name: string; path: string }[] = [];
    for (const name of names) {
      const path = isVolumeName(name) ? await volumes.detach(name) : null;
      if (path !== null) removed.push({ name, path });
    }
    return removed;
  });
  await deleteVolumeDirs([...detached.map((d) => d.path), ...(await volumes.staleDetached())]);
  return detached.map((d) => d.name);
}

export async function removeVolumes(options: { names: readonly string[]; force: boolean }, io: VolumeIO): Promise<number> {
  for (const name of await removeUnused(options.names, options.force)) io.out(name);
  return 0;
}

/** Removes the given volumes without asking whether they are in use (a run's anonymous ones). */
export async function deleteVolumes(names: readonly string[]): Promise<void> {
  if (names.length === 0) return;
  const { volumes } = openVolumes();
  const paths = await Promise.all(names.map((n) => volumes.detach(n)));
  await deleteVolumeDirs(paths.filter((p): p is string => p !== null));
}

export async function pruneVolumes(options: { force: boolean }, io: VolumeIO): Promise<number> {
  if (!options.force) {
    const answer = await promptLine('WARNING! This will remove all volumes not used by at least one container.\nAre you sure you want to continue? [y/N] ', 'confirmation', '-f');
    if (!/^y(es)?$/i.test(answer)) return 0;
  }
  const { volumes, locked } = openVolumes();
  const detached = await locked(async () => {
    const inUse = volumesInUse();
    const removed: { name: string; path: string }[] = [];
    for (const { name } of await volumes.list()) {
      if (inUse.has(name)) continue;
      const path = await volumes.detach(name);
      if (path !== null) removed.push({ name, path });
    }
    return removed;
  });
  await deleteVolumeDirs([...detached.map((d) => d.path), ...(await volumes.staleDetached())]);
  for (const { name } of detached) io.out(name);
  return 0;
}
