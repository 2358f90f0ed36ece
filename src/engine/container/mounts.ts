import { statSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { VolumeError } from '../../errors.js';
import type { ContainerMount } from '../../plan/spec.js';
import { flattenLayers } from '../../image/flatten/run.js';
import { VOLUMES_FILE } from '../../store/volumes.js';
import type { ContainerIdMaps } from '../../sys/idmap.js';
import { randomId } from '../shared/random-id.js';
import type { MountRequest } from './mount-request.js';
import { inRootResolver, type PreparedRoot } from './root.js';

/** The container's volumes, and the anonymous ones made for it (removed with --rm). */
export interface ResolvedMounts {
  readonly mounts: readonly ContainerMount[];
  /** Every volume mounted, named or anonymous. */
  readonly names: readonly string[];
  readonly anonymous: readonly string[];
  /** Volumes this run created, with where they are mounted: podman fills them from the image. */
  readonly created: readonly { readonly dataPath: string; readonly destination: string }[];
}

/** Whether a bind source is a directory; a missing one is refused before anything is made. */
function sourceIsDirectory(source: string): boolean {
  try {
    return statSync(source).isDirectory();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file or directory' : code === 'EACCES' ? 'permission denied' : String(code);
    throw new VolumeError(`statfs ${source}: ${reason}`, 'a bind mount needs an existing host path; create it first');
  }
}

/**
 * Decides the container's volumes: bind sources checked, named volumes created on first
 * use, an anonymous volume for each of the image's VOLUME paths nothing else is mounted on.
 * Unless `dryRun`, the names are recorded in the run's state dir under the store lock
 * before the volumes are made, so a concurrent `volume rm`/`prune` either sees them in use
 * or has removed them already (and they are made afresh).
 */
export async function resolveMounts(
  requests: readonly MountRequest[],
  imageVolumes: readonly string[],
  options: { dryRun: boolean; stateDir: string },
): Promise<ResolvedMounts> {
  const taken = new Set(requests.map((r) => r.destination));
  const implied: MountRequest[] = imageVolumes
    .map((path) => posix.normalize(path).replace(/(.)\/+$/, '$1'))
    .filter((dst) => dst.startsWith('/') && dst !== '/' && !taken.has(dst))
    .map((dst) => ({ kind: 'volume', name: undefined, destination: dst, readOnly: false, options: [], propagation: 'private' }));
  const all = [...requests, ...implied];
  const binds = new Map(all.flatMap((r) => (r.kind === 'bind' ? [[r.source, sourceIsDirectory(r.source)] as const] : [])));
  const names = all.map((r) => (r.kind === 'volume' ? (r.name ?? randomId()) : ''));
  const anonymous = all.flatMap((r, i) => (r.kind === 'volume' && r.name === undefined ? [names[i]!] : []));
  // Loaded only when there are volumes: the lock and its package cost start-up time.
  const store = names.some((n) => n) ? (await import('../volume/store.js')).openVolumes() : null;
  const created: { dataPath: string; destination: string }[] = [];
  if (store !== null && !options.dryRun) {
    const { volumes, locked } = store;
    await locked(async () => {
      writeFileSync(join(options.stateDir, VOLUMES_FILE), names.filter((n) => n).map((n) => `${n}\n`).join(''), { mode: 0o600 });
      for (const [i, name] of names.entries()) {
        if (name && (await volumes.create(name, anonymous.includes(name)))) created.push({ dataPath: volumes.dataPath(name), destination: all[i]!.destination });
      }
    });
  }
  const mounts = all.map((r, i): ContainerMount => {
    if (r.kind === 'tmpfs') return r;
    const source = r.kind === 'bind' ? r.source : store!.volumes.dataPath(names[i]!);
    const directory = r.kind === 'bind' ? binds.get(r.source)! : true;
    return { kind: 'bind', source, destination: r.destination, directory, readOnly: r.readOnly, options: r.options, propagation: r.propagation };
  });
  return { mounts, names: names.filter((n) => n), anonymous, created };
}

/**
 * A new container's mounts: those asked for and the image's volumes (resolveMounts); each
 * volume made for it filled from the image, as podman does; tmpfs targets resolved through
 * the image's links, which the runtime refuses in a tmpfs path.
 */
export async function containerMounts(
  requests: readonly MountRequest[],
  root: PreparedRoot,
  maps: ContainerIdMaps,
  options: { dryRun: boolean; stateDir: string },
): Promise<ResolvedMounts> {
  const volumes = await resolveMounts(requests, root.config?.volumes ?? [], options);
  const inRoot = inRootResolver(root);
  try {
    for (const volume of volumes.created) {
      if (root.layers.length > 0) await flattenLayers(maps, { layers: root.layers, target: volume.dataPath, subpath: inRoot(volume.destination) });
    }
  } catch (err) {
    // Volumes made for this container alone would outlive it with nothing to use them.
    const { deleteVolumes } = await import('../volume/commands.js');
    await deleteVolumes(volumes.anonymous).catch(() => undefined);
    throw err;
  }
  const mounts = volumes.mounts.map((m) => (m.kind === 'tmpfs' ? { ...m, destination: inRoot(m.destination) } : m));
  return { ...volumes, mounts };
}
