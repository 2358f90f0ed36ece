import { join } from 'node:path';
import { DIFF_FAILED, type DiffFailure, type DiffRequest, type DiffResult } from '../../image/diff/request.js';
import { encodePlan } from '../../plan/encode.js';
import type { Op, OverlayRootfs } from '../../plan/ops.js';
import { launchRuntime } from '../../runtime/launch.js';
import { reportToError } from '../../runtime/report-error.js';
import type { ContainerIdMaps } from '../../sys/idmap.js';
import { runtimeDir } from '../../sys/paths.js';
import { BuildError } from './errors.js';

/**
 * Runs the build-step worker (dist/diff.cjs) as root of a user namespace with the
 * container id maps; `overlays` (the step's root, when it writes) are mounted first in a
 * mount namespace of its own.
 */
export async function runStepWorker(maps: ContainerIdMaps, request: DiffRequest, overlays: readonly OverlayRootfs[]): Promise<DiffResult> {
  const argv = [process.execPath, join(__dirname, 'diff.cjs'), JSON.stringify(request)];
  const plan: Op[] = [
    { op: 'namespaces', namespaces: overlays.length > 0 ? ['user', 'mount'] : ['user'] },
    { op: 'uid-map', map: maps.uid },
    { op: 'gid-map', map: maps.gid },
    ...overlays.map((overlay): Op => ({ op: 'overlay-rootfs', overlay })),
    { op: 'close-fds' },
    { op: 'exec', argv, env: [] },
  ];
  const result = await launchRuntime(encodePlan(plan), runtimeDir(), { capture: true });
  if (result.report !== null) throw reportToError(result.report, { rootfs: request.root ?? request.upper });
  if (result.status === DIFF_FAILED) {
    const line = result.stderr.trim().split('\n').pop() ?? '';
    let failure: DiffFailure;
    try {
      failure = JSON.parse(line) as DiffFailure;
    } catch {
      failure = { message: line };
    }
    throw new BuildError(failure.message);
  }
  if (result.status !== 0) {
    throw new BuildError(`the build-step worker failed (exit ${result.status}): ${result.stderr.trim().split('\n').pop() ?? ''}`, 'run "npm install" again in the nook checkout if dist/diff.cjs is missing');
  }
  return JSON.parse(result.stdout.trim().split('\n').pop() ?? '{}') as DiffResult;
}
