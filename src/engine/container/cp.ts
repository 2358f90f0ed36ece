import { isAbsolute, resolve } from 'node:path';
import type { CopyEnd, CopyFailureKind, CopyRequest, CopyResult } from '../../copy/request.js';
import { NookError } from '../../errors.js';
import type { ContainerRecord } from '../../store/containers.js';
import { findContainer, openContainers } from './lookup.js';
import { containerStatus } from './state.js';
import { containerRootPath, runCopier } from './cp-launch.js';

/** The host side of `nook cp`: a path, or a tar stream on stdin/stdout (`-`). */
export type HostLocation = { readonly kind: 'host'; readonly path: string } | { readonly kind: 'stream' };

export interface CopyOptions {
  readonly container: string;
  /** As written: relative to the container's working directory; a trailing `/` or `/.` matters. */
  readonly containerPath: string;
  readonly host: HostLocation;
  /** `in`: from the host into the container. */
  readonly direction: 'in' | 'out';
  /** podman's --archive: what lands in the container belongs to its user (false: keeps the source's owners). */
  readonly archive: boolean;
}

export interface ExportOptions {
  readonly container: string;
  /** null: stdout. */
  readonly output: string | null;
}

interface CopyIO {
  readonly err: (line: string) => void;
}

/** A copy that could not be done: a missing path, a directory onto a file, a bad tar stream. */
export class CopyError extends NookError {
  constructor(message: string, hint: string) {
    super('cp', message, { hint });
    this.name = 'CopyError';
  }
}

/**
 * Keeps what the user wrote at the end (`/`, `/.`: they change what is copied) while
 * making the path absolute: host paths from the working directory, container paths from
 * the container's working directory, as podman does.
 */
function absolute(base: string, path: string): string {
  if (isAbsolute(path)) return path;
  const tail = /(\/\.?)$/.exec(path)?.[1] ?? '';
  return `${resolve(base, path)}${tail}`.replace(/^\/\//, '/');
}

function hostEnd(location: HostLocation): CopyEnd {
  return location.kind === 'stream' ? { kind: 'stream' } : { kind: 'tree', root: '/', path: absolute(process.cwd(), location.path) };
}

interface OpenedContainer {
  readonly record: ContainerRecord;
  readonly running: boolean;
  /** The host path the copier opens as the container's root. */
  readonly root: string;
  readonly run: (request: Omit<CopyRequest, 'resultFile'>, stdin: boolean) => Promise<CopyResult>;
}

async function openContainer(ref: string): Promise<OpenedContainer> {
  const { containers, idMaps } = await openContainers();
  const record = findContainer(containers, ref);
  const status = containerStatus(containers, record.id);
  return {
    record,
    running: status.state === 'running',
    root: containerRootPath(record, status),
    run: (request, stdin) => runCopier(record, status, idMaps, request, { stdin }),
  };
}

const HINTS: Record<CopyFailureKind, string> = {
  missing: 'a container path is looked up inside the container, its symlinks too (never on the host); a destination\'s parent directory must exist',
  'bad-archive': 'with "-" as the source, nook cp reads a tar archive on stdin: tar -cf - FILES | nook cp - CONTAINER:DIR',
  failed: 'a directory is not copied over a file, nor a file over a directory; check the paths named',
};

function check(result: CopyResult, io: CopyIO): number {
  if (result.failure !== null) throw new CopyError(result.failure.message, HINTS[result.failure.kind]);
  if (result.skipped > 0) io.err(`Warning: ${result.skipped} device, fifo or socket file(s) were left out: they cannot be created as an ordinary user`);
  return 0;
}

/** `nook cp`, one way or the other. */
export async function copyCommand(options: CopyOptions, io: CopyIO): Promise<number> {
  const { record, root, run } = await openContainer(options.container);
  const inContainer: CopyEnd = { kind: 'tree', root, path: absolute(record.workdir, options.containerPath) };
  const onHost = hostEnd(options.host);
  if (options.direction === 'out') {
    return check(await run({ source: inContainer, destination: onHost, owner: { kind: 'creator' }, oneFileSystem: false }, false), io);
  }
  const owner: CopyRequest['owner'] = options.archive ? { kind: 'fixed', uid: record.user.uid, gid: record.user.gid } : { kind: 'keep' };
  return check(await run({ source: onHost, destination: inContainer, owner, oneFileSystem: false }, options.host.kind === 'stream'), io);
}

/** `nook export`: the container's root filesystem as a tar archive. */
export async function exportCommand(options: ExportOptions, io: CopyIO): Promise<number> {
  if (options.output === null && process.stdout.isTTY) {
    throw new CopyError('refusing to export to terminal', 'use -o FILE, or redirect the output: nook export CONTAINER > FILE.tar');
  }
  const { root, run, running } = await openContainer(options.container);
  const destination: CopyEnd = options.output === null ? { kind: 'stream' } : { kind: 'file', path: resolve(options.output) };
  // A running container's root shows its /proc, /dev and volumes: podman exports none of them.
  return check(await run({ source: { kind: 'tree', root, path: '/' }, destination, owner: { kind: 'creator' }, oneFileSystem: running }, false), io);
}
