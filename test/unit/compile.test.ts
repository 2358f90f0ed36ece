import { describe, expect, it } from 'vitest';
import { compileExecPlan, compilePlan } from '../../src/plan/compile.js';
import { HOST_DEVICES, MASKED_PATHS, READONLY_PATHS } from '../../src/plan/hardening.js';
import type { Op, OpOf } from '../../src/plan/ops.js';
import { makeSpec, ROOTFS, SINGLE_MAP } from './spec-fixture.js';

const indexOf = (plan: readonly Op[], match: (op: Op) => boolean): number => plan.findIndex(match);
const allOf = <N extends Op['op']>(plan: readonly Op[], name: N): OpOf<N>[] => plan.filter((op): op is OpOf<N> => op.op === name);
const pivotIndex = (plan: readonly Op[]): number => {
  const indexes = plan.flatMap((op, i) => (op.op === 'pivot-root' ? [i] : []));
  expect(indexes).toHaveLength(1);
  return indexes[0]!;
};
const pathOf = (op: Op): string | undefined => ('path' in op ? op.path : undefined);
const show = (op: Op): string => `${op.op} ${pathOf(op) ?? ''}`;
const isUnder = (path: string, dir: string): boolean => path === dir || path.startsWith(dir === '/' ? '/' : `${dir}/`);

