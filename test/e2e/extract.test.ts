import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import koffi from 'koffi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isolatedEnv, nook, show, type NookResult } from '../helpers/nook.js';
import { tempDir } from '../helpers/rootfs.js';
import { tarball, type TarEntry } from '../helpers/tarball.js';
import { subordinateStart } from '../helpers/subids.js';

const EXTRACTOR = join(import.meta.dirname, '..', '..', 'dist', 'extract.cjs');

let tmp: { path: string; cleanup: () => void };
let env: NodeJS.ProcessEnv;

beforeAll(() => {
  tmp = tempDir('extract');
  env = isolatedEnv(join(tmp.path, 'home'));
});
afterAll(async () => {
  // Layer files belong to container ids: only container root may remove them.
  await nook(['unshare', 'rm', '-rf', tmp.path], { env });
  tmp.cleanup();
});

let count = 0;

const libc = koffi.load('libc.so.6');
const lgetxattr = libc.func('intptr_t lgetxattr(const char *path, const char *name, _Out_ uint8_t *value, size_t size)');

function readXattr(path: string, name: string): string | null {
  const value = Buffer.alloc(64);
  const length = Number(lgetxattr(path, name, value, value.length));
  return length < 0 ? null : value.subarray(0, length).toString('utf8');
}

/**
 * The size a growing layer is announced with to be read on the extractor's reader thread
 * (main.ts reads layers of 16 MiB and more there, smaller ones on its main thread).
 */
const LARGE = 1 << 30;

/** How nook tells the extractor a downloaded blob's progress: in three steps, then the end. */
function announceWhole(length: number): string {
  return `${Math.floor(length / 3)}\n${Math.floor((2 * length) / 3)}\n${length}\nend\n`;
}

/**
 * How the extractor gets the blob: 'file' whole; 'growing' followed as a download (its
 * progress on stdin) on the main thread, 'growing-reader' as a large one on the reader
 * thread, as a pull of a large layer does.
 */
type Mode = 'file' | 'growing' | 'growing-reader';

/**
 * Extracts one crafted layer the way nook does: dist/extract.cjs inside `nook unshare`.
 * `outside` is a sibling of the layer directory holding a file nothing may touch.
 * `announce` gives a growing blob's stdin (default: announceWhole).
 */
