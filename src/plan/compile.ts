import { HOST_DEVICES } from './hardening.js';
import type { BindFlag, IdMap, Namespace, Op } from './ops.js';
import type { ContainerMount, ContainerSpec, ExecSpec, NetworkSetup, ProcessLimits } from './spec.js';

const KERNEL_FS_FLAGS = ['nosuid', 'nodev', 'noexec'] as const;
/** podman's default: a container's processes do not inherit the umask of whoever started it. */
const CONTAINER_UMASK = 0o022;

/**
 * Turns a container spec into the ordered op list the runtime executes (design.md, steps
 * 1-9). Pure: no I/O, so the whole container can be asserted on without namespaces.
 */
export function compilePlan(spec: ContainerSpec): Op[] {
  const net = spec.network;
  const ownNetwork = net.kind === 'none' || net.kind === 'helper';
  // A shared network namespace comes with its user namespace: both are joined, not made.
  const namespaces: Namespace[] = [
    ...(net.kind === 'shared' ? [] : (['user'] as const)),
    'mount', 'pid', 'uts', 'ipc',
    ...(ownNetwork ? (['net'] as const) : []),
    'cgroup',
  ];
  return [
    { op: 'namespaces', namespaces },
    { op: 'uid-map', map: spec.uidMap },
    { op: 'gid-map', map: spec.gidMap },
    ...networkRecords(net),
    ...(spec.process.oomScoreAdj === null ? [] : [{ op: 'oom-score-adj', value: spec.process.oomScoreAdj } as const]),
    { op: 'session' },
    spec.rootfs.kind === 'directory' ? { op: 'rootfs', hostPath: spec.rootfs.path } : { op: 'overlay-rootfs', overlay: spec.rootfs.overlay },
    // A shared network namespace belongs to the shared user namespace: sysfs mounts there too.
    ...kernelInterfaces(spec.gidMap, net.kind !== 'host'),
    ...etcFiles(spec),
    ...readOnlyScratch(spec),
    ...volumes(spec.mounts),
    // After the volumes: only the root itself turns read-only, they keep their own mode.
    ...(spec.readOnly ? [{ op: 'remount-ro', path: '/', flags: [] } as const] : []),
    { op: 'pivot-root' },
    // Before /proc/sys turns read-only: the container's own parameters, then no more.
    ...spec.sysctls.map(({ path, value }): Op => ({ op: 'sysctl', path, value })),
    ...spec.readonlyPaths.map((path): Op => ({ op: 'remount-ro', path, flags: ['rec', 'optional'] })),
    ...spec.maskedPaths.map((path): Op => ({ op: 'mask', path })),
    ...(ownNetwork ? [{ op: 'loopback-up' } as const] : []),
    { op: 'sethostname', hostname: spec.hostname },
    { op: 'chdir', path: spec.workdir },
    { op: 'umask', mask: CONTAINER_UMASK },
    ...processLimits(spec.process),
    { op: 'cap-bounding', caps: spec.capabilities },
    ...privilegeDrop(spec),
    ...(spec.tty ? [{ op: 'console' } as const] : []),
    // As late as can be: the helper starts alongside the setup ops, and only exec needs it.
    ...(net.kind === 'helper' ? [{ op: 'await-network' } as const] : []),
    { op: 'close-fds' },
    ...(spec.init ? [{ op: 'init' } as const] : []),
    { op: 'exec', argv: spec.argv, env: spec.env },
  ];
}

function networkRecords(net: NetworkSetup): Op[] {
  if (net.kind === 'helper') return [{ op: 'network', helper: net.helper }];
  if (net.kind === 'shared') return [{ op: 'share-net', pid: net.pid }];
  return [];
}

/**
 * The plan of `nook exec`: join the container's namespaces (user first), then the same
 * hardening as its command got, in the same order, and exec.
 */
export function compileExecPlan(spec: ExecSpec): Op[] {
  const namespaces: Namespace[] = ['user', 'mount', 'pid', 'uts', 'ipc', ...(spec.hostNetwork ? [] : (['net'] as const)), 'cgroup'];
  return [
    { op: 'join', pid: spec.pid, startTime: spec.startTime, namespaces },
    { op: 'session' },
    { op: 'chdir', path: spec.workdir },
    { op: 'umask', mask: CONTAINER_UMASK },
    ...processLimits(spec.process),
    { op: 'cap-bounding', caps: spec.capabilities },
    ...privilegeDrop(spec),
    ...(spec.tty ? [{ op: 'console' } as const] : []),
    { op: 'close-fds' },
    { op: 'exec', argv: spec.argv, env: spec.env },
  ];
}

/** Set while the process is still container root with every capability it will have. */
function processLimits(limits: ProcessLimits): Op[] {
  return limits.rlimits.map((limit): Op => ({ op: 'rlimit', limit }));
}

/**
 * The switch to the container's user and capabilities, and the seccomp filters. Without
 * no_new_privs, installing a filter takes CAP_SYS_ADMIN, which `user` and `cap-set` give
 * up: the filters go in before them (and must allow what they do). With no_new_privs they
 * go in after them, the last ops before exec but console and close-fds.
 */
export function privilegeDrop(spec: Pick<ContainerSpec, 'seccomp' | 'user' | 'capabilities' | 'noNewPrivs'>): Op[] {
  const seccomp = spec.seccomp.map((bpf): Op => ({ op: 'seccomp', bpf }));
  const drop: Op[] = [
    { op: 'user', uid: spec.user.uid, gid: spec.user.gid, groups: spec.user.groups },
    { op: 'cap-set', caps: spec.capabilities },
  ];
  if (spec.noNewPrivs) return [...drop, { op: 'no-new-privs' }, ...seccomp];
  return [...seccomp, ...drop];
}

