import { capabilityMask, DEFAULT_CAPABILITIES } from '../../src/plan/capabilities.js';
import { MASKED_PATHS, READONLY_PATHS } from '../../src/plan/hardening.js';
import type { IdMap } from '../../src/plan/ops.js';
import type { ContainerSpec } from '../../src/plan/spec.js';

export const ROOTFS = '/srv/rootfs';

/** The map a user with /etc/subuid "user:100000:65536" gets. */
export const FULL_MAP = (helper: string, own: number): IdMap => ({
  helper,
  ranges: [
    { inside: 0, outside: own, count: 1 },
    { inside: 1, outside: 100000, count: 65536 },
  ],
});

/** The map without subordinate ids: only container root exists. */
export const SINGLE_MAP = (own: number): IdMap => ({ helper: null, ranges: [{ inside: 0, outside: own, count: 1 }] });

/** A typical container: own network, full id maps, writable root. */
export function makeSpec(overrides: Partial<ContainerSpec> = {}): ContainerSpec {
  return {
    id: 'c0ffee',
    rootfs: { kind: 'directory', path: ROOTFS },
    uidMap: FULL_MAP('/usr/bin/newuidmap', 1000),
    gidMap: FULL_MAP('/usr/bin/newgidmap', 1000),
    network: { kind: 'none' },
    hostname: 'box',
    readOnly: false,
    tty: false,
    etcFiles: { hosts: '/run/user/1000/nook/c/hosts', hostname: '/run/user/1000/nook/c/hostname', resolvConf: '/run/user/1000/nook/c/resolv.conf' },
    mounts: [],
    workdir: '/work',
    user: { uid: 1000, gid: 1000, groups: [10, 29] },
    capabilities: capabilityMask(DEFAULT_CAPABILITIES),
    noNewPrivs: false,
    init: false,
    seccomp: [],
    readonlyPaths: READONLY_PATHS,
    maskedPaths: MASKED_PATHS,
    sysctls: [],
    process: { rlimits: [], oomScoreAdj: null },
    argv: ['sh', '-c', 'exit 1'],
    env: ['PATH=/bin', 'HOME=/root'],
    ...overrides,
  };
}