async function extract(
  entries: readonly TarEntry[] | ((outside: string) => readonly TarEntry[]),
  compress: (tar: Buffer) => Buffer = gzipSync,
  mode: Mode = 'file',
  announce: (length: number) => string = announceWhole,
): Promise<{ result: NookResult; dir: string; outside: string }> {
  const base = join(tmp.path, `case-${++count}`);
  const dir = join(base, 'layer');
  const outside = join(base, 'outside');
  mkdirSync(dir, { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret'), 'host secret');
  const blob = join(base, 'layer.tar.gz');
  const bytes = compress(tarball(typeof entries === 'function' ? entries(outside) : entries, { gzip: false }));
  writeFileSync(blob, bytes);
  const growingTo = mode === 'growing-reader' ? LARGE : bytes.length;
  const layer = mode === 'file' ? { blob, target: dir } : { blob, target: dir, growingTo };
  const request = JSON.stringify({ layers: [layer], preserveOwners: true, maxId: 65535 });
  const result = await nook(['unshare', process.execPath, EXTRACTOR, request], { env, ...(mode === 'file' ? {} : { input: announce(bytes.length) }) });
  return { result, dir, outside };
}

describe('layer extraction inside the user namespace', () => {
  it('keeps image owners as mapped ids and reports the diff id', async () => {
    const { result, dir } = await extract([
      { type: 'dir', path: 'srv/', uid: 0, gid: 0 },
      { type: 'file', path: 'srv/mine', body: 'hello', uid: 42, gid: 43, mode: 0o640 },
      { type: 'file', path: 'srv/setuid', body: '#!/bin/sh\n', mode: 0o4755 },
      { type: 'symlink', path: 'srv/link', target: '/etc/passwd' },
      { type: 'hardlink', path: 'srv/again', target: 'srv/mine' },
    ]);
    expect(result.status, show(result)).toBe(0);
    const answer = JSON.parse(result.stdout.trim()) as { diffId: string; entries: number };
    expect(answer.diffId).toMatch(/^sha256:[0-9a-f]{64}$/);
    const base = subordinateStart('/etc/subuid') - 1;
    const groupBase = subordinateStart('/etc/subgid') - 1;
    const mine = lstatSync(join(dir, 'srv', 'mine'));
    expect([mine.uid, mine.gid, mine.mode & 0o7777]).toEqual([base + 42, groupBase + 43, 0o640]);
    expect(lstatSync(join(dir, 'srv', 'setuid')).mode & 0o7777).toBe(0o4755);
    expect(lstatSync(join(dir, 'srv', 'again')).ino).toBe(mine.ino);
    expect(lstatSync(join(dir, 'srv', 'link')).isSymbolicLink()).toBe(true);
  });

  it('takes an owner field it cannot read as 0, as the id check does', async () => {
    // Found by the layer-entries fuzzer: node-tar leaves such a field undefined, and chown threw.
    const unreadableGid = (tar: Buffer): Buffer => {
      const damaged = Buffer.from(tar);
      damaged.fill(0, 116, 124).write('x', 116);
      damaged.fill(0x20, 148, 156);
      let sum = 0;
      for (const byte of damaged.subarray(0, 512)) sum += byte;
      damaged.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
      return damaged;
    };
    const { result, dir } = await extract([{ type: 'dir', path: 'srv/', uid: 1000, gid: 1000 }], unreadableGid);
    expect(result.status, show(result)).toBe(0);
    const srv = lstatSync(join(dir, 'srv'));
    expect([srv.uid, srv.gid]).toEqual([subordinateStart('/etc/subuid') - 1 + 1000, process.getgid!()]);
  });

  for (const [name, compress] of [
    ['zstd', (tar: Buffer) => execFileSync('zstd', ['-q', '-c'], { input: tar })],
    ['uncompressed', (tar: Buffer) => tar],
  ] as const) {
    it(`reads ${name} layers, with the same diff id as gzip`, async () => {
      const entries: TarEntry[] = [{ type: 'file', path: 'hello', body: 'world\n' }];
      const gz = await extract(entries);
      const other = await extract(entries, compress);
      expect(other.result.status, show(other.result)).toBe(0);
      expect(readFileSync(join(other.dir, 'hello'), 'utf8')).toBe('world\n');
      expect(JSON.parse(other.result.stdout).diffId).toBe(JSON.parse(gz.result.stdout).diffId);
    });
  }

  it('lets a later entry of the same name win, as tar does, and makes implicit parents', async () => {
    const { result, dir } = await extract([
      { type: 'file', path: 'twice', body: 'first', mode: 0o600 },
      { type: 'file', path: 'twice', body: 'second', mode: 0o644 },
      { type: 'file', path: 'became-dir', body: 'file' },
      { type: 'dir', path: 'became-dir/' },
      { type: 'file', path: 'became-dir/inside', body: 'in' },
      { type: 'dir', path: 'was-dir/' },
      { type: 'file', path: 'was-dir', body: 'now a file' },
      { type: 'file', path: 'implicit/parents/here', body: 'deep' },
    ]);
    expect(result.status, show(result)).toBe(0);
    expect(readFileSync(join(dir, 'twice'), 'utf8')).toBe('second');
    expect(lstatSync(join(dir, 'twice')).mode & 0o777).toBe(0o644);
    expect(readFileSync(join(dir, 'became-dir', 'inside'), 'utf8')).toBe('in');
    expect(readFileSync(join(dir, 'was-dir'), 'utf8')).toBe('now a file');
    expect(readFileSync(join(dir, 'implicit', 'parents', 'here'), 'utf8')).toBe('deep');
  });

  it('turns OCI whiteouts into overlay whiteouts and opaque directories', async () => {
    const { result, dir } = await extract([
      { type: 'dir', path: 'etc/' },
      { type: 'file', path: 'etc/.wh.removed' },
      { type: 'file', path: 'gone/deeper/.wh.file' },
      { type: 'dir', path: 'var/' },
      { type: 'file', path: 'var/.wh..wh..opq' },
      { type: 'file', path: 'var/kept', body: 'x' },
    ]);
    expect(result.status, show(result)).toBe(0);
    for (const whiteout of ['etc/removed', 'gone/deeper/file']) {
      const st = lstatSync(join(dir, whiteout));
      expect(st.isCharacterDevice(), whiteout).toBe(true);
      expect(st.rdev).toBe(0);
    }
    expect(readdirSync(join(dir, 'var'))).toEqual(['kept']);
    expect(existsSync(join(dir, 'etc', '.wh.removed'))).toBe(false);
    // The directory belongs to container root, that is to the test user: its user xattrs are readable here.
    expect(readXattr(join(dir, 'var'), 'user.overlay.opaque')).toBe('y');
  });

  const hostile: Record<string, (outside: string) => readonly TarEntry[]> = {
    'an absolute path': (outside) => [{ type: 'file', path: `${outside}/pwned`, body: 'x' }],
    'a .. path': () => [{ type: 'file', path: '../outside/pwned', body: 'x' }],
    'a write through a symlink': () => [
      { type: 'symlink', path: 'escape', target: '../outside' },
      { type: 'file', path: 'escape/pwned', body: 'x' },
    ],
    'a hard link out of the layer': () => [{ type: 'hardlink', path: 'stolen', target: '../outside/secret' }],
    'a whiteout through a symlink': () => [
      { type: 'symlink', path: 'escape', target: '../outside' },
      { type: 'file', path: 'escape/.wh.secret' },
    ],
    'an owner beyond the id map': () => [{ type: 'file', path: 'big', body: 'x', uid: 70000 }],
  };

  for (const [name, entries] of Object.entries(hostile)) {
    it(`fails the layer on ${name} and writes nothing outside it`, async () => {
      const { result, outside } = await extract(entries);
      expect(result.status, show(result)).toBe(3);
      expect(JSON.parse(result.stderr.trim().split('\n').pop()!).message).toMatch(/absolute|\.\.|symlink|not a directory|beyond|link/i);
      expect(readdirSync(outside)).toEqual(['secret']);
      expect(readFileSync(join(outside, 'secret'), 'utf8')).toBe('host secret');
    });
  }

  it('refuses a NUL byte in a name or a link target as a malformed layer', async () => {
    // Found by the layer-entries fuzzer (node's fs threw a TypeError on it): node-tar cuts a
    // header field at its first NUL only up to a line break, so `a\0\n\0b` reads `a\n\0b`.
    for (const [entries, message] of [
      [[{ type: 'file', path: 'a\0\n\0b', body: 'x' }], 'entry contains a NUL byte (after "a\\n")'],
      [[{ type: 'symlink', path: 'link', target: 'a\0\n\0b' }], 'symlink target of "link" contains a NUL byte (after "a\\n")'],
    ] as const) {
      const { result } = await extract(entries);
      expect(result.status, show(result)).toBe(3);
      expect(JSON.parse(result.stderr.trim().split('\n').pop()!).message).toBe(message);
    }
  });
});

/** Every entry under `dir`: name, type, mode, owner, time, and a file's content hash or a link's target. */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const path = join(rel, name);
      const st = lstatSync(join(dir, path));
      // A file of another container id may not be readable here: its size stands in.
      const content = (): string => (st.mode & 0o004 ? createHash('sha256').update(readFileSync(join(dir, path))).digest('hex') : `${st.size} bytes`);
      // A symlink's time is when it was made: the archive's is not applied to it.
      const what = st.isSymbolicLink() ? `-> ${readlinkSync(join(dir, path))}` : `${st.mtimeMs} ${st.isFile() ? `${content()} (links ${st.nlink})` : ''}`;
      out.push(`${path} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${what}`);
      if (st.isDirectory()) walk(path);
    }
  };
  walk('');
  return out;
}

