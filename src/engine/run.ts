import { mkdirSync, rmdirSync, rmSync, unlinkSync } from 'node:fs';
import { join, posix } from 'node:path';
import { UsageError } from '../errors.js';
import { compilePlan } from '../plan/compile.js';
import { encodePlan } from '../plan/encode.js';
import { explainPlan } from '../plan/explain.js';
import { DEFAULT_PATH } from '../plan/hardening.js';
import type { ContainerSpec, NetworkMode } from '../plan/spec.js';
import { resolveInRoot } from '../rootfs/resolve.js';
import { resolveUser } from '../rootfs/users.js';
import { launchRuntime } from '../runtime/launch.js';
import { reportToError } from '../runtime/report-error.js';
import { containerIdMaps, type ContainerIdMaps } from '../sys/idmap.js';
import { effectiveCommand } from '../image/run-config.js';
import { markOwner, OWNER_FILE, staleRunDirs } from './stale-runs.js';
import { prepareDirectoryRoot, prepareImageRoot, type PreparedRoot, type RunSource } from './container-root.js';
import { runtimeDir, runtimeDirPath } from '../sys/paths.js';
import { etcFilePaths, renderEtcFiles, writeEtcFiles } from './etc-files.js';
import { containerSecurity, type SecurityOptions } from './security.js';
import { randomId } from './random-id.js';
import type { MountRequest } from './mount-request.js';
import { resolveMounts, VOLUMES_FILE } from './mounts.js';
import { flattenLayers } from '../image/flatten/run.js';

export interface RunOptions {
  readonly source: RunSource;
  /** --entrypoint: replaces the image's, and drops its Cmd. */
  readonly entrypoint: readonly string[] | undefined;
  readonly command: readonly string[];
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
  readonly remove: boolean;
  readonly explain: boolean;
}

export interface RunIO {
  readonly out: (line: string) => void;
  readonly warn: (line: string) => void;
}

const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,62})$/;

