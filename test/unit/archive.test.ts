import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { formatDockerManifest, formatRepositories, parseDockerManifest } from '../../src/image/archive/docker.js';
import { blobDigest, blobPath, formatOciIndex, ociManifestFor, parseOciIndex, REF_NAME } from '../../src/image/archive/oci.js';
import { readTar } from '../../src/image/archive/tar-read.js';
import { tarStream, type TarFile } from '../../src/image/archive/tar-write.js';
import { ArchiveError } from '../../src/errors.js';
import type { ImageRecord } from '../../src/store/images.js';

const HEX = 'a'.repeat(64);
const HEX2 = 'b'.repeat(64);
const bytes = (text: string) => Buffer.from(text);

describe('docker-archive manifest.json', () => {
  it("reads podman's manifest.json and writes it back the same", () => {
    const text = `[{"Config":"${HEX}.json","RepoTags":["localhost/base:latest"],"Layers":["${HEX2}.tar"]}]`;
    const entries = parseDockerManifest(bytes(text));
    expect(entries).toEqual([{ config: `${HEX}.json`, layers: [`${HEX2}.tar`], repoTags: ['localhost/base:latest'] }]);
    expect(formatDockerManifest(entries)).toBe(text);
  });

  it('takes a missing or null RepoTags as no names', () => {
    expect(parseDockerManifest(bytes(`[{"Config":"c.json","RepoTags":null,"Layers":[]}]`))[0]!.repoTags).toEqual([]);
    expect(parseDockerManifest(bytes(`[{"Config":"c.json","Layers":["l.tar"]}]`))[0]!.repoTags).toEqual([]);
  });

  it('refuses what is not a manifest.json', () => {
    for (const bad of ['not json', '{}', '[]', '[{"Layers":[]}]', '[{"Config":"c.json"}]', '[{"Config":"c.json","Layers":[1]}]', '[{"Config":"c.json","Layers":[],"RepoTags":"x"}]']) {
      expect(() => parseDockerManifest(bytes(bad)), bad).toThrow(ArchiveError);
    }
  });

  it('writes the repositories file with the top layer for each name', () => {
    expect(JSON.parse(formatRepositories(['localhost/base:latest', 'localhost/base:v1', 'quay.io/x:y'], `${HEX2}.tar`))).toEqual({
      'localhost/base': { latest: HEX2, v1: HEX2 },
      'quay.io/x': { y: HEX2 },
    });
  });
});

describe('oci-archive layout', () => {
  it('names the manifest with the ref.name annotation, and reads it back', () => {
    const manifest = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${HEX}` as const, size: 405 };
    const text = formatOciIndex(manifest, 'localhost/base:latest');
    expect(JSON.parse(text)).toEqual({ schemaVersion: 2, manifests: [{ ...manifest, annotations: { [REF_NAME]: 'localhost/base:latest' } }] });
    expect(parseOciIndex(bytes(text))).toEqual([{ descriptor: manifest, refName: 'localhost/base:latest' }]);
    expect(parseOciIndex(bytes(formatOciIndex(manifest, undefined)))).toEqual([{ descriptor: manifest, refName: undefined }]);
  });

  it('refuses a malformed index.json', () => {
    for (const bad of ['nope', '{}', '{"manifests":[]}', '{"manifests":[{"digest":"sha256:abc","size":1}]}', `{"manifests":[{"digest":"sha256:${HEX}"}]}`]) {
      expect(() => parseOciIndex(bytes(bad)), bad).toThrow(ArchiveError);
    }
  });

  it('maps blob paths to digests and back, and nothing else', () => {
    expect(blobPath(`sha256:${HEX}`)).toBe(`blobs/sha256/${HEX}`);
    expect(blobDigest(`blobs/sha256/${HEX}`)).toBe(`sha256:${HEX}`);
    for (const other of ['index.json', `blobs/sha256/${HEX}/x`, `blobs/sha512/${HEX}`, `blobs/sha256/${HEX.toUpperCase()}`]) expect(blobDigest(other)).toBeUndefined();
  });

  it('rewrites a Docker manifest as OCI over the same config and layers', () => {
    const record = {
      configDigest: `sha256:${HEX}`,
      layers: [
        { digest: `sha256:${HEX2}`, size: 10, mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip' },
        { digest: `sha256:${'c'.repeat(64)}`, size: 20, mediaType: 'application/vnd.docker.image.rootfs.diff.tar' },
      ],
    } as unknown as ImageRecord;
    const doc = JSON.parse(Buffer.from(ociManifestFor(record, 123)).toString()) as Record<string, unknown>;
    expect(doc).toEqual({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${HEX}`, size: 123 },
      layers: [
        { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${HEX2}`, size: 10 },
        { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${'c'.repeat(64)}`, size: 20 },
      ],
    });
  });
});

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of chunks) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts);
}

async function filesOf(archive: Buffer): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  await readTar(Readable.from([archive]), async (path, body) => {
    files[path] = (await collect(body)).toString();
  });
  return files;
}

describe('archive streams', () => {
  const files: TarFile[] = [
    { path: 'manifest.json', size: 2, body: bytes('[]') },
    { path: `blobs/sha256/${HEX}`, size: 1000, body: async function* () { yield Buffer.alloc(600, 'x'); yield Buffer.alloc(400, 'y'); } },
  ];

  it('writes a tar that reads back, plain and compressed, the same bytes every time', async () => {
    const archive = await collect(tarStream(files));
    expect(archive.length % 512).toBe(0);
    expect(await collect(tarStream(files))).toEqual(archive);
    const expected = { 'manifest.json': '[]', [`blobs/sha256/${HEX}`]: 'x'.repeat(600) + 'y'.repeat(400) };
    expect(await filesOf(archive)).toEqual(expected);
    expect(await filesOf(gzipSync(archive))).toEqual(expected);
  });

  it('hashes the uncompressed stream when asked', async () => {
    const archive = await collect(tarStream(files));
    const hash = createHash('sha256');
    await readTar(Readable.from([gzipSync(archive)]), async (_p, body) => void body.resume(), hash);
    expect(hash.digest('hex')).toBe(createHash('sha256').update(archive).digest('hex'));
  });

  it('refuses a body that is not the size its header says', async () => {
    await expect(collect(tarStream([{ path: 'short', size: 10, body: async function* () { yield Buffer.alloc(5); } }]))).rejects.toThrow(/changed while it was archived/);
  });

  it('refuses input that is not a tar, or is cut short', async () => {
    await expect(filesOf(Buffer.from('just some text\n'.repeat(100)))).rejects.toThrow(/TAR_(BAD_ARCHIVE|ENTRY_INVALID)/);
    const archive = await collect(tarStream(files));
    await expect(filesOf(archive.subarray(0, 1024 + 700))).rejects.toThrow(/Truncated|TAR_BAD_ARCHIVE/);
  });

  it("stops at a handler's failure", async () => {
    const archive = await collect(tarStream(files));
    await expect(readTar(Readable.from([archive]), async () => Promise.reject(new Error('disk full')))).rejects.toThrow('disk full');
  });
});
