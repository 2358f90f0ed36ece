import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostPlatform } from '../../src/image/platform.js';
import { isolatedEnv, nook, show, waitFor } from '../helpers/nook.js';
import { OciLayout } from '../helpers/oci-image.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { makeBusyboxRootfs, tempDir } from '../helpers/rootfs.js';
import { tarball } from '../helpers/tarball.js';

let tmp: { path: string; cleanup: () => void };
let env: NodeJS.ProcessEnv;
let registry: TestRegistry;
let image: string;

const STORE = (): string => join(env.XDG_DATA_HOME!, 'nook');

/** Names in the store that a killed command could have left behind. */
function leftovers(): string[] {
  return ['', 'blobs/sha256', 'images', 'layers', 'containers'].flatMap((dir) => {
    try {
      return readdirSync(join(STORE(), dir))
        .filter((name) => name.includes('.tmp-'))
        .map((name) => join(dir, name));
    } catch {
      return [];
    }
  });
}

beforeAll(async () => {
  tmp = tempDir('recovery');
  env = isolatedEnv(join(tmp.path, 'home'));
  registry = await startRegistry(join(tmp.path, 'registry'));
  const layout = new OciLayout(join(tmp.path, 'layout'));
  // Many small files: extraction takes long enough to be interrupted.
  const bulk = join(tmp.path, 'bulk');
  for (let d = 0; d < 40; d++) {
    mkdirSync(join(bulk, `d${d}`), { recursive: true });
    for (let f = 0; f < 100; f++) writeFileSync(join(bulk, `d${d}`, `f${f}`), `${d}/${f}\n`);
  }
  const built = layout.image([makeBusyboxRootfs(join(tmp.path, 'rootfs')), bulk], { os: 'linux', architecture: hostPlatform().architecture });
  layout.ref('bulk', built.manifest);
  const evil = layout.image([layout.tarLayer(tarball([{ type: 'file', path: '../escaped', body: 'x' }], { gzip: false }))], {
    os: 'linux',
    architecture: hostPlatform().architecture,
  });
  layout.ref('evil', evil.manifest);
  await Promise.all([layout.push('bulk', `${registry.host}/bulk:1`), layout.push('evil', `${registry.host}/evil:1`)]);
  image = `${registry.host}/bulk:1`;
}, 120_000);

afterAll(async () => {
  await registry?.stop();
  await nook(['unshare', 'rm', '-rf', tmp.path], { env });
  tmp.cleanup();
});

describe('a hostile layer', () => {
  it('fails the pull while it downloads, and leaves the store as it was', async () => {
    const before = (dir: string): string[] => {
      try {
        return readdirSync(join(STORE(), dir)).sort();
      } catch {
        return [];
      }
    };
    const blobs = before('blobs/sha256');
    const layers = before('layers');
    const result = await nook(['pull', '--tls-verify=false', `${registry.host}/evil:1`], { env });
    expect(result.status, show(result)).toBe(125);
    expect(result.stderr).toMatch(/cannot be extracted: entry "\.\.\/escaped" contains "\.\."/);
    expect(before('blobs/sha256')).toEqual(blobs);
    expect(before('layers')).toEqual(layers);
    expect(leftovers()).toEqual([]);
  });
});

describe('a store after a killed command', () => {
  it('is valid after a pull killed while it extracts, and the next pull finishes the job', async () => {
    const killed = await nook(['pull', '--tls-verify=false', image], {
      env,
      onSpawn: (child, _stdout) => {
        void waitFor(() => readdirSync(join(STORE(), 'layers'), { withFileTypes: true }).some((e) => e.name.includes('.tmp-')), 'extraction to start', 30_000)
          .then(() => child.kill('SIGKILL'))
          .catch(() => child.kill('SIGKILL'));
      },
    });
    expect(killed.signal, show(killed)).toBe('SIGKILL');
    const listed = await nook(['images', '--format', 'json'], { env });
    expect(listed.status, show(listed)).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([]);

    const again = await nook(['pull', '-q', '--tls-verify=false', image], { env });
    expect(again.status, show(again)).toBe(0);
    expect(leftovers()).toEqual([]);
    const run = await nook(['run', '--rm', image, 'sh', '-c', 'ls /d39 | wc -l'], { env });
    expect(run.stdout.trim(), show(run)).toBe('100');
  });

  it('sweeps a half-extracted layer whose command is gone, even with files of other ids', async () => {
    // An exited process's pid, and a temp dir in its name with a file only container root may remove.
    const dead = (await nook(['unshare', 'sh', '-c', 'echo $$'], { env })).stdout.trim();
    const stale = join(STORE(), 'layers', `${'0'.repeat(64)}.tmp-${dead}-abcdef`);
    const made = await nook(['unshare', 'sh', '-c', `mkdir -p ${stale}/diff/x && touch ${stale}/diff/x/f && chown -R 1000:1000 ${stale}/diff/x && chmod 700 ${stale}/diff/x`], { env });
    expect(made.status, show(made)).toBe(0);
    expect(leftovers()).toHaveLength(1);
    const run = await nook(['run', '--rm', image, 'true'], { env });
    expect(run.status, show(run)).toBe(0);
    expect(leftovers()).toEqual([]);
  });
});
