import { createHash } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { access, open, readFile, rename, unlink } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DigestMismatchError } from '../errors.js';
import { tempPathFor, writeFileAtomic } from './atomic.js';
import { digestHex, type Digest } from './digest.js';
import { digestOf, hashing } from './hashing.js';
import { IncomingBlob } from './incoming-blob.js';

/**
 * Content-addressed blobs: `blobs/sha256/<hex>` holds exactly the bytes whose sha256 is
 * <hex>. A blob is streamed to a temp file while it is hashed and renamed into place only
 * when the hash matches, so a name in this directory is always a verified blob.
 */
export class BlobStore {
  readonly dir: string;

  constructor(root: string) {
    this.dir = join(root, 'blobs', 'sha256');
  }

  path(digest: Digest): string {
    return join(this.dir, digestHex(digest));
  }

  async has(digest: Digest): Promise<boolean> {
    return access(this.path(digest)).then(
      () => true,
      () => false,
    );
  }

  read(digest: Digest): Promise<Buffer> {
    return readFile(this.path(digest));
  }

  /** The first `length` bytes of a blob (fewer if it is shorter): enough to tell its compression. */
  async readHead(digest: Digest, length: number): Promise<Buffer> {
    const file = await open(this.path(digest));
    try {
      const { buffer, bytesRead } = await file.read(Buffer.alloc(length), 0, length, 0);
      return buffer.subarray(0, bytesRead);
    } finally {
      await file.close();
    }
  }

  /**
   * Stores `source` as `digest`. `size`, when the manifest gives it, also bounds the
   * download: a registry that sends more is cut off instead of filling the disk.
   * `what` names the blob in errors (e.g. "layer sha256:… of docker.io/library/alpine").
   */
  async write(digest: Digest, source: Readable, what: string, size?: number): Promise<void> {
    const blob = this.incoming(digest, what, size);
    await blob.receive(source);
    await blob.commit().catch(async (err: unknown) => {
      await blob.discard();
      throw err;
    });
  }

  /** A blob to receive into a temp file and verify, then commit into place (see IncomingBlob). */
  incoming(digest: Digest, what: string, size?: number): IncomingBlob {
    const path = this.path(digest);
    return new IncomingBlob(digest, path, tempPathFor(path), what, size);
  }

  /**
   * Stores `source` under the digest of what it turns out to hold (content from a local
   * file, where no one named the digest beforehand). `existed`: the store had it already,
   * so a caller cleaning up after a failure must leave it.
   */
  async writeUnknown(source: Readable | AsyncIterable<Uint8Array>): Promise<{ digest: Digest; size: number; existed: boolean }> {
    const temp = tempPathFor(join(this.dir, 'unknown'));
    const hash = createHash('sha256');
    let size = 0;
    const file = createWriteStream(temp, { flags: 'wx', mode: 0o644 });
    try {
      await pipeline(source, hashing(hash, (n) => (size += n)), file);
      const digest: Digest = `sha256:${hash.digest('hex')}`;
      const existed = await this.has(digest);
      await rename(temp, this.path(digest));
      return { digest, size, existed };
    } catch (err) {
      await removeTemp(file, temp);
      throw err;
    }
  }

  /** Stores bytes already in memory (manifests), verified the same way. */
  async writeBytes(digest: Digest, bytes: Uint8Array, what: string): Promise<void> {
    if (await this.has(digest)) return;
    const actual = digestOf(bytes);
    if (actual !== digest) {
      throw new DigestMismatchError(`${what} does not match its digest: received ${bytes.length} bytes hashing to ${actual}`, 'the registry serves corrupt data; nothing was stored');
    }
    await writeFileAtomic(this.path(digest), bytes);
  }

  async remove(digest: Digest): Promise<void> {
    await unlink(this.path(digest)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }
}

/**
 * Removes a failed write's temp file. Its stream opens the file lazily, so it may create it
 * after the failure: it is let close first (nothing may wait before the source is piped,
 * a flowing download would lose data, so the file is not opened beforehand).
 */
async function removeTemp(file: WriteStream, temp: string): Promise<void> {
  if (!file.closed) await once(file, 'close').catch(() => undefined);
  await unlink(temp).catch(() => undefined);
}
