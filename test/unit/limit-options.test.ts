import { describe, expect, it } from 'vitest';
import { parseCgroupLimits, parseContainerLimits, parseSize, parseUlimit } from '../../src/cli/limit-options.js';
import { UsageError } from '../../src/errors.js';

describe('resource flags', () => {
  it('reads sizes with binary units as podman does', () => {
    expect(parseSize('64m', '--memory')).toBe(64 * 1024 * 1024);
    expect(parseSize('1.5g', '--memory')).toBe(1.5 * 1024 ** 3);
    expect(parseSize('512MiB', '--memory')).toBe(512 * 1024 ** 2);
    expect(parseSize('100kb', '--memory')).toBe(102400);
    expect(parseSize('4096', '--memory')).toBe(4096);
    for (const bad of ['', '-1', '0', '10x', 'm', '1e9']) expect(() => parseSize(bad, '--memory')).toThrow(UsageError);
  });

  it('checks --memory-swap against --memory', () => {
    expect(parseCgroupLimits({ memory: '64m', memorySwap: '-1' }).memorySwap).toBe('unlimited');
    expect(() => parseCgroupLimits({ memorySwap: '128m' })).toThrow(/needs --memory/);
    expect(() => parseCgroupLimits({ memory: '64m', memorySwap: '32m' })).toThrow(/smaller than --memory/);
  });

  it('takes --cpu-shares or --cpu-weight, not both', () => {
    expect(parseCgroupLimits({ cpuWeight: '300' }).cpuWeight).toBe(300);
    expect(parseCgroupLimits({ cpuShares: '1024' }).cpuWeight).toBe(39);
    expect(() => parseCgroupLimits({ cpuShares: '1024', cpuWeight: '3' })).toThrow(/same thing/);
    expect(() => parseCgroupLimits({ cpuWeight: '0' })).toThrow(/--cpu-weight/);
  });

  it('reads --cpus, --cpuset-cpus and --pids-limit (0 and -1: unlimited)', () => {
    expect(parseCgroupLimits({ cpus: '0.5', cpusetCpus: '0-2,4', pidsLimit: '100' })).toMatchObject({ cpus: 0.5, cpusetCpus: '0-2,4', pids: 100 });
    expect(parseCgroupLimits({ pidsLimit: '-1' }).pids).toBe('unlimited');
    expect(parseCgroupLimits({ pidsLimit: '0' }).pids).toBe('unlimited');
    expect(() => parseCgroupLimits({ cpus: '0' })).toThrow(/--cpus/);
    expect(() => parseCgroupLimits({ cpusetCpus: '0,,1' })).toThrow(/--cpuset-cpus/);
  });

  it('reads --ulimit NAME=SOFT[:HARD], -1 as unlimited, a later one winning', () => {
    expect(parseUlimit('nofile=1024:2048')).toEqual({ name: 'nofile', soft: 1024, hard: 2048 });
    expect(parseUlimit('nproc=64')).toEqual({ name: 'nproc', soft: 64, hard: 64 });
    expect(parseUlimit('core=-1')).toEqual({ name: 'core', soft: 'unlimited', hard: 'unlimited' });
    expect(() => parseUlimit('nofile=10:5')).toThrow(/soft limit is above the hard one/);
    expect(() => parseUlimit('files=10')).toThrow(expect.objectContaining({ message: 'invalid --ulimit "files=10"', hint: expect.stringContaining('nofile') }));
    expect(() => parseUlimit('nofile=ten')).toThrow(UsageError);
    expect(parseContainerLimits({ ulimit: ['nofile=1', 'nproc=2', 'nofile=3'] }).process.rlimits).toEqual([
      { name: 'nofile', soft: 3, hard: 3 },
      { name: 'nproc', soft: 2, hard: 2 },
    ]);
  });

  it('reads --oom-score-adj from -1000 to 1000', () => {
    expect(parseContainerLimits({ ulimit: [], oomScoreAdj: '-500' }).process.oomScoreAdj).toBe(-500);
    expect(() => parseContainerLimits({ ulimit: [], oomScoreAdj: '1001' })).toThrow(/--oom-score-adj/);
  });
});
