import { PassThrough, Transform, type TransformCallback } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Decompress } from 'fzstd';

export type Compression = 'gzip' | 'zstd' | 'none';

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

/**
 * Output per zlib call. Node's default (16 KiB) makes a layer's gunzip ten thousand thread
 * pool round trips; at 256 KiB a 70 MB layer inflates in 0.6 s instead of 1.05 s.
 */
const GUNZIP_CHUNK = 256 * 1024;

/** What a stream starting with `head` is compressed with, by its magic bytes. */
export function compressionOf(head: Uint8Array): Compression {
  const bytes = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  if (bytes.subarray(0, 2).equals(GZIP_MAGIC)) return 'gzip';
  if (bytes.subarray(0, 4).equals(ZSTD_MAGIC)) return 'zstd';
  return 'none';
}

/**
 * A stream that decompresses gzip or zstd and passes anything else through, picking by
 * the first bytes: registries' media types and users' file names are not always right.
 */
export function decompressor(): Transform {
  let inner: Transform | null = null;
  return new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      if (inner === null) {
        const kind = compressionOf(chunk);
        inner = kind === 'gzip' ? createGunzip({ chunkSize: GUNZIP_CHUNK }) : kind === 'zstd' ? zstdStream() : new PassThrough();
        inner.on('data', (data: Buffer) => this.push(data));
        inner.on('error', (err) => this.destroy(err));
      }
      inner.write(chunk, done);
    },
    flush(done: TransformCallback) {
      if (inner === null) return done();
      inner.once('end', () => done());
      inner.end();
      inner.resume();
    },
  });
}

/** Node 20's zlib has no zstd. */
function zstdStream(): Transform {
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      try {
        decoder.push(chunk);
        done();
      } catch (err) {
        done(err as Error);
      }
    },
    flush(done: TransformCallback) {
      try {
        decoder.push(new Uint8Array(0), true);
        done();
      } catch (err) {
        done(err as Error);
      }
    },
  });
  const decoder = new Decompress((data) => {
    stream.push(Buffer.from(data));
  });
  return stream;
}
