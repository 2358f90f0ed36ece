import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { removeAsContainerRoot } from '../../runtime/owned-trees.js';
import { encodePlan } from '../../plan/encode.js';
import type { Op } from '../../plan/ops.js';
import { launchRuntime } from '../../runtime/launch.js';
import { reportToError } from '../../runtime/report-error.js';
import { tempPathFor } from '../../store/atomic.js';
import type { ContainerIdMaps } from '../../sys/idmap.js';
import { runtimeDir } from '../../sys/paths.js';

export type OverlayProbe = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/**
 * Mounts a tiny overlay in a user namespace on the store's own filesystem, the way a
 * container root is mounted: the one sure way to know the kernel and filesystem allow it.
 */
export async function probeOverlay(storeRoot: string, maps: ContainerIdMaps): Promise<OverlayProbe> {
  const dir = tempPathFor(join(storeRoot, 'overlay-probe'));
  const [lower, upper, work, target] = ['lower', 'upper', 'work', 'merged'].map((d) => join(dir, d)) as [string, string, string, string];
  await Promise.all([lower, upper, work, target].map((d) => mkdir(d, { recursive: true, mode: 0o700 })));
  const plan: Op[] = [
    { op: 'namespaces', namespaces: ['user', 'mount'] },
    { op: 'uid-map', map: maps.uid },
    { op: 'gid-map', map: maps.gid },
    { op: 'overlay-rootfs', overlay: { lowerDirs: [lower], upperDir: upper, workDir: work, target } },
    { op: 'close-fds' },
    { op: 'exec', argv: ['true'], env: ['PATH=/usr/bin:/bin'] },
  ];
  try {
    const result = await launchRuntime(encodePlan(plan), runtimeDir(), { capture: true });
    if (result.report !== null) return { ok: false, reason: reportToError(result.report, { rootfs: storeRoot }).message };
    return result.status === 0 ? { ok: true } : { ok: false, reason: `the probe exited with ${result.status}` };
  } finally {
    // overlayfs leaves work/work mode 000, owned by container root.
    await removeAsContainerRoot(maps, [dir]).catch(() => undefined);
  }
}
