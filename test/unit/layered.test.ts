import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RootfsError } from '../../src/errors.js';
import { distinctLowerDirs, layeredKind, MAX_ROOT_FILE, readLayeredFile, resolveLayeredPath } from '../../src/rootfs/layered.js';

describe('resolveLayeredPath', () => {
  let base: string;
  let lower: string;
  let upper: string;
  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), 'nook-layered-'));
    lower = join(base, 'lower');
    upper = join(base, 'upper');
    mkdirSync(join(lower, 'data', 'cache'), { recursive: true });
    mkdirSync(join(lower, 'var'), { recursive: true });
    symlinkSync('/data', join(lower, 'var', 'lib'));
    mkdirSync(join(upper, 'var'), { recursive: true });
    symlinkSync('../../../../../etc', join(upper, 'escape'));
    symlinkSync('loop', join(upper, 'loop'));
    writeFileSync(join(upper, 'file'), '');
  });
  afterEach(() => rmSync(base, { recursive: true, force: true }));

  it("follows the image's links, topmost layer first, inside the root", () => {
    const layers = [upper, lower];
    expect(resolveLayeredPath(layers, '/var/lib/cache')).toBe('/data/cache');
    expect(resolveLayeredPath(layers, '/var/lib/new/dir')).toBe('/data/new/dir');
    expect(resolveLayeredPath(layers, '/escape/x')).toBe('/etc/x');
    expect(resolveLayeredPath(layers, '/plain/path')).toBe('/plain/path');
  });

  it('gives up on loops and on a file in the way', () => {
    expect(resolveLayeredPath([upper, lower], '/loop/x')).toBeNull();
    expect(resolveLayeredPath([upper, lower], '/file/x')).toBeNull();
  });
});

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a throw');
}