describe('large layers, read on the reader thread', () => {
  const entries: TarEntry[] = [
    { type: 'dir', path: 'srv/', uid: 0, gid: 0, mode: 0o2775 },
    { type: 'file', path: 'srv/mine', body: 'hello', uid: 42, gid: 43, mode: 0o640 },
    { type: 'file', path: 'srv/setuid', body: '#!/bin/sh\n', mode: 0o4755 },
    { type: 'symlink', path: 'srv/link', target: '/etc/passwd' },
    { type: 'hardlink', path: 'srv/again', target: 'srv/mine' },
    { type: 'dir', path: 'tmp/', mode: 0o1777 },
    { type: 'file', path: 'big', body: 'x'.repeat(3 * 1024 * 1024 + 17) },
  ];

  it('writes the same files and reports the same diff id as the main thread', async () => {
    const main = await extract(entries);
    const reader = await extract(entries, gzipSync, 'growing-reader');
    expect(reader.result.status, show(reader.result)).toBe(0);
    expect(JSON.parse(reader.result.stdout)).toEqual({ ...JSON.parse(main.result.stdout), target: reader.dir });
    expect(tree(reader.dir)).toEqual(tree(main.dir));
  });

  it('reads zstd layers there too', async () => {
    const zstd = (tar: Buffer) => execFileSync('zstd', ['-q', '-c'], { input: tar });
    const main = await extract(entries);
    const reader = await extract(entries, zstd, 'growing-reader');
    expect(reader.result.status, show(reader.result)).toBe(0);
    expect(JSON.parse(reader.result.stdout).diffId).toBe(JSON.parse(main.result.stdout).diffId);
    expect(tree(reader.dir)).toEqual(tree(main.dir));
  });

  it('refuses an entry written through a symlink of the layer, touching nothing outside', async () => {
    const { result, outside } = await extract(
      (out) => [
        { type: 'symlink', path: 'escape', target: out },
        { type: 'file', path: 'escape/secret', body: 'overwritten' },
      ],
      gzipSync,
      'growing-reader',
    );
    expect(result.status, show(result)).toBe(3);
    expect(JSON.parse(result.stderr.trim().split('\n').pop()!).message).toBe('entry "escape/secret" would be written through the symlink "escape"');
    expect(readdirSync(outside)).toEqual(['secret']);
    expect(readFileSync(join(outside, 'secret'), 'utf8')).toBe('host secret');
  });

  it('fails a layer that is cut off', async () => {
    const cut = (tar: Buffer) => {
      const gz = gzipSync(tar);
      return gz.subarray(0, gz.length >> 1);
    };
    const { result } = await extract(entries, cut, 'growing-reader');
    expect(result.status, show(result)).toBe(3);
    expect(JSON.parse(result.stderr.trim().split('\n').pop()!).message).toBe('unexpected end of file');
  });
});

