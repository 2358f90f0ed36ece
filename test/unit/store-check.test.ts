import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreError } from '../../src/errors.js';
import { checkIndexFile, indexFromRecords } from '../../src/store/check.js';
import { indexProblem, type ImageRecord } from '../../src/store/images.js';
import { openStore, type Store } from '../../src/store/store.js';
import { tempDir } from '../helpers/rootfs.js';

let tmp: { path: string; cleanup: () => void };
let store: Store;
beforeEach(async () => {
  tmp = tempDir('store-check');
  store = await openStore(join(tmp.path, 'store'));
});
afterEach(() => tmp.cleanup());

const ID = (n: number): string => n.toString(16).padStart(64, 'a');

function writeImage(id: string, names: { names: string[]; digests: string[] } | null): void {
  const record: ImageRecord = {
    id, configDigest: `sha256:${id}`, manifestDigest: `sha256:${'b'.repeat(64)}`, manifestMediaType: 'application/vnd.oci.image.manifest.v1+json',
    indexDigest: undefined, layers: [], diffIds: [], os: 'linux', architecture: 'amd64', variant: undefined, created: undefined, size: 0,
  };
  mkdirSync(join(store.images.dir, id), { recursive: true });
  writeFileSync(join(store.images.dir, id, 'image.json'), JSON.stringify(record));
  if (names !== null) writeFileSync(join(store.images.dir, id, 'names.json'), JSON.stringify(names));
}

describe('the image index', () => {
  it('tells a valid index from a truncated or malformed one', () => {
    expect(indexProblem('{"version":1,"images":{}}')).toBeNull();
    expect(indexProblem('{"version":1,"ima')).toMatch(/^not valid JSON/);
    expect(indexProblem('{"version":2,"images":{}}')).toMatch(/version 1/);
    expect(indexProblem(`{"version":1,"images":{"${ID(1)}":{"names":"x"}}}`)).toMatch(/malformed/);
  });

  it('makes every command that reads a damaged index say how to repair it', async () => {
    writeFileSync(store.images.indexFile, '{"version":1,"ima');
    await expect(store.images.readIndex()).rejects.toThrow(StoreError);
    await expect(store.images.readIndex()).rejects.toMatchObject({ hint: expect.stringContaining('nook system check --repair') });
    expect(await checkIndexFile(store)).toMatch(/not valid JSON/);
  });

  it('keeps a copy of each image\'s names with it, as the index changes', async () => {
    await store.images.update(async (index) => {
      // As commitImage does: the record is written under the lock, then the index names it.
      writeImage(ID(1), null);
      index.images[ID(1)] = { names: ['localhost/a:1'], digests: [] };
    });
    expect(await store.images.readNames(ID(1))).toEqual({ names: ['localhost/a:1'], digests: [] });
  });

  it('is rebuilt from the records with the names they kept; a name two claim goes to neither', async () => {
    writeImage(ID(1), { names: ['localhost/a:1', 'localhost/shared:1'], digests: ['localhost/a@sha256:1'] });
    writeImage(ID(2), { names: ['localhost/shared:1'], digests: [] });
    writeImage(ID(3), null);
    mkdirSync(join(store.images.dir, ID(4)));
    writeFileSync(join(store.images.dir, ID(4), 'image.json'), '{"id":');
    const { index, unnamed } = await indexFromRecords(store);
    expect(index).toEqual({
      version: 1,
      images: {
        [ID(1)]: { names: ['localhost/a:1'], digests: ['localhost/a@sha256:1'] },
        [ID(2)]: { names: [], digests: [] },
        [ID(3)]: { names: [], digests: [] },
      },
    });
    expect(unnamed).toEqual([ID(3)]);
  });
});
