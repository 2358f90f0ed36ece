import { mkdirSync } from 'node:fs';
import { join, posix } from 'node:path';
import { ContainerError, UsageError } from '../errors.js';
import { effectiveCommand } from '../image/run-config.js';
import { flattenLayers } from '../image/flatten/run.js';
import { DEFAULT_PATH } from '../plan/hardening.js';
import type { NetworkMode } from '../plan/spec.js';
import { resolveLayeredPath } from '../rootfs/layered.js';
import { existsInRoot } from '../rootfs/resolve.js';
import { resolveUser } from '../rootfs/users.js';
import { ContainerStore, NameInUseError, type ContainerRecord, type RestartPolicy } from '../store/containers.js';
import { storeRoot } from '../store/paths.js';
import { containerIdMaps, type ContainerIdMaps } from '../sys/idmap.js';
import { openContainers } from './container-lookup.js';
import { prepareDirectoryRoot, prepareImageRoot, removeContainerDir, type PreparedRoot, type RunSource } from './container-root.js';
import { randomId } from './random-id.js';
import { randomName } from './random-name.js';
import type { MountRequest } from './mount-request.js';
import { resolveMounts } from './mounts.js';
import type { SecurityOptions } from './security.js';

/** Everything `nook create` (and run) is asked for. */
export interface CreateOptions {
  readonly source: RunSource;
  readonly name: string | undefined;
  /** --entrypoint: replaces the image's, and drops its Cmd. */
  readonly entrypoint: readonly string[] | undefined;
  readonly command: readonly string[];
  /** -e and --env-file, in command-line order (files expanded). */
  readonly env: readonly string[];
  readonly workdir: string | undefined;
  readonly hostname: string | undefined;
  readonly user: string | undefined;
  readonly readOnly: boolean;
  /** --init: a tiny init as PID 1, reaping orphans and passing signals on to the command. */
  readonly init: boolean;
  /** -v, --mount, --tmpfs */
  readonly mounts: readonly MountRequest[];
  readonly network: NetworkMode;
  readonly security: SecurityOptions;
  readonly tty: boolean;
  readonly interactive: boolean;
  readonly restart: RestartPolicy;
  readonly remove: boolean;
  /** --stop-signal, --stop-timeout: what stop sends first, and how long it waits. */
  readonly stopSignal: string | undefined;
  readonly stopTimeout: number | undefined;
}

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

const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,62})$/;

/** podman's stop timeout when the image and the command line say nothing. */
const DEFAULT_STOP_TIMEOUT = 10;

/** A `K=V` list (an image's, a container's) as an object; entries without a name are ignored. */
export function envObject(list: readonly string[]): Record<string, string> {
  const entries = list.flatMap((kv) => {
    const eq = kv.indexOf('=');
    return eq > 0 ? [[kv.slice(0, eq), kv.slice(eq + 1)] as const] : [];
  });
  return Object.fromEntries(entries);
}

/** podman's environment: defaults, then -e K=V in order; a bare -e K copies the host's K. */
export function containerEnv(defaults: Record<string, string>, assignments: readonly string[]): string[] {
  const env = new Map(Object.entries(defaults));
  for (const item of assignments) {
    const eq = item.indexOf('=');
    const key = eq < 0 ? item : item.slice(0, eq);
    if (key === '' || key.includes('\0')) throw new UsageError(`invalid environment variable "${item}"`, 'use -e NAME=VALUE or -e NAME');
    if (eq >= 0) env.set(key, item.slice(eq + 1));
    else if (process.env[key] !== undefined) env.set(key, process.env[key]!);
  }
  return [...env].map(([k, v]) => `${k}=${v}`);
}

export function normalPath(path: string): string {
  // The runtime takes container paths only in normal form.
  return posix.normalize(path).replace(/(.)\/+$/, '$1');
}

function checkOptions(opts: CreateOptions): void {
  if (opts.workdir !== undefined && !opts.workdir.startsWith('/')) {
    throw new UsageError(`working directory "${opts.workdir}" is not an absolute path`, 'give -w a path inside the container starting with /');
  }
  if (opts.hostname !== undefined && !HOSTNAME.test(opts.hostname)) {
    throw new UsageError(`invalid hostname "${opts.hostname}"`, 'use up to 64 letters, digits, dots and dashes');
  }
}

function containerCommand(opts: CreateOptions, root: PreparedRoot): readonly string[] {
  if (opts.source.kind === 'rootfs') {
    if (opts.command.length > 0) return opts.command;
    if (root.rootfs.kind === 'directory' && existsInRoot(root.rootfs.path, '/bin/sh')) return ['/bin/sh'];
    throw new UsageError(
      `no command given, and rootfs "${opts.source.path}" has no /bin/sh to run by default`,
      `name the command: nook run --rootfs ${opts.source.path} -- CMD [ARG...]`,
    );
  }
  const argv = effectiveCommand(root.config!, opts.entrypoint, opts.command);
  if (argv.length === 0) {
    throw new UsageError(`no command given, and image ${opts.source.name} has no ENTRYPOINT or CMD`, `name the command: nook run ${opts.source.name} CMD [ARG...]`);
  }
  return argv;
}

async function prepareRoot(opts: CreateOptions, idMaps: ContainerIdMaps, id: string, dryRun: boolean, warn: (line: string) => void): Promise<PreparedRoot> {
  if (opts.source.kind === 'rootfs') return prepareDirectoryRoot(opts.source.path);
  const { openStore } = await import('../store/store.js');
  const { chooseStorageDriver } = await import('./storage-driver.js');
  const { ensureImage } = await import('./auto-pull.js');
  const store = await openStore();
  if (!dryRun) await ensureImage(store, idMaps, opts.source.name, opts.source.pull, warn);
  const { driver } = await chooseStorageDriver(store, idMaps, opts.source.storageDriver);
  return prepareImageRoot(store, idMaps, opts.source.name, id, { dryRun, driver });
}

