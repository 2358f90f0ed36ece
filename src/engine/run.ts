import { closeSync, mkdirSync, openSync, readSync, rmdirSync, statSync, unlinkSync } from 'node:fs';
import { join, posix, resolve } from 'node:path';
import { RootfsError, UsageError } from '../errors.js';
import { capabilityMask, DEFAULT_CAPABILITIES } from '../plan/capabilities.js';
import { compilePlan } from '../plan/compile.js';
import { encodePlan } from '../plan/encode.js';
import { explainPlan } from '../plan/explain.js';
import { DEFAULT_PATH } from '../plan/hardening.js';
import type { ContainerSpec, NetworkMode } from '../plan/spec.js';
import { resolveInRoot } from '../rootfs/resolve.js';
import { resolveUser } from '../rootfs/users.js';
import { launchRuntime } from '../runtime/launch.js';
import { reportToError } from '../runtime/report-error.js';
import { containerIdMaps } from '../sys/idmap.js';
import { runtimeDir, runtimeDirPath } from '../sys/paths.js';
import { etcFilePaths, renderEtcFiles, writeEtcFiles } from './etc-files.js';

export interface RunOptions {
  readonly rootfs: string;
  readonly command: readonly string[];
  readonly env: readonly string[];
  readonly workdir: string | undefined;
  readonly hostname: string | undefined;
  readonly user: string | undefined;
  readonly readOnly: boolean;
  readonly network: NetworkMode;
  readonly noNewPrivs: boolean;
  readonly remove: boolean;
  readonly explain: boolean;
}

export interface RunIO {
  readonly out: (line: string) => void;
  readonly warn: (line: string) => void;
}

const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,62})$/;

function checkRootfs(path: string): string {
  const root = resolve(path);
  let isDir: boolean;
  try {
    isDir = statSync(root).isDirectory();
  } catch {
    throw new RootfsError(`rootfs "${path}" does not exist`, 'give --rootfs a directory that holds a root filesystem (e.g. an extracted busybox or Alpine tree)');
  }
  if (!isDir) throw new RootfsError(`rootfs "${path}" is not a directory`, 'give --rootfs a directory that holds a root filesystem');
  return root;
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

function pickCommand(root: string, rootfsArg: string, command: readonly string[]): readonly string[] {
  if (command.length > 0) return command;
  if (resolveInRoot(root, '/bin/sh') !== null) return ['/bin/sh'];
  throw new UsageError(
    `no command given, and rootfs "${rootfsArg}" has no /bin/sh to run by default`,
    `name the command: nook run --rootfs ${rootfsArg} -- CMD [ARG...]`,
  );
}

/** 64 hex digits, as podman's ids. Read from /dev/urandom: loading node:crypto costs ~3 ms. */
function randomId(): string {
  const fd = openSync('/dev/urandom', 'r');
  try {
    const bytes = Buffer.alloc(32);
    readSync(fd, bytes, 0, 32, null);
    return bytes.toString('hex');
  } finally {
    closeSync(fd);
  }
}

/** Removes exactly what a run created (fs.rmSync's recursive walk costs ~2 ms here). */
function removeStateDir(dir: string, files: readonly string[]): void {
  for (const file of files) {
    try {
      unlinkSync(file);
    } catch {
      // never written: the run failed before
    }
  }
  rmdirSync(dir);
}

/** Builds the container the options describe and runs it in the foreground; returns its exit code. */
export async function runContainer(opts: RunOptions, io: RunIO): Promise<number> {
  const root = checkRootfs(opts.rootfs);
  if (opts.workdir !== undefined && !opts.workdir.startsWith('/')) {
    throw new UsageError(`working directory "${opts.workdir}" is not an absolute path`, 'give -w a path inside the container starting with /');
  }
  if (opts.hostname !== undefined && !HOSTNAME.test(opts.hostname)) {
    throw new UsageError(`invalid hostname "${opts.hostname}"`, 'use up to 64 letters, digits, dots and dashes');
  }
  const idMaps = containerIdMaps();
  const user = resolveUser(root, opts.user ?? '0', idMaps);
  const argv = pickCommand(root, opts.rootfs, opts.command);
  const id = randomId();
  const hostname = opts.hostname ?? id.slice(0, 12);
  const env = containerEnv(
    { PATH: DEFAULT_PATH, TERM: 'xterm', container: 'nook', HOSTNAME: hostname, HOME: user.uid === 0 && user.home === '/' ? '/root' : user.home },
    opts.env,
  );
  const stateDir = join(opts.explain ? runtimeDirPath() : runtimeDir(), 'containers', id);
  const etcFiles = etcFilePaths(stateDir);
  const spec: ContainerSpec = {
    id,
    rootfs: { kind: 'directory', path: root },
    uidMap: idMaps.uid,
    gidMap: idMaps.gid,
    network: opts.network,
    hostname,
    readOnly: opts.readOnly,
    etcFiles,
    // The runtime takes container paths only in normal form.
    workdir: opts.workdir === undefined ? '/' : posix.normalize(opts.workdir).replace(/(.)\/+$/, '$1'),
    user,
    capabilities: capabilityMask(DEFAULT_CAPABILITIES),
    noNewPrivs: opts.noNewPrivs,
    argv,
    env,
  };
  const plan = compilePlan(spec);
  if (opts.explain) {
    for (const line of explainPlan(plan)) io.out(line);
    return 0;
  }
  if (idMaps.warning !== null) io.warn(`WARN: ${idMaps.warning}`);

  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  try {
    writeEtcFiles(etcFiles, renderEtcFiles(hostname, opts.network));
    const result = await launchRuntime(encodePlan(plan), stateDir);
    if (result.report !== null) throw reportToError(result.report, { rootfs: opts.rootfs });
    return result.status;
  } finally {
    // Until containers are kept in the store (lifecycle), every run is removed on exit.
    removeStateDir(stateDir, Object.values(etcFiles));
  }
}