describe('compilePlan', () => {
  const spec = makeSpec();
  const plan = compilePlan(spec);

  it('starts with namespaces, the id maps, a session of its own and the rootfs', () => {
    expect(plan.slice(0, 5)).toEqual([
      { op: 'namespaces', namespaces: expect.arrayContaining(['user', 'mount', 'pid', 'uts', 'ipc', 'cgroup']) },
      { op: 'uid-map', map: spec.uidMap },
      { op: 'gid-map', map: spec.gidMap },
      { op: 'session' },
      { op: 'rootfs', hostPath: ROOTFS },
    ]);
    expect(allOf(plan, 'rootfs')).toHaveLength(1);
    expect(allOf(plan, 'session')).toHaveLength(1);
  });

  it('opens a terminal only with -t, in the session, as the last step but close-fds', () => {
    expect(allOf(plan, 'console')).toHaveLength(0);
    const tty = compilePlan(makeSpec({ tty: true }));
    expect(tty.slice(-3).map((op) => op.op)).toEqual(['console', 'close-fds', 'exec']);
    expect(indexOf(tty, (op) => op.op === 'session')).toBeLessThan(indexOf(tty, (op) => op.op === 'console'));
  });

  it('ends with close-fds then exec carrying argv and env', () => {
    expect(plan.at(-1)).toEqual({ op: 'exec', argv: spec.argv, env: spec.env });
    expect(plan.at(-2)).toEqual({ op: 'close-fds' });
    expect(allOf(plan, 'exec')).toHaveLength(1);
    expect(allOf(plan, 'close-fds')).toHaveLength(1);
  });

  it('builds the filesystem before pivot-root and only reads host paths before it', () => {
    const pivot = pivotIndex(plan);
    // bind sources and the rootfs are host paths: they only mean the host before pivot_root.
    for (const name of ['rootfs', 'bind', 'mkdir', 'mount', 'symlink'] as const) {
      for (const op of allOf(plan, name)) expect(plan.indexOf(op), show(op)).toBeLessThan(pivot);
    }
    for (const name of ['mask', 'loopback-up', 'sethostname', 'chdir', 'cap-bounding', 'user', 'cap-set', 'close-fds', 'exec'] as const) {
      for (const op of allOf(plan, name)) expect(plan.indexOf(op), show(op)).toBeGreaterThan(pivot);
    }
  });

  it('mounts /proc, /dev and /sys before pivot-root', () => {
    const pivot = pivotIndex(plan);
    const mountAt = (path: string): number => indexOf(plan, (op) => (op.op === 'mount' || op.op === 'bind') && op.path === path);
    for (const path of ['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys', '/sys/fs/cgroup']) {
      const at = mountAt(path);
      expect(at, path).toBeGreaterThan(0);
      expect(at, path).toBeLessThan(pivot);
    }
    expect(plan.find((op) => op.op === 'mount' && op.path === '/proc')).toMatchObject({ fstype: 'proc', flags: expect.arrayContaining(['nosuid', 'nodev', 'noexec']) });
  });

  it('puts nothing under /proc, /dev or /sys before the filesystem mounted there', () => {
    for (const dir of ['/proc', '/dev', '/sys']) {
      const mounted = indexOf(plan, (op) => (op.op === 'mount' || op.op === 'bind') && op.path === dir);
      plan.forEach((op, i) => {
        const path = pathOf(op);
        if (path !== undefined && path !== dir && isUnder(path, dir)) expect(i, show(op)).toBeGreaterThan(mounted);
      });
    }
  });

  it('binds every host device with nofollow and create-file', () => {
    for (const name of HOST_DEVICES) {
      expect(plan).toContainEqual({ op: 'bind', source: `/dev/${name}`, path: `/dev/${name}`, flags: ['nofollow', 'create-file'] });
    }
  });

  it('makes each READONLY_PATHS entry read-only after pivot-root', () => {
    const pivot = pivotIndex(plan);
    for (const path of READONLY_PATHS) {
      const hits = plan.flatMap((op, i) => (op.op === 'remount-ro' && op.path === path ? [i] : []));
      expect(hits, path).toHaveLength(1);
      expect(hits[0], path).toBeGreaterThan(pivot);
      expect(plan[hits[0]!]).toMatchObject({ flags: expect.arrayContaining(['rec', 'optional']) });
    }
  });

  it('masks each MASKED_PATHS entry exactly once, and nothing else', () => {
    const masked = allOf(plan, 'mask').map((op) => op.path);
    expect([...masked].sort()).toEqual([...MASKED_PATHS].sort());
  });

  it('creates every mount point before mounting on it', () => {
    plan.forEach((op, i) => {
      if (op.op !== 'mount') return;
      const mkdir = indexOf(plan, (o) => o.op === 'mkdir' && o.path === op.path);
      // A mount point not made by mkdir must lie inside a filesystem mounted earlier (/sys/fs/cgroup in sysfs).
      const parent = indexOf(plan, (o) => (o.op === 'mount' || o.op === 'bind') && o.path !== op.path && isUnder(op.path, o.path));
      if (mkdir >= 0) expect(mkdir, op.path).toBeLessThan(i);
      else expect(parent >= 0 && parent < i, `${op.path} has no mount point`).toBe(true);
    });
    for (const mkdir of allOf(plan, 'mkdir')) {
      const at = plan.indexOf(mkdir);
      const mountedAfter = plan.slice(at + 1).some((op) => (op.op === 'mount' || op.op === 'bind') && isUnder(op.path, mkdir.path));
      expect(mountedAfter, `mkdir ${mkdir.path} is used`).toBe(true);
    }
  });

  it('binds the etc files from their host paths under an existing /etc', () => {
    const etc = indexOf(plan, (op) => op.op === 'mkdir' && op.path === '/etc');
    for (const [source, path] of [
      [spec.etcFiles.hosts, '/etc/hosts'],
      [spec.etcFiles.hostname, '/etc/hostname'],
      [spec.etcFiles.resolvConf, '/etc/resolv.conf'],
    ] as const) {
      const at = indexOf(plan, (op) => op.op === 'bind' && op.source === source && op.path === path);
      expect(at, path).toBeGreaterThan(etc);
      expect(etc).toBeGreaterThanOrEqual(0);
    }
  });

  it('sets hostname and working directory from the spec', () => {
    expect(allOf(plan, 'sethostname')).toEqual([{ op: 'sethostname', hostname: 'box' }]);
    expect(allOf(plan, 'chdir')).toEqual([{ op: 'chdir', path: '/work' }]);
  });

  it("gives the command podman's umask, not the caller's", () => {
    expect(allOf(plan, 'umask')).toEqual([{ op: 'umask', mask: 0o022 }]);
    expect(indexOf(plan, (op) => op.op === 'umask')).toBeGreaterThan(pivotIndex(plan));
  });

  it('drops capabilities in the order bounding set, user, capability sets', () => {
    const bounding = indexOf(plan, (op) => op.op === 'cap-bounding');
    const user = indexOf(plan, (op) => op.op === 'user');
    const capSet = indexOf(plan, (op) => op.op === 'cap-set');
    expect(bounding).toBeGreaterThan(0);
    expect(user).toBeGreaterThan(bounding);
    expect(capSet).toBeGreaterThan(user);
    expect(plan[bounding]).toEqual({ op: 'cap-bounding', caps: spec.capabilities });
    expect(plan[capSet]).toEqual({ op: 'cap-set', caps: spec.capabilities });
    expect(plan[user]).toEqual({ op: 'user', uid: 1000, gid: 1000, groups: [10, 29] });
  });

  it('sets no-new-privs only when asked, after the user switch and before exec', () => {
    expect(allOf(plan, 'no-new-privs')).toHaveLength(0);
    const nnp = compilePlan(makeSpec({ noNewPrivs: true }));
    const at = indexOf(nnp, (op) => op.op === 'no-new-privs');
    expect(allOf(nnp, 'no-new-privs')).toHaveLength(1);
    expect(at).toBeGreaterThan(indexOf(nnp, (op) => op.op === 'user'));
    expect(at).toBeLessThan(indexOf(nnp, (op) => op.op === 'close-fds'));
  });

  describe('seccomp', () => {
    const bpf = new Uint8Array(16);

    it('is absent without a filter', () => {
      expect(allOf(plan, 'seccomp')).toHaveLength(0);
    });

    const second = new Uint8Array(8);

    it('goes in while CAP_SYS_ADMIN is still held without no_new_privs: after cap-bounding, before user', () => {
      const filtered = compilePlan(makeSpec({ seccomp: [bpf, second] }));
      const at = indexOf(filtered, (op) => op.op === 'seccomp');
      expect(allOf(filtered, 'seccomp')).toEqual([{ op: 'seccomp', bpf }, { op: 'seccomp', bpf: second }]);
      expect(at).toBe(indexOf(filtered, (op) => op.op === 'cap-bounding') + 1);
      expect(filtered[at + 2]!.op).toBe('user');
    });

    it('goes in last but close-fds with no_new_privs', () => {
      const filtered = compilePlan(makeSpec({ seccomp: [bpf], noNewPrivs: true }));
      expect(filtered.slice(-5).map((op) => op.op)).toEqual(['cap-set', 'no-new-privs', 'seccomp', 'close-fds', 'exec']);
    });
  });

  describe('kernel paths and sysctls from the spec', () => {
    const custom = compilePlan(makeSpec({
      readonlyPaths: ['/proc/sys'],
      maskedPaths: ['/secret'],
      sysctls: [{ path: '/proc/sys/net/ipv4/ip_forward', value: '1' }],
    }));

    it('masks and makes read-only exactly the paths given', () => {
      expect(allOf(custom, 'mask').map((op) => op.path)).toEqual(['/secret']);
      expect(allOf(custom, 'remount-ro').map((op) => op.path)).toEqual(['/proc/sys']);
    });

    it('writes sysctls after pivot-root and before /proc/sys turns read-only', () => {
      const at = indexOf(custom, (op) => op.op === 'sysctl');
      expect(custom[at]).toEqual({ op: 'sysctl', path: '/proc/sys/net/ipv4/ip_forward', value: '1' });
      expect(at).toBeGreaterThan(pivotIndex(custom));
      expect(at).toBeLessThan(indexOf(custom, (op) => op.op === 'remount-ro'));
    });
  });

  describe('network', () => {
    const host = compilePlan(makeSpec({ network: { kind: 'host' } }));
    const namespacesOf = (p: readonly Op[]) => allOf(p, 'namespaces')[0]!.namespaces;

    it("'none' gets its own net namespace, loopback up after pivot-root and a fresh read-only sysfs", () => {
      expect(namespacesOf(plan)).toContain('net');
      expect(allOf(plan, 'loopback-up')).toHaveLength(1);
      expect(indexOf(plan, (op) => op.op === 'loopback-up')).toBeGreaterThan(pivotIndex(plan));
      expect(plan).toContainEqual(expect.objectContaining({ op: 'mount', fstype: 'sysfs', path: '/sys', flags: expect.arrayContaining(['ro']) }));
      expect(plan).not.toContainEqual(expect.objectContaining({ op: 'bind', source: '/sys' }));
    });

    it("'host' shares the host network and binds /sys read-only and recursively", () => {
      expect(namespacesOf(host)).not.toContain('net');
      expect(namespacesOf(host)).toContain('user');
      expect(allOf(host, 'loopback-up')).toHaveLength(0);
      expect(host).toContainEqual({ op: 'bind', source: '/sys', path: '/sys', flags: expect.arrayContaining(['rec', 'ro', 'nofollow']) });
      expect(host).not.toContainEqual(expect.objectContaining({ op: 'mount', fstype: 'sysfs' }));
    });
  });

  describe('devpts tty group', () => {
    const devptsData = (p: readonly Op[]): string => allOf(p, 'mount').find((op) => op.fstype === 'devpts')!.data;
    const withGidRanges = (...ranges: { inside: number; outside: number; count: number }[]) =>
      compilePlan(makeSpec({ gidMap: { helper: '/usr/bin/newgidmap', ranges } }));

    it('uses gid=5 when container gid 5 is mapped', () => {
      expect(devptsData(plan)).toMatch(/(^|,)gid=5(,|$)/);
      expect(devptsData(withGidRanges({ inside: 0, outside: 1000, count: 1 }, { inside: 1, outside: 100000, count: 5 }))).toContain('gid=5');
    });

    it('leaves gid out when gid 5 is not mapped', () => {
      expect(devptsData(compilePlan(makeSpec({ gidMap: SINGLE_MAP(1000) })))).not.toContain('gid=');
      expect(devptsData(withGidRanges({ inside: 0, outside: 1000, count: 1 }, { inside: 1, outside: 100000, count: 4 }))).not.toContain('gid=');
    });

    it('always asks for a private devpts instance', () => {
      expect(devptsData(plan)).toContain('newinstance');
      expect(plan).toContainEqual({ op: 'symlink', target: 'pts/ptmx', path: '/dev/ptmx' });
    });
  });

  describe('read-only root', () => {
    const ro = compilePlan(makeSpec({ readOnly: true }));
    const remountRoot = indexOf(ro, (op) => op.op === 'remount-ro' && op.path === '/');

    it('remounts / read-only, non-recursively, before pivot-root', () => {
      expect(allOf(ro, 'remount-ro').filter((op) => op.path === '/')).toEqual([{ op: 'remount-ro', path: '/', flags: [] }]);
      expect(remountRoot).toBeGreaterThan(0);
      expect(remountRoot).toBeLessThan(pivotIndex(ro));
    });

    it('mounts fresh tmpfs on /tmp, /var/tmp and /run', () => {
      for (const [path, mode] of [['/tmp', 0o1777], ['/var/tmp', 0o1777], ['/run', 0o755]] as const) {
        const mkdir = indexOf(ro, (op) => op.op === 'mkdir' && op.path === path);
        const mount = indexOf(ro, (op) => op.op === 'mount' && op.fstype === 'tmpfs' && op.path === path);
        expect(mkdir, path).toBeGreaterThan(0);
        expect(mount, path).toBeGreaterThan(mkdir);
        expect(ro[mkdir]).toMatchObject({ mode });
        expect(ro[mount]).toMatchObject({ data: expect.stringContaining(`mode=${mode.toString(8)}`) });
      }
    });

    it('writes nothing into the root after making it read-only', () => {
      ro.forEach((op, i) => {
        const writes = op.op === 'mkdir' || op.op === 'symlink' || (op.op === 'bind' && (op.flags.includes('create-file') || op.flags.includes('create-dir')));
        if (writes) expect(i, show(op)).toBeLessThan(remountRoot);
      });
    });

    it('is absent from a writable container', () => {
      expect(plan).not.toContainEqual(expect.objectContaining({ op: 'remount-ro', path: '/' }));
      expect(plan).not.toContainEqual(expect.objectContaining({ op: 'mount', path: '/tmp' }));
    });
  });
});