/** Claims the asked-for name, or a random free one. */
function claimName(containers: ContainerStore, opts: CreateOptions, id: string): string {
  if (opts.name !== undefined) {
    try {
      containers.claimName(opts.name, id);
      return opts.name;
    } catch (err) {
      if (!(err instanceof NameInUseError)) throw err;
      throw new ContainerError(
        `the container name "${opts.name}" is already in use by ${err.holder.slice(0, 12)}`,
        `remove that container (nook rm ${opts.name}) or choose another name with --name`,
      );
    }
  }
  for (;;) {
    const name = randomName();
    try {
      containers.claimName(name, id);
      return name;
    } catch (err) {
      if (!(err instanceof NameInUseError)) throw err;
    }
  }
}

/**
 * Creates a container: claims its name, prepares its root (the image's layers under an
 * upper dir of its own), decides user, command, environment and volumes, and writes the
 * record, the moment the container starts to exist. A failure or a kill before that leaves
 * only what the next command's sweep removes.
 */
export async function createContainer(opts: CreateOptions, io: CreateIO): Promise<Created> {
  checkOptions(opts);
  const { containers, idMaps } = await openContainers();
  const id = randomId();
  const dir = containers.begin(id);
  let name: string | null = null;
  try {
    name = claimName(containers, opts, id);
    const root = await prepareRoot(opts, idMaps, id, false, io.warn);
    const { record } = await decide(opts, idMaps, { id, name, dir, root });
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
  checkOptions(opts);
  const containers = new ContainerStore(storeRoot());
  const idMaps = containerIdMaps();
  const id = randomId();
  const root = await prepareRoot(opts, idMaps, id, true, io.warn);
  const { record } = await decide(opts, idMaps, { id, name: opts.name ?? 'explained', dir: containers.path(id), root, dryRun: true });
  return { record, root, containers, idMaps };
}

/**
 * Resolves a container path through the root's symlinks, inside the root; left as it is
 * when it cannot be (a loop): the runtime then refuses it with the path named.
 */
function pathResolver(root: PreparedRoot): (path: string) => string {
  const layers = root.layers.length > 0 ? [...root.layers].reverse() : root.rootfs.kind === 'directory' ? [root.rootfs.path] : [];
  return (path) => resolveLayeredPath(layers, path) ?? path;
}

async function decide(
  opts: CreateOptions,
  idMaps: ContainerIdMaps,
  c: { id: string; name: string; dir: string; root: PreparedRoot; dryRun?: boolean },
): Promise<{ record: ContainerRecord }> {
  const config = c.root.config;
  const userSpec = opts.user ?? (config?.user || '0');
  const user = resolveUser(c.root.files, userSpec, idMaps);
  const argv = containerCommand(opts, c.root);
  const hostname = opts.hostname ?? c.id.slice(0, 12);
  const env = containerEnv(
    {
      PATH: DEFAULT_PATH,
      TERM: 'xterm',
      container: 'nook',
      HOSTNAME: hostname,
      HOME: user.uid === 0 && user.home === '/' ? '/root' : user.home,
      ...envObject(config?.env ?? []),
    },
    opts.env,
  );
  const volumes = await resolveMounts(opts.mounts, config?.volumes ?? [], { dryRun: c.dryRun === true, stateDir: c.dir });
  const inRoot = pathResolver(c.root);
  try {
    // As podman: a new volume starts with what the image has at its mount point.
    for (const volume of volumes.created) {
      if (c.root.layers.length > 0) await flattenLayers(idMaps, { layers: c.root.layers, target: volume.dataPath, subpath: inRoot(volume.destination) });
    }
  } catch (err) {
    // Volumes made for this container alone would outlive it with nothing to use them.
    const { deleteVolumes } = await import('./volume-commands.js');
    await deleteVolumes(volumes.anonymous).catch(() => undefined);
    throw err;
  }
  // A tmpfs is mounted where the image's links lead (the runtime refuses links in its path).
  const mounts = volumes.mounts.map((m) => (m.kind === 'tmpfs' ? { ...m, destination: inRoot(m.destination) } : m));
  if (!c.dryRun) mkdirSync(join(c.dir, 'userdata'), { mode: 0o700 });
  const record: ContainerRecord = {
    id: c.id,
    name: c.name,
    created: new Date().toISOString(),
    image: opts.source.kind === 'image' ? { name: opts.source.name, id: c.root.imageId! } : null,
    rootfsDir: opts.source.kind === 'rootfs' && c.root.rootfs.kind === 'directory' ? c.root.rootfs.path : null,
    rootfs: c.root.rootfs,
    entrypoint: opts.entrypoint ?? null,
    argv,
    env,
    workdir: normalPath(opts.workdir ?? (config?.workingDir || '/')),
    hostname,
    user: { uid: user.uid, gid: user.gid, groups: user.groups, spec: userSpec },
    readOnly: opts.readOnly,
    init: opts.init,
    mounts,
    volumes: volumes.names,
    anonymousVolumes: volumes.anonymous,
    network: opts.network,
    security: opts.security,
    tty: opts.tty,
    interactive: opts.interactive,
    restart: opts.restart,
    autoRemove: opts.remove,
    stopSignal: opts.stopSignal ?? (config?.stopSignal || 'SIGTERM'),
    stopTimeout: opts.stopTimeout ?? DEFAULT_STOP_TIMEOUT,
  };
  return { record };
}
