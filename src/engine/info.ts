import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { arch, release } from 'node:os';
import { join } from 'node:path';
import { removeAsContainerRoot } from '../image/extract/run.js';
import { encodePlan } from '../plan/encode.js';
import type { Op } from '../plan/ops.js';
import { launchRuntime, runtimeBinary } from '../runtime/launch.js';
import { reportToError } from '../runtime/report-error.js';
import { tempPathFor } from '../store/atomic.js';
import { openStore } from '../store/store.js';
import { containerIdMaps, type ContainerIdMaps } from '../sys/idmap.js';
import { runtimeDir } from '../sys/paths.js';
import { findOnPath } from '../sys/which.js';

export interface InfoOptions {
  readonly format: 'text' | 'json';
}

/**
 * Mounts a tiny overlay in a user namespace on the store's own filesystem, the way a
 * container root is mounted: the one sure way to know the kernel and filesystem allow it.
 */
async function probeOverlay(storeRoot: string, maps: ContainerIdMaps): Promise<string> {
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
    if (result.report !== null) return `unavailable: ${reportToError(result.report, { rootfs: storeRoot }).message}`;
    return result.status === 0 ? 'kernel overlayfs in a user namespace' : `unavailable: the probe exited with ${result.status}`;
  } finally {
    // overlayfs leaves work/work mode 000, owned by container root.
    await removeAsContainerRoot(maps, [dir]).catch(() => undefined);
  }
}

function cgroupVersion(): string {
  return existsSync('/sys/fs/cgroup/cgroup.controllers') ? 'v2' : 'v1 (limits cannot be enforced rootless)';
}

function idMapText(map: ContainerIdMaps['uid']): string {
  return map.ranges.map((r) => `${r.inside}:${r.outside}:${r.count}`).join(' ');
}

/** `nook info`: what nook sees of this machine and where it keeps things, as podman info. */
export async function showInfo(options: InfoOptions, io: { out: (line: string) => void }): Promise<number> {
  const maps = containerIdMaps();
  const store = await openStore();
  const index = await store.images.readIndex();
  const info = {
    host: {
      kernel: release(),
      arch: arch(),
      cgroupVersion: cgroupVersion(),
      runtime: runtimeBinary(),
      uidMap: idMapText(maps.uid),
      gidMap: idMapText(maps.gid),
      idMapHelpers: maps.uid.helper === null ? `none: ${maps.warning}` : `${maps.uid.helper}, ${maps.gid.helper}`,
      networkTools: ['pasta', 'slirp4netns'].map((tool) => `${tool}: ${findOnPath(tool) ?? 'not found'}`).join(', '),
    },
    store: {
      graphRoot: store.root,
      runRoot: runtimeDir(),
      rootfs: await probeOverlay(store.root, maps),
      images: Object.keys(index.images).length,
    },
    version: { nook: '0.1.0', node: process.version },
  };
  if (options.format === 'json') {
    io.out(JSON.stringify(info, null, 2));
    return 0;
  }
  for (const [section, fields] of Object.entries(info)) {
    io.out(`${section}:`);
    for (const [key, value] of Object.entries(fields)) io.out(`  ${key}: ${value}`);
  }
  return 0;
}
