import { existsSync } from 'node:fs';
import { arch, release } from 'node:os';
import { runtimeBinary } from '../../runtime/launch.js';
import { openStore, type Store } from '../../store/store.js';
import { containerIdMaps, type ContainerIdMaps } from '../../sys/idmap.js';
import { runtimeDir } from '../../sys/paths.js';
import { findOnPath } from '../../sys/which.js';
import { chooseStorageDriver, type StorageDriver } from '../image/storage-driver.js';
import { defaultNetwork } from '../network/default.js';

function describeDefaultNetwork(): string {
  const chosen = defaultNetwork();
  return `${chosen.kind} (${chosen.reason})`;
}

export interface InfoOptions {
  readonly format: 'text' | 'json';
  readonly storageDriver: StorageDriver | undefined;
}

async function describeDriver(store: Store, maps: ContainerIdMaps, requested: StorageDriver | undefined): Promise<string> {
  const choice = await chooseStorageDriver(store, maps, requested);
  return `${choice.driver} (${choice.reason})`;
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
      defaultNetwork: describeDefaultNetwork(),
    },
    store: {
      graphRoot: store.root,
      runRoot: runtimeDir(),
      driver: await describeDriver(store, maps, options.storageDriver),
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