describe('layers followed while they download', () => {
  const entries: TarEntry[] = [
    { type: 'dir', path: 'etc/', mode: 0o755 },
    { type: 'file', path: 'etc/motd', body: 'welcome', uid: 7, gid: 8, mode: 0o600 },
    { type: 'file', path: 'big', body: 'y'.repeat(2 * 1024 * 1024 + 5) },
  ];
  const lastMessage = (result: NookResult): string => JSON.parse(result.stderr.trim().split('\n').pop()!).message;

  for (const mode of ['growing', 'growing-reader'] as const) {
    describe(mode === 'growing' ? 'on the main thread' : 'on the reader thread', () => {
      it('writes the same files and diff id as from the whole blob', async () => {
        const whole = await extract(entries);
        const followed = await extract(entries, gzipSync, mode);
        expect(followed.result.status, show(followed.result)).toBe(0);
        expect(JSON.parse(followed.result.stdout)).toEqual({ ...JSON.parse(whole.result.stdout), target: followed.dir });
        expect(tree(followed.dir)).toEqual(tree(whole.dir));
      });

      it('fails the layer when the download stops before its end', async () => {
        const { result } = await extract(entries, gzipSync, mode, (length) => `${length >> 1}\n`);
        expect(result.status, show(result)).toBe(3);
        expect(lastMessage(result)).toBe('the download of the layer stopped before its end');
      });

      it('reads no byte past what was announced, though the file holds more', async () => {
        const { result } = await extract(entries, gzipSync, mode, (length) => `${length >> 1}\nend\n`);
        expect(result.status, show(result)).toBe(3);
        expect(lastMessage(result)).toBe('unexpected end of file');
      });

      it('refuses a malformed announcement', async () => {
        const { result } = await extract(entries, gzipSync, mode, () => '100\n-5\nend\n');
        expect(result.status, show(result)).toBe(3);
        expect(lastMessage(result)).toBe('malformed blob announcement "-5"');
      });
    });
  }
});
