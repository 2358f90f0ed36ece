import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HostError } from '../../src/errors.js';
import { findDelegated, readCgroupHost, type CgroupHost, type CgroupHostView } from '../../src/sys/cgroup/host.js';
import { cgroupWrites, controllersFor, NO_CGROUP_LIMITS, sharesToWeight, systemdProperties, type CgroupLimits } from '../../src/sys/cgroup/limits.js';
import { placeLimits } from '../../src/sys/cgroup/placement.js';
import { makeContainerCgroup, writeCgroupLimits } from '../../src/sys/cgroup/write.js';
import { mountOf, parseMountinfo } from '../../src/sys/mountinfo.js';

const limits = (set: Partial<CgroupLimits>): CgroupLimits => ({ ...NO_CGROUP_LIMITS, ...set });
const MiB = 1024 * 1024;

describe('what the limits write where (cgroup v2 interface files)', () => {
  it('writes nothing without limits', () => {
    expect(cgroupWrites(NO_CGROUP_LIMITS)).toEqual([]);
    expect(controllersFor(NO_CGROUP_LIMITS)).toEqual([]);
  });

  it('gives --memory a swap limit as large again, as podman does without --memory-swap', () => {
    expect(cgroupWrites(limits({ memory: 64 * MiB }))).toEqual([
      { file: 'memory.max', value: '67108864', controller: 'memory' },
      { file: 'memory.swap.max', value: '67108864', controller: 'memory' },
    ]);
  });

  it('turns --memory-swap (memory plus swap) into swap alone, and -1 into max', () => {
    const swap = (memorySwap: CgroupLimits['memorySwap']): string | undefined =>
      cgroupWrites(limits({ memory: 64 * MiB, memorySwap })).find((w) => w.file === 'memory.swap.max')?.value;
    expect(swap(96 * MiB)).toBe(String(32 * MiB));
    expect(swap(64 * MiB)).toBe('0');
    expect(swap('unlimited')).toBe('max');
  });

  it('writes every limit to its file, cpuset first', () => {
    const all = limits({ memory: 128 * MiB, memoryReservation: 32 * MiB, cpus: 1.5, cpuWeight: 200, cpusetCpus: '0-1,3', pids: 100 });
    expect(cgroupWrites(all).map((w) => `${w.file}=${w.value}`)).toEqual([
      'cpuset.cpus=0-1,3',
      'memory.low=33554432',
      'memory.max=134217728',
      'memory.swap.max=134217728',
      'cpu.max=150000 100000',
      'cpu.weight=200',
      'pids.max=100',
    ]);
    expect(controllersFor(all).sort()).toEqual(['cpu', 'cpuset', 'memory', 'pids']);
  });

  it('writes max for an unlimited --pids-limit', () => {
    expect(cgroupWrites(limits({ pids: 'unlimited' }))).toEqual([{ file: 'pids.max', value: 'max', controller: 'pids' }]);
  });

  it("converts --cpu-shares to cpu.weight with podman's formula", () => {
    expect(sharesToWeight(2)).toBe(1);
    expect(sharesToWeight(1024)).toBe(39);
    expect(sharesToWeight(262144)).toBe(10000);
  });

  it('gives a systemd scope the same limits as unit properties', () => {
    const all = limits({ memory: 128 * MiB, memoryReservation: 32 * MiB, cpus: 0.5, cpuWeight: 50, cpusetCpus: '2', pids: 'unlimited' });
    expect(systemdProperties(all)).toEqual([
      'AllowedCPUs=2',
      'MemoryLow=33554432',
      'MemoryMax=134217728',
      'MemorySwapMax=134217728',
      'CPUQuota=50%',
      'CPUWeight=50',
      'TasksMax=infinity',
    ]);
  });
});

/** A directory shaped like cgroupfs: interface files exist only where the kernel would make them. */
function cgroupDir(dir: string, files: readonly string[]): string {
  mkdirSync(dir, { recursive: true });
  for (const file of files) writeFileSync(join(dir, file), '');
  return dir;
}

const CONTROLLER_FILES = ['cgroup.procs', 'cgroup.controllers', 'memory.max', 'memory.swap.max', 'memory.low', 'cpu.max', 'cpu.weight', 'cpuset.cpus', 'pids.max'];

