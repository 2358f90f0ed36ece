import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveInRoot } from '../../src/rootfs/resolve.js';

describe('resolveInRoot', () => {
  let root: string;

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'nook-resolve-'));
    mkdirSync(join(root, 'real'));
    mkdirSync(join(root, 'etc'));
    writeFileSync(join(root, 'real', 'passwd'), 'root:x:0:0::/root:/bin/sh\n');
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

  it('returns plain paths under the root', () => {
    expect(resolveInRoot(root, '/real/passwd')).toBe(join(root, 'real', 'passwd'));
    expect(resolveInRoot(root, '/')).toBe(root);
    expect(resolveInRoot(root, '/real/./passwd')).toBe(join(root, 'real', 'passwd'));
  });

  it('follows an absolute symlink relative to the root, not the host', () => {
    expect(resolveInRoot(root, '/etc/passwd')).toBe(join(root, 'real', 'passwd'));
    expect(resolveInRoot(root, '/hostetc/passwd')).toBe(join(root, 'real', 'passwd'));
  });

  it('follows relative symlinks and symlinked directories', () => {
    expect(resolveInRoot(root, '/etc/relative')).toBe(join(root, 'real', 'passwd'));
    expect(resolveInRoot(root, '/etc/dirlink/passwd')).toBe(join(root, 'real', 'passwd'));
  });

  it('resolves .. after a symlinked directory from its target, as the kernel does', () => {
    // /etc/dirlink is /real, so /etc/dirlink/.. is /, and /etc/dirlink/../etc/passwd is /etc/passwd.
    expect(resolveInRoot(root, '/etc/dirlink/../etc/passwd')).toBe(join(root, 'real', 'passwd'));
  });

  it('never lets .. climb above the root', () => {
    expect(resolveInRoot(root, '/../../../real/passwd')).toBe(join(root, 'real', 'passwd'));
    expect(resolveInRoot(root, '/etc/climb/passwd')).toBe(join(root, 'real', 'passwd'));
    expect(resolveInRoot(root, '/..')).toBe(root);
  });

  it('returns null for symlink loops', () => {
    expect(resolveInRoot(root, '/loop1')).toBeNull();
    expect(resolveInRoot(root, '/self/x')).toBeNull();
  });

  it('returns null for missing paths and dangling links', () => {
    expect(resolveInRoot(root, '/missing')).toBeNull();
    expect(resolveInRoot(root, '/etc/missing/passwd')).toBeNull();
    expect(resolveInRoot(root, '/dangling')).toBeNull();
    expect(resolveInRoot(root, '/real/passwd/below-a-file')).toBeNull();
  });
});
