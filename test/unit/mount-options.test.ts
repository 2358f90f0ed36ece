import { describe, expect, it } from 'vitest';
import { parseMountFlag, parseMountFlags, parseTmpfsFlag, parseVolumeFlag } from '../../src/cli/mount-options.js';
import { UsageError } from '../../src/errors.js';

const DEFAULTS = { readOnly: false, options: [], propagation: 'private' } as const;

describe('-v', () => {
  it('takes a host path, a container path and options', () => {
    expect(parseVolumeFlag('/srv/data:/data')).toEqual({ kind: 'bind', source: '/srv/data', destination: '/data', ...DEFAULTS });
    expect(parseVolumeFlag('/srv/data/:/data/:ro,rslave,z,nosuid')).toEqual({
      kind: 'bind', source: '/srv/data', destination: '/data', readOnly: true, options: ['nosuid'], propagation: 'slave',
    });
    expect(parseVolumeFlag('/a:/b:rw,Z,shared')).toMatchObject({ readOnly: false, propagation: 'shared' });
  });

  it('resolves a source starting with . against the working directory', () => {
    expect(parseVolumeFlag('./x:/x')).toMatchObject({ kind: 'bind', source: `${process.cwd()}/x` });
  });

  it('takes a name as a named volume and a lone container path as an anonymous one', () => {
    expect(parseVolumeFlag('cache:/var/cache:ro')).toEqual({ kind: 'volume', name: 'cache', destination: '/var/cache', ...DEFAULTS, readOnly: true });
    expect(parseVolumeFlag('/scratch')).toEqual({ kind: 'volume', name: undefined, destination: '/scratch', ...DEFAULTS });
    expect(parseVolumeFlag('/scratch:ro')).toMatchObject({ kind: 'volume', name: undefined, readOnly: true });
  });

  it.each([
    ['relative destination', '/a:b'],
    ['the root as destination', '/a:/'],
    ['bad volume name', '-x:/a'],
    ['a volume name shaped like a temp name', 'v.tmp-12-ab:/a'],
    ['unknown option', '/a:/b:bogus'],
    ['ro and rw', '/a:/b:ro,rw'],
    ['two propagations', '/a:/b:private,slave'],
    ['too many parts', '/a:/b:ro:x'],
    ['an empty part', ':/b'],
  ])('refuses %s', (_what, value) => {
    expect(() => parseVolumeFlag(value)).toThrow(UsageError);
  });
});

describe('--tmpfs', () => {
  it("defaults to podman's rw,noexec,nosuid,nodev", () => {
    expect(parseTmpfsFlag('/run/x')).toEqual({ kind: 'tmpfs', destination: '/run/x', flags: ['nosuid', 'nodev', 'noexec'], data: '' });
  });

  it('takes size, mode and flags', () => {
    expect(parseTmpfsFlag('/t:size=64m,mode=1770,exec,ro')).toEqual({ kind: 'tmpfs', destination: '/t', flags: ['nosuid', 'nodev', 'ro'], data: 'size=64m,mode=1770' });
  });

  it.each(['t', '/t:size=lots', '/t:mode=999', '/t:uid=0', '/t:bogus', '/t:noatime,relatime'])('refuses %s', (value) => {
    expect(() => parseTmpfsFlag(value)).toThrow(UsageError);
  });
});

describe('--mount', () => {
  it('takes a bind with podman key names', () => {
    expect(parseMountFlag('type=bind,source=/h,target=/c,readonly,bind-propagation=rslave')).toEqual({
      kind: 'bind', source: '/h', destination: '/c', readOnly: true, options: [], propagation: 'slave',
    });
    expect(parseMountFlag('type=bind,src=/h,dst=/c,ro=false')).toEqual({ kind: 'bind', source: '/h', destination: '/c', ...DEFAULTS });
  });

  it('takes named and anonymous volumes', () => {
    expect(parseMountFlag('type=volume,src=v1,dst=/v,ro=true')).toEqual({ kind: 'volume', name: 'v1', destination: '/v', ...DEFAULTS, readOnly: true });
    expect(parseMountFlag('type=volume,destination=/v')).toMatchObject({ kind: 'volume', name: undefined, destination: '/v' });
  });

  it('takes a tmpfs with its size and mode', () => {
    expect(parseMountFlag('type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=700')).toEqual({
      kind: 'tmpfs', destination: '/t', flags: ['nosuid', 'nodev', 'noexec'], data: 'size=1m,mode=700',
    });
  });

  it.each([
    'src=/h,dst=/c',
    'type=overlay,dst=/c',
    'type=bind,dst=/c',
    'type=bind,src=rel,dst=/c',
    'type=bind,src=/h',
    'type=tmpfs,src=/h,dst=/t',
    'type=bind,src=/h,dst=/c,tmpfs-size=1m',
    'type=bind,src=/h,dst=/c,bind-propagation=sideways',
    'type=volume,src=/h,dst=/c',
  ])('refuses %s', (value) => {
    expect(() => parseMountFlag(value)).toThrow(UsageError);
  });
});

describe('all volume flags together', () => {
  it('keeps -v, then --mount, then --tmpfs', () => {
    const all = parseMountFlags({ volume: ['/h:/a'], mount: ['type=volume,src=v,dst=/b'], tmpfs: ['/c'] });
    expect(all.map((m) => m.destination)).toEqual(['/a', '/b', '/c']);
  });

  it('refuses two volumes on one destination', () => {
    expect(() => parseMountFlags({ volume: ['/h:/a/'], mount: [], tmpfs: ['/a'] })).toThrow(/duplicate mount destination/);
  });
});
