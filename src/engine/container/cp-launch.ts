import { readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { CopyRequest, CopyResult } from '../../copy/request.js';
import { ContainerError, NookError } from '../../errors.js';
import { encodePlan } from '../../plan/encode.js';
import type { Op } from '../../plan/ops.js';
import { compileUsernsPlan } from '../../plan/userns.js';
import { launchRuntime } from '../../runtime/launch.js';
import { reportToError } from '../../runtime/report-error.js';
import type { ContainerRecord } from '../../store/containers.js';
import type { ContainerIdMaps } from '../../sys/idmap.js';
import { runtimeDir } from '../../sys/paths.js';
import type { ContainerStatus } from './state.js';

/**
 * Where the copier finds a container's root: a running container's through its PID 1
 * (volumes and all, as the container sees them); a stopped one's overlay, mounted again
 * for the copier alone, or its root directory.
 */
export function containerRootPath(record: ContainerRecord, status: ContainerStatus): string {
  if (status.state === 'running') return `/proc/${status.pid}/root`;
  return record.rootfs.kind === 'overlay' ? record.rootfs.overlay.target : record.rootfs.path;
}

/**
 * The copier runs as root of a user namespace with the container's ids: the container's
 * own (joined, so /proc/PID/root may be opened: same namespace, and its root may look into
 * the container's processes), or a new one with the same maps, whose own mount namespace
 * then holds the overlay.
 */
function copierPlan(record: ContainerRecord, status: ContainerStatus, maps: ContainerIdMaps, argv: readonly string[]): Op[] {
  const exec: Op = { op: 'exec', argv, env: [] };
  if (status.state === 'running') {
    if (status.pidStartTime === null) throw new ContainerError(`container ${record.name} has no process to copy through: its PID 1 (pid ${status.pid}) is gone`, 'see "nook ps -a"');
    return [{ op: 'join', pid: status.pid, startTime: status.pidStartTime, namespaces: ['user'] }, { op: 'close-fds' }, exec];
  }
  if (record.rootfs.kind === 'directory') return compileUsernsPlan(maps, argv, []);
  return [
    { op: 'namespaces', namespaces: ['user', 'mount'] },
    { op: 'uid-map', map: maps.uid },
    { op: 'gid-map', map: maps.gid },
    { op: 'overlay-rootfs', overlay: record.rootfs.overlay },
    { op: 'close-fds' },
    exec,
  ];
}

/** Runs the copier (dist/copy.cjs) on the request for this container and returns its answer. */
export async function runCopier(
  record: ContainerRecord,
  status: ContainerStatus,
  maps: ContainerIdMaps,
  request: Omit<CopyRequest, 'resultFile'>,
  options: { readonly stdin: boolean },
): Promise<CopyResult> {
  const scratch = runtimeDir();
  const resultFile = join(scratch, `.copy-${process.pid}-${Math.random().toString(36).slice(2)}`);
  // Built next to the CLI bundle by scripts/build.mjs.
  const argv = [process.execPath, join(__dirname, 'copy.cjs'), JSON.stringify({ ...request, resultFile })];
  try {
    const result = await launchRuntime(encodePlan(copierPlan(record, status, maps, argv)), scratch, { passStdin: options.stdin });
    if (result.report !== null) throw reportToError(result.report, { rootfs: containerRootPath(record, status) });
    let answer: string;
    try {
      answer = readFileSync(resultFile, 'utf8');
    } catch {
      throw new NookError('cp', `the copier stopped without an answer (exit ${result.status})`, {
        hint: 'run "npm install" again in the nook checkout if dist/copy.cjs is missing',
      });
    }
    return JSON.parse(answer) as CopyResult;
  } finally {
    try {
      unlinkSync(resultFile);
    } catch {
      // never written
    }
  }
}
