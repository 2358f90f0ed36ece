import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileExecPlan, compilePlan } from '../../src/plan/compile.js';
import { encodePlan } from '../../src/plan/encode.js';
import type { Op } from '../../src/plan/ops.js';
import { tarball, type TarEntry } from '../helpers/tarball.js';
import { makeSpec, SINGLE_MAP } from './spec-fixture.js';

/**
 * The fuzz targets' seeds (test/fuzz/corpus): for the plan decoder, plans the encoder
 * writes, so a fuzzer that starts from valid plans reaches every op's decoding at once;
 * for the layer extractor, layers of the kinds it must accept and refuse. When the
 * protocol changes, this test says so; NOOK_UPDATE_FUZZ_SEEDS=1 rewrites them.
 */
const CORPUS = join(import.meta.dirname, '..', 'fuzz', 'corpus');

/** A filter of two instructions (ret ALLOW), enough for the decoder's checks. */
const BPF = new Uint8Array([6, 0, 0, 0, 0, 0, 0xff, 0x7f, 6, 0, 0, 0, 0, 0, 0xff, 0x7f]);

const monitor: Op[] = [
  { op: 'state', path: '/home/u/.local/share/nook/containers/c0ffee/state' },
  { op: 'stdio', tty: true, stdin: true, log: '/home/u/.local/share/nook/containers/c0ffee/ctr.log' },
  { op: 'restart', policy: 'on-failure', maxRetries: 3, stopFile: '/home/u/.local/share/nook/containers/c0ffee/stop' },
  { op: 'detach' },
  { op: 'exit-command', argv: ['/usr/bin/node', '/opt/nook/bin/nook', 'rm', '-v', 'c0ffee'], env: ['PATH=/usr/bin'] },
];

const plans: Record<string, readonly Op[]> = {
  'directory-root': compilePlan(makeSpec()),
  'single-map': compilePlan(makeSpec({ uidMap: SINGLE_MAP(1000), gidMap: SINGLE_MAP(1000), user: { uid: 0, gid: 0, groups: [] } })),
  'overlay-everything': [
    ...monitor,
    ...compilePlan(
      makeSpec({
        rootfs: { kind: 'overlay', overlay: { lowerDirs: ['/s/layers/b/diff', '/s/layers/a/diff'], upperDir: '/s/c/upper', workDir: '/s/c/work', target: '/s/c/merged' } },
        network: { kind: 'host' },
        readOnly: true,
        tty: true,
        init: true,
        noNewPrivs: true,
        seccomp: [BPF],
        sysctls: [{ path: '/proc/sys/net/ipv4/ip_forward', value: '1' }],
        mounts: [
          { kind: 'bind', source: '/home/u/data', destination: '/data', directory: true, readOnly: true, options: ['nosuid', 'nodev'], propagation: 'slave' },
          { kind: 'bind', source: '/home/u/file', destination: '/etc/app.conf', directory: false, readOnly: false, options: ['noexec'], propagation: 'private' },
          { kind: 'tmpfs', destination: '/scratch', flags: ['nosuid', 'noatime'], data: 'size=65536k,mode=1777' },
        ],
      }),
    ),
  ],
  exec: [
    { op: 'stdio', tty: true, stdin: true, log: null },
    ...compileExecPlan({
      pid: 4242,
      startTime: 4711,
      hostNetwork: false,
      workdir: '/work',
      user: { uid: 1000, gid: 1000, groups: [10] },
      capabilities: 0x800405fbn,
      noNewPrivs: false,
      seccomp: [BPF],
      tty: true,
      process: { rlimits: [], oomScoreAdj: null },
      argv: ['sh', '-c', 'id'],
      env: ['PATH=/bin'],
    }),
  ],
};

const layer = (entries: readonly TarEntry[]): Buffer => tarball(entries, { gzip: false });

const layers: Record<string, Buffer> = {
  typical: layer([
    { type: 'dir', path: 'etc/' },
    { type: 'file', path: 'etc/passwd', body: 'root:x:0:0::/root:/bin/sh\n' },
    { type: 'file', path: 'etc/.wh.shadow' },
    { type: 'dir', path: 'home/app/', uid: 1000, gid: 1000, mode: 0o700 },
    { type: 'file', path: 'bin/busybox', body: 'ELF', mode: 0o755 },
    { type: 'symlink', path: 'bin/sh', target: 'busybox' },
    { type: 'hardlink', path: 'bin/ls', target: 'bin/busybox' },
    { type: 'symlink', path: 'abs', target: '/etc/passwd' },
    { type: 'file', path: 'usr/bin/su', body: 'su', mode: 0o4755 },
    { type: 'file', path: '.wh.removed' },
    { type: 'dir', path: 'opaque/' },
    { type: 'file', path: 'opaque/.wh..wh..opq' },
  ]),
  replaced: layer([
    { type: 'file', path: 'a', body: 'first' },
    { type: 'dir', path: 'a/' },
    { type: 'symlink', path: 'b', target: 'a' },
    { type: 'file', path: 'b', body: 'replaces the link' },
    { type: 'dir', path: 'c/' },
    { type: 'file', path: 'c', body: 'replaces the directory' },
    { type: 'dir', path: './' },
  ]),
  'write-through-link': layer([
    { type: 'symlink', path: 'link', target: '../outside' },
    { type: 'file', path: 'link/x', body: 'out' },
  ]),
  'hardlink-out': layer([{ type: 'hardlink', path: 'hl', target: '../outside/canary' }]),
  'absolute-and-dotdot': layer([
    { type: 'file', path: '/abs', body: 'x' },
    { type: 'file', path: 'a/../../b', body: 'x' },
  ]),
  'whiteout-through-link': layer([
    { type: 'symlink', path: 'dir', target: '/' },
    { type: 'file', path: 'dir/.wh.etc' },
  ]),
};

/** Compares the seeds on disk with `expected` (or writes them, when asked). */
function checkSeeds(dir: string, expected: readonly (readonly [string, Buffer])[]): void {
  if (process.env.NOOK_UPDATE_FUZZ_SEEDS === '1') {
    mkdirSync(dir, { recursive: true });
    for (const [file, bytes] of expected) writeFileSync(join(dir, file), bytes);
  }
  expect(existsSync(dir) ? readdirSync(dir).sort() : []).toEqual(expected.map(([file]) => file).sort());
  for (const [file, bytes] of expected) expect(readFileSync(join(dir, file)), `${file} (NOOK_UPDATE_FUZZ_SEEDS=1 rewrites it)`).toEqual(bytes);
}

describe('fuzz seeds', () => {
  it('of the plan decoder are the plans the encoder writes today', () => {
    checkSeeds(join(CORPUS, 'plan-decoder'), Object.entries(plans).map(([name, plan]) => [`${name}.plan`, encodePlan(plan)] as const));
  });

  it('of the layer extractor are the layers above', () => {
    checkSeeds(join(CORPUS, 'layer-entries'), Object.entries(layers).map(([name, bytes]) => [`${name}.tar`, bytes] as const));
  });
});