describe('a container cgroup in a fake cgroup tree', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'nook-cgroup-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('enables the controllers for the children of the parent, then writes the limits in the new cgroup', () => {
    const parent = cgroupDir(join(root, 'user.slice', 'user@1000.service', 'app.slice'), ['cgroup.procs', 'cgroup.subtree_control']);
    const id = 'c0ffee'.padEnd(64, '0');
    // What mkdir on cgroupfs makes, with the controllers the parent enables.
    cgroupDir(join(parent, `nook-${id}`), CONTROLLER_FILES);
    const dir = makeContainerCgroup(parent, id, limits({ memory: 64 * MiB, pids: 50, cpus: 2 }));
    expect(dir).toBe(join(parent, `nook-${id}`));
    expect(readFileSync(join(parent, 'cgroup.subtree_control'), 'utf8')).toBe('+memory +cpu +pids');
    const read = (file: string): string => readFileSync(join(dir, file), 'utf8');
    expect([read('memory.max'), read('memory.swap.max'), read('cpu.max'), read('pids.max')]).toEqual(['67108864', '67108864', '200000 100000', '50']);
    expect([read('memory.low'), read('cpu.weight'), read('cpuset.cpus')]).toEqual(['', '', '']);
  });

  it('refuses to make up an interface file the kernel did not create (its controller is off)', () => {
    const dir = cgroupDir(join(root, 'c'), ['cgroup.procs', 'memory.max']);
    expect(() => writeCgroupLimits(dir, limits({ pids: 10 }))).toThrow(HostError);
    expect(() => writeCgroupLimits(dir, limits({ pids: 10 }))).toThrow(/pids\.max/);
  });

  it('removes the cgroup it made when a limit cannot be written', () => {
    const parent = cgroupDir(join(root, 'p'), ['cgroup.procs', 'cgroup.subtree_control']);
    expect(() => makeContainerCgroup(parent, 'x'.repeat(64), limits({ memory: MiB }))).toThrow(HostError);
  });
});

const mountinfo = (lines: readonly string[]): string => lines.map((l, i) => `${i + 20} 1 0:${i} / ${l}`).join('\n');

describe('the host cgroup layout', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'nook-cgroup-host-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const view = (mounts: readonly string[], own: string, extra: Partial<CgroupHostView> = {}): CgroupHostView => ({
    mounts: parseMountinfo(mountinfo(mounts)),
    selfCgroup: `0::${own}\n`,
    uid: process.getuid!(),
    systemdRun: null,
    runtimeDirs: [],
    ...extra,
  });

  it('tells cgroup v2 from hybrid and v1 by what is mounted where', () => {
    expect(readCgroupHost(view(['/sys/fs/cgroup rw - cgroup2 cgroup2 rw'], '/')).version).toBe('v2');
    const hybrid = readCgroupHost(view(['/sys/fs/cgroup rw - tmpfs tmpfs rw', '/sys/fs/cgroup/memory rw - cgroup cgroup rw,memory', '/sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw'], '/'));
    expect([hybrid.version, hybrid.unifiedMount]).toEqual(['hybrid', '/sys/fs/cgroup/unified']);
    expect(readCgroupHost(view(['/sys/fs/cgroup rw - tmpfs tmpfs rw', '/sys/fs/cgroup/pids rw - cgroup cgroup rw,pids'], '/')).version).toBe('v1');
    expect(readCgroupHost(view([], '/')).version).toBe('none');
  });

  it("finds the nearest ancestor of nook's cgroup that the user may write, and the controllers it enables", () => {
    const mount = join(root, 'cgroup');
    const service = cgroupDir(join(mount, 'user.slice', 'user@1.service'), ['cgroup.procs', 'cgroup.subtree_control']);
    writeFileSync(join(service, 'cgroup.subtree_control'), 'cpu memory pids\n');
    const slice = cgroupDir(join(service, 'app.slice'), ['cgroup.procs', 'cgroup.subtree_control']);
    chmodSync(join(slice, 'cgroup.procs'), 0o444);
    cgroupDir(join(slice, 'term.scope'), ['cgroup.procs', 'cgroup.subtree_control']);
    // nook's own cgroup holds processes, so it is never the one; app.slice is closed.
    expect(findDelegated(mount, '/user.slice/user@1.service/app.slice/term.scope', process.getuid!())).toEqual({ dir: service, controllers: ['cpu', 'memory', 'pids'] });
    expect(findDelegated(mount, '/user.slice/user@1.service', process.getuid!())).toBeNull();
    expect(findDelegated(mount, '/other.slice/x.scope', process.getuid!())).toBeNull();
  });

  it('finds no delegation in cgroups of another owner', () => {
    const mount = join(root, 'cgroup');
    cgroupDir(join(mount, 'a', 'b'), ['cgroup.procs', 'cgroup.subtree_control']);
    expect(findDelegated(mount, '/a/b/c', process.getuid!() + 1)).toBeNull();
  });
});

