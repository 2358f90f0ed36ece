import { readFileSync } from 'node:fs';
import { arch, release } from 'node:os';
import { dirname } from 'node:path';
import { runtimeBinary } from '../../runtime/binary.js';
import { openStore, type Store } from '../../store/store.js';
import { readCgroupHost, type CgroupHost } from '../../sys/cgroup/host.js';
import { placeLimits } from '../../sys/cgroup/placement.js';
import { checkStoreFilesystem } from '../../sys/filesystem.js';
import { containerIdMaps, describeContainerIds, userName, type ContainerIdMaps } from '../../sys/idmap.js';
import { runtimeDir } from '../../sys/paths.js';
import { idMapHelper, overlapsOf, ownedBy, readSubordinateEntries, SUBGID_FILE, SUBUID_FILE, type SubordinateEntry } from '../../sys/subids.js';
import { readUsernsSettings, usernsProblems } from '../../sys/userns.js';
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

function idMapText(map: ContainerIdMaps['uid']): string {
  return map.ranges.map((r) => `${r.inside}:${r.outside}:${r.count}`).join(' ');
}

/** The user-mode network stacks nook can use, where they are on PATH. */
export function networkTools(): Record<string, string | null> {
  return { pasta: findOnPath('pasta'), slirp4netns: findOnPath('slirp4netns') };
}

function subordinate(file: string, user: { name: string; id: number }): Record<string, unknown> {
  const entries: SubordinateEntry[] = readSubordinateEntries(file);
  const mine = entries.filter((e) => ownedBy(e, user));
  return {
    file,
    ranges: mine.map(({ start, count }) => ({ start, count })),
    size: mine.reduce((n, e) => n + e.count, 0),
    overlaps: overlapsOf(entries, user).map(({ owner, start, count }) => ({ owner, start, count })),
  };
}

function cgroups(host: CgroupHost): Record<string, unknown> {
  const placement = placeLimits(host, ['memory', 'pids', 'cpu', 'cpuset']);
  return {
    version: host.version,
    unifiedMount: host.unifiedMount,
    ownCgroup: host.ownPath,
    delegated: host.delegated,
    systemdUserManager: host.systemd !== null,
    limits:
      placement.kind === 'delegated'
        ? `enforced: a cgroup per container under ${placement.parent}`
        : placement.kind === 'systemd'
          ? 'enforced: a systemd user scope per container'
          : `not enforced: ${placement.reason}. Fix: ${placement.fix}`,
  };
}

function osName(): string {
  try {
    return /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** `nook info`: what nook sees of this machine and where it keeps things, as podman info. */
export async function showInfo(options: InfoOptions, io: { out: (line: string) => void }): Promise<number> {
  const maps = containerIdMaps();
  const store = await openStore();
  const index = await store.images.readIndex().catch(() => null);
  const uid = process.getuid?.() ?? 0;
  const user = { name: userName(uid), id: uid };
  const runtime = runtimeBinary();
  const userns = readUsernsSettings();
  const problems = usernsProblems(userns, runtime, dirname(dirname(dirname(runtime))));
  const filesystem = checkStoreFilesystem(store.root);
  const info = {
    host: {
      kernel: release(),
      os: osName(),
      arch: arch(),
      runtime,
      userNamespaces: { allowed: problems.length === 0, ...userns, problems },
      idMappings: {
        user: user.name,
        uid,
        gid: process.getgid?.() ?? 0,
        subuid: subordinate(SUBUID_FILE, user),
        subgid: subordinate(SUBGID_FILE, user),
        newuidmap: idMapHelper(findOnPath('newuidmap')),
        newgidmap: idMapHelper(findOnPath('newgidmap')),
        warning: maps.warning,
      },
      uidMap: idMapText(maps.uid),
      gidMap: idMapText(maps.gid),
      containerIds: describeContainerIds(maps),
      cgroups: cgroups(readCgroupHost()),
      networkTools: networkTools(),
      defaultNetwork: describeDefaultNetwork(),
    },
    store: {
      graphRoot: store.root,
      graphFilesystem: filesystem,
      runRoot: runtimeDir(),
      driver: await describeDriver(store, maps, options.storageDriver),
      images: index === null ? 'the image index is damaged: run nook system check --repair' : Object.keys(index.images).length,
    },
    version: { nook: '0.1.0', node: process.version },
  };
  if (options.format === 'json') {
    io.out(JSON.stringify(info, null, 2));
    return 0;
  }
  for (const line of yamlLines(info, 0)) io.out(line);
  return 0;
}

/** podman prints its info as YAML: nested keys indented, lists as "- ". */
function yamlLines(value: unknown, depth: number): string[] {
  const pad = '  '.repeat(depth);
  if (Array.isArray(value)) {
    return value.flatMap((item) => {
      if (item === null || typeof item !== 'object') return [`${pad}- ${String(item)}`];
      const [first = '', ...rest] = yamlLines(item, depth + 1);
      return [`${pad}- ${first.trimStart()}`, ...rest];
    });
  }
  return Object.entries(value as Record<string, unknown>).flatMap(([key, v]) => {
    if (v !== null && typeof v === 'object' && (!Array.isArray(v) || v.length > 0)) return [`${pad}${key}:`, ...yamlLines(v, depth + 1)];
    return [`${pad}${key}: ${Array.isArray(v) ? '[]' : String(v)}`];
  });
}
