import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { directoryFiles, resolveUser } from '../../src/rootfs/users.js';

const FULL = { maxUid: 65536, maxGid: 65536 };
const SINGLE = { maxUid: 0, maxGid: 0 };

const PASSWD = [
  'root:x:0:0:root:/root:/bin/sh',
  'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin',
  '# a comment:x:5:5::/:',
  'alice:x:1000:1000:Alice:/home/alice:/bin/sh',
  'nohome:x:1001:1001:::/bin/sh',
  'big:x:70000:70000::/home/big:/bin/sh',
  'broken:x:abc:1::/:/bin/sh',
  '',
].join('\n');

const GROUP = [
  'root:x:0:',
  'wheel:x:10:root,alice',
  'audio:x:29:bob,alice',
  'staff:x:50:',
  'alice:x:1000:alice',
  'huge:x:70001:alice',
  '',
].join('\n');

describe('resolveUser', () => {
  let root: string;
  let bare: string;

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'nook-users-'));
    mkdirSync(join(root, 'etc'));
    mkdirSync(join(root, 'usr', 'share', 'base'), { recursive: true });
    // The image's passwd is an absolute symlink: it must be read from inside the root.
    writeFileSync(join(root, 'usr', 'share', 'base', 'passwd'), PASSWD);
    symlinkSync('/usr/share/base/passwd', join(root, 'etc', 'passwd'));
    writeFileSync(join(root, 'etc', 'group'), GROUP);
    bare = mkdtempSync(join(tmpdir(), 'nook-users-bare-'));
  });

  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
    rmSync(bare, { recursive: true, force: true });
  });

  const expectUsageError = (spec: string, limits = FULL, message?: RegExp): UsageError => {
    let caught: unknown;
    try {
      resolveUser(directoryFiles(root), spec, limits);
    } catch (err) {
      caught = err;
    }
    expect(caught, `-u ${JSON.stringify(spec)}`).toBeInstanceOf(UsageError);
    if (message) expect((caught as UsageError).message).toMatch(message);
    return caught as UsageError;
  };

  it('resolves a name to its uid, primary gid, home and groups: its own and those listing it', () => {
    // huge (70001) lies outside the id map and is left out.
    expect(resolveUser(directoryFiles(root), 'alice', FULL)).toEqual({ uid: 1000, gid: 1000, groups: [10, 29, 1000], home: '/home/alice' });
  });

  it('resolves a known uid like its name', () => {
    expect(resolveUser(directoryFiles(root), '1000', FULL)).toEqual(resolveUser(directoryFiles(root), 'alice', FULL));
    expect(resolveUser(directoryFiles(root), '0', FULL)).toEqual({ uid: 0, gid: 0, groups: [0, 10], home: '/root' });
  });

  it('gives the default root (no user asked for) only the groups listing it, as podman', () => {
    expect(resolveUser(directoryFiles(root), undefined, FULL)).toEqual({ uid: 0, gid: 0, groups: [10], home: '/root' });
    expect(resolveUser(directoryFiles(bare), undefined, FULL)).toEqual({ uid: 0, gid: 0, groups: [], home: '/' });
  });

  it('accepts an unknown numeric uid with gid 0 and home /', () => {
    expect(resolveUser(directoryFiles(root), '4242', FULL)).toEqual({ uid: 4242, gid: 0, groups: [0], home: '/' });
    expect(resolveUser(directoryFiles(root), '4242:7', FULL)).toEqual({ uid: 4242, gid: 7, groups: [7], home: '/' });
    // uid 5 appears only on a commented-out line.
    expect(resolveUser(directoryFiles(root), '5', FULL)).toEqual({ uid: 5, gid: 0, groups: [0], home: '/' });
  });

  it('takes an explicit group by name or id, with that group alone', () => {
    expect(resolveUser(directoryFiles(root), 'alice:staff', FULL)).toEqual({ uid: 1000, gid: 50, groups: [50], home: '/home/alice' });
    expect(resolveUser(directoryFiles(root), '1000:29', FULL)).toEqual({ uid: 1000, gid: 29, groups: [29], home: '/home/alice' });
  });

  it('adds --group-add groups by name or gid, once each', () => {
    expect(resolveUser(directoryFiles(root), 'alice', FULL, ['staff', '4000', '29']).groups).toEqual([10, 29, 50, 1000, 4000]);
    expect(resolveUser(directoryFiles(root), '1000:1000', FULL, ['wheel']).groups).toEqual([10, 1000]);
    expect(resolveUser(directoryFiles(root), undefined, FULL, ['0']).groups).toEqual([0, 10]);
  });

  it('refuses --group-add groups it cannot resolve or map', () => {
    const refused = (groupAdd: string[], message: RegExp) => expect(() => resolveUser(directoryFiles(root), 'alice', FULL, groupAdd)).toThrow(message);
    refused(['nosuch'], /unable to find group nosuch/);
    refused(['bad group'], /invalid group "bad group" in --group-add/);
    refused(['70001'], /outside the container's id map/);
    refused(['huge'], /outside the container's id map/);
    refused(['keep-groups'], /keep-groups is not supported/);
  });

  it('gives home / to a user with an empty home field', () => {
    expect(resolveUser(directoryFiles(root), 'nohome', FULL).home).toBe('/');
  });

  it('refuses unknown names', () => {
    expectUsageError('mallory', FULL, /unable to find user mallory/);
    expectUsageError('alice:nogroup', FULL, /unable to find group nogroup/);
    expectUsageError('broken');
  });

  it('refuses malformed user specs', () => {
    for (const spec of ['a:b:c', '', 'x:', ':1', ':', 'bad name', '-1', 'alice:bad group']) expectUsageError(spec);
  });

  it('refuses ids outside the id map', () => {
    expectUsageError('70000', FULL, /outside the container's id map/);
    expectUsageError('big');
    expectUsageError('0:70000');
    expectUsageError('alice:huge');
  });

  it('points at /etc/subuid when only root is mapped', () => {
    expect(resolveUser(directoryFiles(root), 'root', SINGLE)).toEqual({ uid: 0, gid: 0, groups: [], home: '/root' });
    expect(expectUsageError('alice', SINGLE).hint).toMatch(/subuid/);
    // setgroups is denied with a single-id map: no group list, not even root's own.
    expect(() => resolveUser(directoryFiles(root), 'root', SINGLE, ['0'])).toThrow(/--group-add needs a subordinate gid range/);
  });

  it('works in a rootfs without /etc/passwd and /etc/group', () => {
    expect(resolveUser(directoryFiles(bare), '0', FULL)).toEqual({ uid: 0, gid: 0, groups: [0], home: '/' });
    expect(resolveUser(directoryFiles(bare), '1000:1000', FULL)).toEqual({ uid: 1000, gid: 1000, groups: [1000], home: '/' });
    expect(() => resolveUser(directoryFiles(bare), 'root', FULL)).toThrow(UsageError);
  });
});