/**
 * /proc, /dev, /sys and cgroup2 for a new root (a sandbox's too). `netnsOwned`: the network
 * namespace belongs to the container's user namespace, so sysfs may be mounted.
 */
export function kernelInterfaces(gidMap: IdMap, netnsOwned: boolean): Op[] {
  // devpts wants its tty group mapped; with a single-id map only container root exists.
  const ttyGroup = gidMap.ranges.some((r) => r.inside <= 5 && 5 < r.inside + r.count) ? ',gid=5' : '';
  return [
    { op: 'mkdir', path: '/proc', mode: 0o755 },
    { op: 'mount', fstype: 'proc', source: 'proc', path: '/proc', flags: KERNEL_FS_FLAGS, data: '' },
    { op: 'mkdir', path: '/dev', mode: 0o755 },
    { op: 'mount', fstype: 'tmpfs', source: 'tmpfs', path: '/dev', flags: ['nosuid', 'strictatime'], data: 'mode=755,size=65536k' },
    ...HOST_DEVICES.map((name): Op => ({ op: 'bind', source: `/dev/${name}`, path: `/dev/${name}`, flags: ['nofollow', 'create-file'] })),
    { op: 'mkdir', path: '/dev/pts', mode: 0o755 },
    {
      op: 'mount', fstype: 'devpts', source: 'devpts', path: '/dev/pts', flags: ['nosuid', 'noexec'],
      data: `newinstance,ptmxmode=0666,mode=0620${ttyGroup}`,
    },
    { op: 'symlink', target: 'pts/ptmx', path: '/dev/ptmx' },
    { op: 'mkdir', path: '/dev/shm', mode: 0o1777 },
    { op: 'mount', fstype: 'tmpfs', source: 'shm', path: '/dev/shm', flags: KERNEL_FS_FLAGS, data: 'mode=1777,size=65536k' },
    { op: 'mkdir', path: '/dev/mqueue', mode: 0o755 },
    { op: 'mount', fstype: 'mqueue', source: 'mqueue', path: '/dev/mqueue', flags: KERNEL_FS_FLAGS, data: '' },
    { op: 'symlink', target: '/proc/self/fd', path: '/dev/fd' },
    { op: 'symlink', target: '/proc/self/fd/0', path: '/dev/stdin' },
    { op: 'symlink', target: '/proc/self/fd/1', path: '/dev/stdout' },
    { op: 'symlink', target: '/proc/self/fd/2', path: '/dev/stderr' },
    { op: 'mkdir', path: '/sys', mode: 0o755 },
    // sysfs may only be mounted by the owner of the network namespace it shows.
    netnsOwned
      ? { op: 'mount', fstype: 'sysfs', source: 'sysfs', path: '/sys', flags: [...KERNEL_FS_FLAGS, 'ro'], data: '' }
      : { op: 'bind', source: '/sys', path: '/sys', flags: ['rec', 'ro', 'nofollow'] },
    { op: 'mount', fstype: 'cgroup2', source: 'cgroup', path: '/sys/fs/cgroup', flags: [...KERNEL_FS_FLAGS, 'ro'], data: '' },
  ];
}

function etcFiles(spec: ContainerSpec): Op[] {
  const hosts = spec.etcFiles.hosts;
  return [
    { op: 'mkdir', path: '/etc', mode: 0o755 },
    ...(hosts === null ? [] : [{ op: 'bind', source: hosts, path: '/etc/hosts', flags: ['create-file'] } as const]),
    { op: 'bind', source: spec.etcFiles.hostname, path: '/etc/hostname', flags: ['create-file'] },
    { op: 'bind', source: spec.etcFiles.resolvConf, path: '/etc/resolv.conf', flags: ['create-file'] },
  ];
}

/**
 * podman's --read-only: fresh tmpfs where programs expect to write, unless a volume goes
 * there. Mounted before the volumes, so one below them (/tmp/x) is not hidden.
 */
function readOnlyScratch(spec: ContainerSpec): Op[] {
  if (!spec.readOnly) return [];
  const taken = new Set(spec.mounts.map((m) => m.destination));
  const scratch = ([['/tmp', 0o1777], ['/var/tmp', 0o1777], ['/run', 0o755]] as const).filter(([path]) => !taken.has(path));
  return scratch.flatMap(([path, mode]): Op[] => [
    { op: 'mkdir', path, mode },
    { op: 'mount', fstype: 'tmpfs', source: 'tmpfs', path, flags: ['nosuid', 'nodev'], data: `mode=${mode.toString(8)}` },
  ]);
}

const depth = (path: string): number => (path === '/' ? 0 : path.split('/').length - 1);

/**
 * The volumes, shallowest destination first so /a is mounted before /a/b (sort is stable:
 * equal depths keep the command line's order). Bind targets are resolved inside the root,
 * symlinks followed there, and created with their missing parents to match the source.
 */
function volumes(mounts: readonly ContainerMount[]): Op[] {
  return [...mounts]
    .sort((a, b) => depth(a.destination) - depth(b.destination))
    .flatMap((m): Op[] => {
      if (m.kind === 'tmpfs') {
        return [
          { op: 'mkdir', path: m.destination, mode: 0o755 },
          { op: 'mount', fstype: 'tmpfs', source: 'tmpfs', path: m.destination, flags: m.flags, data: m.data },
        ];
      }
      const flags: BindFlag[] = ['rec', ...(m.readOnly ? (['ro'] as const) : []), ...m.options, m.propagation, m.directory ? 'create-dir' : 'create-file'];
      return [{ op: 'bind', source: m.source, path: m.destination, flags }];
    });
}
