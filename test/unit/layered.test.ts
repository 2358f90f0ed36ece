import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { distinctLowerDirs, resolveLayeredPath } from '../../src/rootfs/layered.js';

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

describe('distinctLowerDirs', () => {
  it('keeps a layer the image has twice once, at its topmost place', () => {
    expect(distinctLowerDirs(['/l/c', '/l/x', '/l/b', '/l/x', '/l/a'])).toEqual(['/l/c', '/l/x', '/l/b', '/l/a']);
  });
});