describe('where limits can go', () => {
  const base: CgroupHost = { version: 'v2', unifiedMount: '/sys/fs/cgroup', ownPath: '/user.slice/user-1000.slice/session-3.scope', delegated: null, systemd: null };

  it('says cgroup v1 and hybrid hosts cannot enforce them, and how to fix it', () => {
    const v1 = placeLimits({ ...base, version: 'v1', unifiedMount: null }, ['memory']);
    const hybrid = placeLimits({ ...base, version: 'hybrid', unifiedMount: '/sys/fs/cgroup/unified' }, ['memory']);
    expect(v1).toMatchObject({ kind: 'unavailable', reason: expect.stringMatching(/cgroup v1/), fix: expect.stringMatching(/systemd\.unified_cgroup_hierarchy=1/) });
    expect(hybrid).toMatchObject({ kind: 'unavailable', reason: expect.stringMatching(/hybrid, at \/sys\/fs\/cgroup\/unified/) });
  });

  it('takes a delegated cgroup that enables the controllers, else a systemd scope', () => {
    const delegated = { dir: '/sys/fs/cgroup/user.slice/user@1000.service/app.slice', controllers: ['memory', 'pids'] };
    const systemd = { systemdRun: '/usr/bin/systemd-run', runtimeDir: '/run/user/1000', controllers: ['cpu', 'memory', 'pids'] };
    expect(placeLimits({ ...base, delegated }, ['memory', 'pids'])).toEqual({ kind: 'delegated', parent: delegated.dir });
    expect(placeLimits({ ...base, delegated, systemd }, ['cpu'])).toEqual({ kind: 'systemd', systemdRun: systemd.systemdRun, runtimeDir: systemd.runtimeDir });
    expect(placeLimits({ ...base, delegated }, ['cpu'])).toMatchObject({ kind: 'unavailable', fix: expect.stringContaining(`echo "+cpu" > ${delegated.dir}/cgroup.subtree_control`) });
    expect(placeLimits({ ...base, systemd }, ['cpuset'])).toMatchObject({ kind: 'unavailable', reason: expect.stringMatching(/not given the cpuset controller/), fix: expect.stringMatching(/Delegate=/) });
  });

  it('names linger or delegation when there is neither', () => {
    expect(placeLimits(base, ['memory'])).toMatchObject({ kind: 'unavailable', reason: expect.stringContaining('session-3.scope'), fix: expect.stringContaining('loginctl enable-linger') });
  });
});

describe('mountinfo', () => {
  it('parses escaped mount points and finds the mount a path is on', () => {
    const mounts = parseMountinfo(
      ['22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw', '40 22 0:50 / /home/a\\040b rw - nfs4 srv:/home rw', '41 22 0:51 / /home rw - xfs /dev/sdb rw'].join('\n'),
    );
    expect(mounts.map((m) => [m.mountPoint, m.fstype])).toEqual([['/', 'ext4'], ['/home/a b', 'nfs4'], ['/home', 'xfs']]);
    expect(mountOf(mounts, '/home/a b/.local/share/nook')?.fstype).toBe('nfs4');
    expect(mountOf(mounts, '/home/ab')?.fstype).toBe('xfs');
    expect(mountOf(mounts, '/var/tmp')?.fstype).toBe('ext4');
  });
});
