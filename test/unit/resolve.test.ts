import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLayeredFile } from '../../src/rootfs/layered.js';
import { existsInRoot } from '../../src/rootfs/resolve.js';

describe('a plain root directory, read from the host', () => {
  let root: string;
  const PASSWD = 'root:x:0:0::/root:/bin/sh\n';
  const read = (path: string): string | null => readLayeredFile([root], path);

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'nook-resolve-'));
    mkdirSync(join(root, 'real'));
    mkdirSync(join(root, 'etc'));
    writeFileSync(join(root, 'real', 'passwd'), PASSWD);
    symlinkSync('/real/passwd', join(root, 'etc', 'passwd')); // absolute: means ROOT/real/passwd
    symlinkSync('../real/passwd', join(root, 'etc', 'relative'));
    symlinkSync('/real', join(root, 'etc', 'dirlink'));
    symlinkSync('../../../../../../real', join(root, 'etc', 'climb'));
    symlinkSync('/etc', join(root, 'hostetc')); // /etc of the root, never the host's
    symlinkSync('loop2', join(root, 'loop1'));
    symlinkSync('loop1', join(root, 'loop2'));
    symlinkSync('self', join(root, 'self'));
    symlinkSync('/nowhere', join(root, 'dangling'));
  });

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('reads plain paths under the root', () => {
    expect(read('/real/passwd')).toBe(PASSWD);
    expect(read('/real/./passwd')).toBe(PASSWD);
    expect(existsInRoot(root, '/')).toBe(true);
    expect(existsInRoot(root, '/real')).toBe(true);
  });

  it('follows an absolute symlink relative to the root, not the host', () => {
    expect(read('/etc/passwd')).toBe(PASSWD);
    expect(read('/hostetc/passwd')).toBe(PASSWD);
  });

  it('follows relative symlinks and symlinked directories', () => {
    expect(read('/etc/relative')).toBe(PASSWD);
    expect(read('/etc/dirlink/passwd')).toBe(PASSWD);
  });

  it('resolves .. after a symlinked directory from its target, as the kernel does', () => {
    // /etc/dirlink is /real, so /etc/dirlink/.. is /, and /etc/dirlink/../etc/passwd is /etc/passwd.
    expect(read('/etc/dirlink/../etc/passwd')).toBe(PASSWD);
  });

  it('never lets .. climb above the root', () => {
    expect(read('/../../../real/passwd')).toBe(PASSWD);
    expect(read('/etc/climb/passwd')).toBe(PASSWD);
    expect(existsInRoot(root, '/..')).toBe(true);
  });

  it('finds nothing through symlink loops', () => {
    expect(existsInRoot(root, '/loop1')).toBe(false);
    expect(existsInRoot(root, '/self/x')).toBe(false);
    expect(read('/loop1')).toBeNull();
  });

  it('finds nothing at missing paths and dangling links', () => {
    expect(existsInRoot(root, '/missing')).toBe(false);
    expect(existsInRoot(root, '/etc/missing/passwd')).toBe(false);
    expect(existsInRoot(root, '/dangling')).toBe(false);
    expect(existsInRoot(root, '/real/passwd/below-a-file')).toBe(false);
    expect(read('/dangling')).toBeNull();
  });
});
