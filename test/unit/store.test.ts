import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DigestMismatchError } from '../../src/errors.js';
import { sweepTemp, writeFileAtomic } from '../../src/store/atomic.js';
import type { Digest } from '../../src/store/digest.js';
import type { ImageRecord } from '../../src/store/images.js';
import { withStoreLock } from '../../src/store/lock.js';
import { openStore } from '../../src/store/store.js';
import { tempDir } from '../helpers/rootfs.js';

let tmp: { path: string; cleanup: () => void };
beforeEach(() => (tmp = tempDir('store')));
afterEach(() => tmp.cleanup());

const digestOf = (data: string): Digest => `sha256:${createHash('sha256').update(data).digest('hex')}`;

function record(id: string, layers: Digest[]): ImageRecord {
  return {
    id,
    configDigest: `sha256:${id}`,
    manifestDigest: digestOf(`manifest ${id}`),
    manifestMediaType: 'application/vnd.oci.image.manifest.v1+json',
    indexDigest: undefined,
    layers: layers.map((digest) => ({ digest, size: 1, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' })),
    diffIds: layers,
    os: 'linux',
    architecture: 'amd64',
    variant: undefined,
    created: undefined,
    size: layers.length,
  };
}

describe('blobs', () => {
  it('stores a stream under its digest, in a store created private', async () => {
    const store = await openStore(join(tmp.path, 'nook'));
    expect(statSync(store.root).mode & 0o777).toBe(0o700);
    const d = digestOf('hello');
    await store.blobs.write(d, Readable.from([Buffer.from('hel'), Buffer.from('lo')]), 'test blob', 5);
    expect(readFileSync(store.blobs.path(d), 'utf8')).toBe('hello');
    expect(await store.blobs.has(d)).toBe(true);
  });

  it('refuses content that does not hash to the digest, or is longer than declared, and leaves nothing', async () => {
    const store = await openStore(join(tmp.path, 'nook'));
    const d = digestOf('hello');
    await expect(store.blobs.write(d, Readable.from([Buffer.from('jello')]), 'test blob', 5)).rejects.toThrow(DigestMismatchError);
    await expect(store.blobs.write(d, Readable.from([Buffer.from('hello!')]), 'test blob', 5)).rejects.toThrow(/larger than the 5 bytes/);
    await expect(store.blobs.write(d, Readable.from([Buffer.from('hello')]), 'test blob', 4)).rejects.toThrow(DigestMismatchError);
    expect(readdirSync(store.blobs.dir)).toEqual([]);
  });

  it('receives a blob into a temp file, reporting each write, and commits it only when asked', async () => {
    const store = await openStore(join(tmp.path, 'nook'));
    const parts = [Buffer.alloc(100_000, 1), Buffer.alloc(50_000, 2), Buffer.alloc(7, 3)];
    const whole = Buffer.concat(parts);
    const d: Digest = `sha256:${createHash('sha256').update(whole).digest('hex')}`;
    const blob = store.blobs.incoming(d, 'test blob', whole.length);
    const written: number[] = [];
    await blob.receive(Readable.from(parts), (bytes) => written.push(bytes));
    expect(written.at(-1)).toBe(whole.length);
    expect(written).toEqual([...written].sort((a, b) => a - b));
    expect(readFileSync(blob.temp).equals(whole)).toBe(true);
    expect(await store.blobs.has(d)).toBe(false);
    await blob.commit();
    expect(readFileSync(store.blobs.path(d)).equals(whole)).toBe(true);
    expect(readdirSync(store.blobs.dir)).toEqual([d.slice('sha256:'.length)]);
  });

  it('fails with a broken or stopped download and removes its temp file', async () => {
    const store = await openStore(join(tmp.path, 'nook'));
    const d = digestOf('hello');
    const broken = new Readable({ read() {} });
    const receiving = store.blobs.incoming(d, 'test blob', 5).receive(broken);
    broken.push(Buffer.from('hel'));
    setImmediate(() => broken.destroy(new Error('connection reset')));
    await expect(receiving).rejects.toThrow('connection reset');
    const stopped = new Readable({ read() {} });
    const stopping = store.blobs.incoming(d, 'test blob', 5).receive(stopped);
    stopped.push(Buffer.from('hel'));
    setImmediate(() => stopped.destroy());
    await expect(stopping).rejects.toThrow('the download was stopped');
    const blob = store.blobs.incoming(d, 'test blob', 5);
    await blob.receive(Readable.from([Buffer.from('hello')]));
    await blob.discard();
    expect(readdirSync(store.blobs.dir)).toEqual([]);
  });
});

describe('atomic files', () => {
  it('writes whole files and sweeps only the temp files of dead writers', async () => {
    const dir = join(tmp.path, 'd');
    mkdirSync(dir);
    await writeFileAtomic(join(dir, 'f'), 'data');
    expect(readdirSync(dir)).toEqual(['f']);
    // pid 2^22+1 is above Linux's pid_max limit: never a live process.
    writeFileSync(join(dir, 'f.tmp-4194305-abcdef'), 'stale');
    writeFileSync(join(dir, `f.tmp-${process.ppid}-abcdef`), 'being written by a live process');
    await sweepTemp(dir);
    expect(readdirSync(dir).sort()).toEqual(['f', `f.tmp-${process.ppid}-abcdef`]);
  });
});

describe('store lock', () => {
  it('runs locked sections one at a time', async () => {
    const root = join(tmp.path, 'nook');
    mkdirSync(root);
    const events: string[] = [];
    const section = (name: string) =>
      withStoreLock(root, async () => {
        events.push(`${name} in`);
        await new Promise((r) => setTimeout(r, 30));
        events.push(`${name} out`);
      });
    await Promise.all([section('a'), section('b'), section('c')]);
    for (let i = 0; i < events.length; i += 2) expect(events[i + 1]).toBe(events[i]!.replace('in', 'out'));
    expect(existsSync(join(root, 'store.lock'))).toBe(false);
  });

  it('refuses to write once the lock was lost, instead of crashing', async () => {
    const root = join(tmp.path, 'nook');
    mkdirSync(root);
    const section = withStoreLock(root, async (held) => {
      rmSync(join(root, 'store.lock'), { recursive: true });
      // proper-lockfile refreshes the lock every 5 s and finds it gone.
      await new Promise((r) => setTimeout(r, 5_500));
      held.assertHeld();
    });
    await expect(section).rejects.toThrow(/lost the lock on the image store/);
  }, 15_000);
});

describe('image index', () => {
  it('records images and names under the lock, and drops records the index does not name', async () => {
    const store = await openStore(join(tmp.path, 'nook'));
    const a = 'a'.repeat(64);
    await store.images.update(async (index, held) => {
      await store.images.writeRecord(record(a, [digestOf('l1')]), held);
      index.images[a] = { names: ['docker.io/library/a:latest'], digests: [] };
    });
    // A record written by a command killed before it updated the index:
    const orphan = 'b'.repeat(64);
    await store.images.update(async (_index, held) => store.images.writeRecord(record(orphan, []), held));
    await store.images.update(async () => undefined);

    expect(readdirSync(store.images.dir).sort()).toEqual([a, 'index.json']);
    const index = await store.images.readIndex();
    expect(index.images[a]?.names).toEqual(['docker.io/library/a:latest']);
    expect([...(await store.images.blobsInUse(index))].sort()).toEqual([`sha256:${a}`, digestOf(`manifest ${a}`), digestOf('l1')].sort());
  });
});
