import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { parentPort } from 'node:worker_threads';
import { decompressor } from '../decompress.js';
import { followBlob } from './follow.js';
import type { FromReader, ToReader } from './reader.js';

/**
 * The extractor's reader thread (see reader.ts): reads a layer blob (or follows one being
 * downloaded, follow.ts), decompresses it
 * (gzip on libuv's thread pool, zstd here), hashes the tar and posts it to the main thread.
 * It reads ahead of the main thread by up to WINDOW bytes, so a download never waits for
 * a file being written, nor the writing for a download.
 */

/** Bytes asked of the blob per read. */
const READ_SIZE = 512 * 1024;
/** Tar bytes per message: each is copied once into its own buffer, then moved, not copied. */
const BATCH = 1024 * 1024;
/** Tar bytes sent and not yet unpacked, at most: the memory the read-ahead may take. */
const WINDOW = 16 * 1024 * 1024;

const port = parentPort!;
let unconsumed = 0;
let resume: (() => void) | null = null;

port.on('message', (message: ToReader) => {
  if (message.kind === 'read') {
    void read(message.path, message.growing);
    return;
  }
  unconsumed -= message.bytes;
  if (unconsumed < WINDOW && resume !== null) {
    const waiting = resume;
    resume = null;
    waiting();
  }
});

function post(message: FromReader, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

async function read(path: string, growing: boolean): Promise<void> {
  const hash = createHash('sha256');
  let batch = Buffer.allocUnsafeSlow(BATCH);
  let filled = 0;
  const send = (): void => {
    const data = new Uint8Array(batch.buffer, 0, filled);
    post({ kind: 'chunk', data }, [batch.buffer as ArrayBuffer]);
    unconsumed += filled;
    batch = Buffer.allocUnsafeSlow(BATCH);
    filled = 0;
  };
  try {
    const source = growing ? followBlob(path, createReadStream('', { fd: 0 })) : createReadStream(path, { highWaterMark: READ_SIZE });
    await pipeline(source, decompressor(), async (tar: AsyncIterable<Buffer>) => {
      for await (const chunk of tar) {
        hash.update(chunk);
        for (let at = 0; at < chunk.length; ) {
          const copied = chunk.copy(batch, filled, at);
          filled += copied;
          at += copied;
          if (filled === BATCH) send();
        }
        // An idle main thread gets what there is rather than waiting for a full batch.
        if (unconsumed === 0 && filled > 0) send();
        if (unconsumed >= WINDOW) await new Promise<void>((resolve) => (resume = resolve));
      }
    });
    if (filled > 0) send();
    post({ kind: 'end', digest: `sha256:${hash.digest('hex')}` });
  } catch (err) {
    post({ kind: 'error', message: (err as Error).message });
  }
}