describe('compilePlan with an image', () => {
  it('mounts the layers as the root and keeps everything else', () => {
    const overlay = { lowerDirs: ['/s/layers/b/diff', '/s/layers/a/diff'], upperDir: '/s/c/upper', workDir: '/s/c/work', target: '/s/c/merged' };
    const image = compilePlan(makeSpec({ rootfs: { kind: 'overlay', overlay } }));
    const directory = compilePlan(makeSpec());
    const at = indexOf(directory, (op) => op.op === 'rootfs');
    expect(image[at]).toEqual({ op: 'overlay-rootfs', overlay });
    expect(image.filter((op) => op.op === 'rootfs')).toEqual([]);
    expect([...image.slice(0, at), ...image.slice(at + 1)]).toEqual([...directory.slice(0, at), ...directory.slice(at + 1)]);
  });
});

describe('compilePlan with volumes', () => {
  const bind = (source: string, destination: string, extra: object = {}) =>
    ({ kind: 'bind', source, destination, directory: true, readOnly: false, options: [], propagation: 'private', ...extra }) as const;
  const mounts = [
    bind('/h/deep', '/a/b'),
    { kind: 'tmpfs', destination: '/t', flags: ['nosuid', 'nodev', 'noexec'], data: 'size=1m' } as const,
    bind('/h/file', '/etc/app.conf', { directory: false, readOnly: true, options: ['nosuid'], propagation: 'slave' }),
    bind('/h/top', '/a'),
  ];
  const plan = compilePlan(makeSpec({ mounts }));
  const targets = plan.flatMap((op, i) => ((op.op === 'bind' || op.op === 'mount') && ['/a', '/a/b', '/t', '/etc/app.conf'].includes(op.path) ? [[op.path, i] as const] : []));

  it('mounts the shallowest destination first, after the /etc files and before pivot-root', () => {
    expect(targets.map(([path]) => path)).toEqual(['/t', '/a', '/a/b', '/etc/app.conf']);
    const etc = indexOf(plan, (op) => op.op === 'bind' && op.path === '/etc/resolv.conf');
    for (const [, i] of targets) {
      expect(i).toBeGreaterThan(etc);
      expect(i).toBeLessThan(pivotIndex(plan));
    }
  });

  it('binds recursively, resolving the target inside the root and creating it to match the source', () => {
    expect(plan).toContainEqual({ op: 'bind', source: '/h/top', path: '/a', flags: ['rec', 'private', 'create-dir'] });
    expect(plan).toContainEqual({ op: 'bind', source: '/h/file', path: '/etc/app.conf', flags: ['rec', 'ro', 'nosuid', 'slave', 'create-file'] });
  });

  it('mounts a tmpfs on a directory it creates', () => {
    const mkdir = indexOf(plan, (op) => op.op === 'mkdir' && op.path === '/t');
    const mount = indexOf(plan, (op) => op.op === 'mount' && op.path === '/t');
    expect(mkdir).toBeGreaterThan(0);
    expect(plan[mount]).toEqual({ op: 'mount', fstype: 'tmpfs', source: 'tmpfs', path: '/t', flags: ['nosuid', 'nodev', 'noexec'], data: 'size=1m' });
    expect(mount).toBe(mkdir + 1);
  });

  it('keeps volumes writable under a read-only root, and leaves out a scratch tmpfs a volume replaces', () => {
    const ro = compilePlan(makeSpec({ readOnly: true, mounts: [bind('/h/tmp', '/tmp'), bind('/h/run', '/run/x')] }));
    const remountRoot = indexOf(ro, (op) => op.op === 'remount-ro' && op.path === '/');
    expect(indexOf(ro, (op) => op.op === 'bind' && op.path === '/run/x')).toBeLessThan(remountRoot);
    expect(indexOf(ro, (op) => op.op === 'bind' && op.path === '/run/x')).toBeGreaterThan(indexOf(ro, (op) => op.op === 'mount' && op.path === '/run'));
    expect(ro).not.toContainEqual(expect.objectContaining({ op: 'mount', path: '/tmp' }));
    expect(allOf(ro, 'remount-ro').filter((op) => op.path === '/')).toEqual([{ op: 'remount-ro', path: '/', flags: [] }]);
  });
});