describe('readLayeredFile', () => {
  let base: string;
  let lower: string;
  let upper: string;
  let host: string;
  const HOST_PASSWD = 'host:x:4242:4242::/home/host:/bin/sh\n';
  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), 'nook-layered-'));
    lower = join(base, 'lower');
    upper = join(base, 'upper');
    // Stands for any directory of the host's that a link in a layer could name.
    host = join(base, 'host');
    mkdirSync(lower);
    mkdirSync(upper);
    mkdirSync(host);
    writeFileSync(join(host, 'passwd'), HOST_PASSWD);
  });
  afterEach(() => rmSync(base, { recursive: true, force: true }));

  it('reads the topmost layer that has the file', () => {
    mkdirSync(join(lower, 'etc'));
    mkdirSync(join(upper, 'etc'));
    writeFileSync(join(lower, 'etc', 'passwd'), 'lower\n');
    writeFileSync(join(lower, 'etc', 'group'), 'lower group\n');
    writeFileSync(join(upper, 'etc', 'passwd'), 'upper\n');
    expect(readLayeredFile([upper, lower], '/etc/passwd')).toBe('upper\n');
    expect(readLayeredFile([upper, lower], '/etc/group')).toBe('lower group\n');
    expect(readLayeredFile([upper, lower], '/etc/shadow')).toBeNull();
  });

  it('never follows a link in a directory component out of the root', () => {
    symlinkSync(host, join(lower, 'etc'));
    expect(readLayeredFile([lower], '/etc/passwd')).toBeNull();
    symlinkSync(`../../../../../../..${host}`, join(upper, 'etc'));
    expect(readLayeredFile([upper, lower], '/etc/passwd')).toBeNull();
  });

  it('resolves a link in a lower layer only where no upper directory hides it', () => {
    // The upper layer's /etc directory hides the lower layer's /etc link, as in overlayfs.
    symlinkSync(host, join(lower, 'etc'));
    mkdirSync(join(upper, 'etc'));
    expect(readLayeredFile([upper, lower], '/etc/passwd')).toBeNull();
    // A link to an absolute path means that path in the root: here the upper layer's.
    mkdirSync(join(upper, host), { recursive: true });
    writeFileSync(join(upper, host, 'passwd'), 'in the root\n');
    rmSync(join(upper, 'etc'), { recursive: true });
    expect(readLayeredFile([upper, lower], '/etc/passwd')).toBe('in the root\n');
  });

  it('refuses a FIFO instead of hanging on it', () => {
    mkdirSync(join(upper, 'etc'));
    execFileSync('mkfifo', [join(upper, 'etc', 'passwd')]);
    const err = thrown(() => readLayeredFile([upper], '/etc/passwd'));
    expect(err).toBeInstanceOf(RootfsError);
    expect(err.message).toBe("refusing to read /etc/passwd in the container's root filesystem: it is a FIFO, not a regular file");
  });

  it('refuses a directory, and a link to one', () => {
    mkdirSync(join(upper, 'etc', 'passwd'), { recursive: true });
    symlinkSync('/etc/passwd', join(upper, 'group'));
    expect(() => readLayeredFile([upper], '/etc/passwd')).toThrow(/it is a directory, not a regular file/);
    expect(() => readLayeredFile([upper], '/group')).toThrow(/it is a directory, not a regular file/);
  });

  it('refuses a file larger than the bound, without reading it', () => {
    mkdirSync(join(upper, 'etc'));
    // Sparse: 100 MiB that take no disk.
    writeFileSync(join(upper, 'etc', 'passwd'), '');
    truncateSync(join(upper, 'etc', 'passwd'), 100 << 20);
    writeFileSync(join(upper, 'etc', 'group'), Buffer.alloc(MAX_ROOT_FILE, 'a'));
    const err = thrown(() => readLayeredFile([upper], '/etc/passwd'));
    expect(err).toBeInstanceOf(RootfsError);
    expect(err.message).toBe("refusing to read /etc/passwd in the container's root filesystem: it is larger than 4 MiB");
    expect(readLayeredFile([upper], '/etc/group')).toHaveLength(MAX_ROOT_FILE);
  });

  it('closes what it passes: a path of 24000 names needs no more descriptors than its depth', () => {
    for (const layer of [upper, lower]) mkdirSync(join(layer, 'a', 'etc'), { recursive: true });
    writeFileSync(join(lower, 'a', 'etc', 'passwd'), 'deep\n');
    symlinkSync('/a', join(upper, 'up'));
    const open = (): number => readdirSync('/proc/self/fd').length;
    const before = open();
    // Each name opens a directory in both layers; kept open, they would pass any fd limit.
    expect(readLayeredFile([upper, lower], `${'/a/..'.repeat(12_000)}${'/up/..'.repeat(30)}/up/etc/passwd`)).toBe('deep\n');
    expect(open()).toBe(before);
  });

  it('a whiteout hides the file and its parents below it', () => {
    mkdirSync(join(lower, 'etc'));
    writeFileSync(join(lower, 'etc', 'passwd'), 'lower\n');
    // A 0:0 character device needs mknod; a regular file in the way hides the directory too.
    writeFileSync(join(upper, 'etc'), '');
    expect(readLayeredFile([upper, lower], '/etc/passwd')).toBeNull();
  });
});

describe('distinctLowerDirs', () => {
  it('keeps a layer the image has twice once, at its topmost place', () => {
    expect(distinctLowerDirs(['/l/c', '/l/x', '/l/b', '/l/x', '/l/a'])).toEqual(['/l/c', '/l/x', '/l/b', '/l/a']);
  });
});

describe('layeredKind', () => {
  it('tells a directory from a file, through links and whiteouts of the layers', () => {
    const base = mkdtempSync(join(tmpdir(), 'nook-kind-'));
    try {
      const lower = join(base, 'lower');
      const upper = join(base, 'upper');
      mkdirSync(join(lower, 'usr', 'lib'), { recursive: true });
      writeFileSync(join(lower, 'usr', 'file'), '');
      mkdirSync(upper);
      symlinkSync('usr/lib', join(upper, 'lib'));
      expect(layeredKind([upper, lower], '/')).toBe('dir');
      expect(layeredKind([upper, lower], '/usr/lib')).toBe('dir');
      expect(layeredKind([upper, lower], '/lib')).toBe('dir');
      expect(layeredKind([upper, lower], '/usr/file')).toBe('other');
      expect(layeredKind([upper, lower], '/usr/none')).toBeNull();
      expect(layeredKind([upper, lower], '/usr/file/below')).toBeNull();
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});