/** An image's `K=V` list as an object; entries without a name are ignored. */
function envObject(list: readonly string[]): Record<string, string> {
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

function pickCommand(root: PreparedRoot, rootfsArg: string, command: readonly string[]): readonly string[] {
  if (command.length > 0) return command;
  if (root.rootfs.kind === 'directory' && resolveInRoot(root.rootfs.path, '/bin/sh') !== null) return ['/bin/sh'];
  throw new UsageError(
    `no command given, and rootfs "${rootfsArg}" has no /bin/sh to run by default`,
    `name the command: nook run --rootfs ${rootfsArg} -- CMD [ARG...]`,
  );
}

/** Removes exactly what a run created (fs.rmSync's recursive walk costs ~2 ms here). */
function removeStateDir(dir: string, files: readonly string[]): void {
  for (const file of [...files, join(dir, OWNER_FILE)]) {
    try {
      unlinkSync(file);
    } catch {
      // never written: the run failed before
    }
  }
  rmdirSync(dir);
}

async function deleteAnonymous(names: readonly string[]): Promise<void> {
  const { deleteVolumes } = await import('./volume-commands.js');
  await deleteVolumes(names);
}

function normalWorkdir(path: string): string {
  // The runtime takes container paths only in normal form.
  return posix.normalize(path).replace(/(.)\/+$/, '$1');
}

async function prepareRoot(opts: RunOptions, idMaps: ContainerIdMaps, id: string, warn: (line: string) => void): Promise<PreparedRoot> {
  if (opts.source.kind === 'rootfs') return prepareDirectoryRoot(opts.source.path);
  const { openStore } = await import('../store/store.js');
  const { chooseStorageDriver } = await import('./storage-driver.js');
  const { ensureImage } = await import('./auto-pull.js');
  const store = await openStore();
  if (!opts.explain) await ensureImage(store, idMaps, opts.source.name, opts.source.pull, warn);
  const { driver } = await chooseStorageDriver(store, idMaps, opts.source.storageDriver);
  return prepareImageRoot(store, idMaps, opts.source.name, id, { dryRun: opts.explain, driver });
}

function containerCommand(opts: RunOptions, root: PreparedRoot): readonly string[] {
  if (opts.source.kind === 'rootfs') return pickCommand(root, opts.source.path, opts.command);
  const argv = effectiveCommand(root.config!, opts.entrypoint, opts.command);
  if (argv.length === 0) {
    throw new UsageError(`no command given, and image ${opts.source.name} has no ENTRYPOINT or CMD`, `name the command: nook run ${opts.source.name} CMD [ARG...]`);
  }
  return argv;
}

/** Builds the container the options describe and runs it in the foreground; returns its exit code. */
export async function runContainer(opts: RunOptions, io: RunIO): Promise<number> {
  if (opts.workdir !== undefined && !opts.workdir.startsWith('/')) {
    throw new UsageError(`working directory "${opts.workdir}" is not an absolute path`, 'give -w a path inside the container starting with /');
  }
  if (opts.hostname !== undefined && !HOSTNAME.test(opts.hostname)) {
    throw new UsageError(`invalid hostname "${opts.hostname}"`, 'use up to 64 letters, digits, dots and dashes');
  }
  if (!opts.explain) {
    for (const dir of staleRunDirs(join(runtimeDirPath(), 'containers'))) rmSync(dir, { recursive: true, force: true });
  }
  const idMaps = containerIdMaps();
  const id = randomId();
  const root = await prepareRoot(opts, idMaps, id, io.warn);
  try {
    return await runPrepared(opts, io, idMaps, id, root);
  } finally {
    // Until containers are kept in the store (lifecycle), every run is removed on exit.
    await root.release();
  }
}

async function runPrepared(opts: RunOptions, io: RunIO, idMaps: ContainerIdMaps, id: string, root: PreparedRoot): Promise<number> {
  const config = root.config;
  const user = resolveUser(root.files, opts.user ?? (config?.user || '0'), idMaps);
  const argv = containerCommand(opts, root);
  const hostname = opts.hostname ?? id.slice(0, 12);
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
  const stateRoot = opts.explain ? runtimeDirPath() : runtimeDir();
  const stateDir = join(stateRoot, 'containers', id);
  const etcFiles = etcFilePaths(stateDir);
  if (!opts.explain) {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    markOwner(stateDir);
  }
  let anonymous: readonly string[] = [];
  try {
    const security = await containerSecurity(opts.security, opts.network, { dir: stateRoot, write: !opts.explain });
    const volumes = await resolveMounts(opts.mounts, config?.volumes ?? [], { dryRun: opts.explain, stateDir });
    anonymous = volumes.anonymous;
    // As podman: a new volume starts with what the image has at its mount point.
    for (const volume of volumes.created) {
      if (root.layers.length > 0) await flattenLayers(idMaps, { layers: root.layers, target: volume.dataPath, subpath: volume.destination });
    }
    const spec: ContainerSpec = {
      id,
      rootfs: root.rootfs,
      uidMap: idMaps.uid,
      gidMap: idMaps.gid,
      network: opts.network,
      hostname,
      readOnly: opts.readOnly,
      etcFiles,
      mounts: volumes.mounts,
      workdir: normalWorkdir(opts.workdir ?? (config?.workingDir || '/')),
      user,
      ...security,
      init: opts.init,
      argv,
      env,
    };
    const plan = compilePlan(spec);
    if (opts.explain) {
      for (const line of explainPlan(plan)) io.out(line);
      return 0;
    }
    if (idMaps.warning !== null) io.warn(`WARN: ${idMaps.warning}`);

    writeEtcFiles(etcFiles, renderEtcFiles(hostname, opts.network));
    const result = await launchRuntime(encodePlan(plan), stateDir);
    const label = opts.source.kind === 'rootfs' ? opts.source.path : opts.source.name;
    if (result.report !== null) throw reportToError(result.report, { rootfs: label });
    return result.status;
  } finally {
    if (!opts.explain) {
      removeStateDir(stateDir, [...Object.values(etcFiles), join(stateDir, VOLUMES_FILE)]);
      // podman's --rm takes the container's anonymous volumes with it.
      if (opts.remove && anonymous.length > 0) await deleteAnonymous(anonymous).catch((err: Error) => io.warn(`WARN: anonymous volumes not removed: ${err.message}`));
    }
  }
}