describe('compilePlan with --init', () => {
  it('puts the init op right before exec, and only when asked', () => {
    const withInit = compilePlan(makeSpec({ init: true }));
    expect(withInit.slice(-3).map((op) => op.op)).toEqual(['close-fds', 'init', 'exec']);
    expect(compilePlan(makeSpec()).some((op) => op.op === 'init')).toBe(false);
  });
});

describe('compileExecPlan', () => {
  const spec = makeSpec();
  const exec = (tty: boolean, seccomp: readonly Uint8Array[] = []): Op[] =>
    compileExecPlan({ pid: 42, startTime: 4711, hostNetwork: false, workdir: '/', user: spec.user, capabilities: spec.capabilities, noNewPrivs: false, seccomp, tty, process: spec.process, argv: ['sh'], env: [] });

  it('joins, then starts a session of its own; a terminal only with -t', () => {
    expect(exec(false).slice(0, 2)).toEqual([{ op: 'join', pid: 42, startTime: 4711, namespaces: expect.arrayContaining(['user', 'pid']) }, { op: 'session' }]);
    expect(allOf(exec(false), 'console')).toHaveLength(0);
    expect(exec(true).slice(-3).map((op) => op.op)).toEqual(['console', 'close-fds', 'exec']);
  });

  it('installs every filter of the container, in order', () => {
    const filters = [new Uint8Array(8), new Uint8Array(16)];
    expect(allOf(exec(false, filters), 'seccomp').map((op) => op.bpf)).toEqual(filters);
  });
});
