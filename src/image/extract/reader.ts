import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { unfinished, type TarStream } from './tar-stream.js';

/** What the extractor's main thread asks of the reader thread (reader-thread.ts). */
export type ToReader =
  /** Read the layer blob at `path` to its end; `growing`: as stdin announces it (follow.ts). */
  | { readonly kind: 'read'; readonly path: string; readonly growing: boolean }
  /** The main thread has unpacked this many more bytes of what it was sent. */
  | { readonly kind: 'consumed'; readonly bytes: number };

/** What the reader thread sends back for the layer being read. */
export type FromReader =
  | { readonly kind: 'chunk'; readonly data: Uint8Array }
  | { readonly kind: 'end'; readonly digest: string }
  | { readonly kind: 'error'; readonly message: string };

/** Where scripts/build.mjs puts the reader thread's code: next to dist/extract.cjs. */
function readerScript(): string {
  return join(__dirname, 'extract-reader.cjs');
}

/**
 * The extractor's second thread: it reads layer blobs, decompresses and hashes them, and
 * hands the tar over in large chunks, while the main thread parses, checks and writes.
 * On one thread the two took turns: every file the main thread wrote held up the next
 * read and the next inflate (the machine sat a third idle during a pull), and the sha256
 * of the tar ran there too. Layers are read one at a time.
 */
export class LayerReader {
  private readonly worker = new Worker(readerScript());
  private deliver: ((message: FromReader) => void) | null = null;

  constructor() {
    this.worker.on('message', (message: FromReader) => this.deliver?.(message));
    this.worker.on('error', (err: Error) => this.deliver?.({ kind: 'error', message: `the layer reader failed: ${err.message}` }));
    this.worker.on('exit', (code: number) => this.deliver?.({ kind: 'error', message: `the layer reader stopped (exit ${code})` }));
  }

  /** The tar in the blob at `path` (`growing`: still being written); read it to its end before the next read. */
  read(path: string, growing: boolean): TarStream {
    const arrived: FromReader[] = [];
    let wake: (() => void) | null = null;
    let digest: string | null = null;
    this.deliver = (message) => {
      arrived.push(message);
      wake?.();
      wake = null;
    };
    const worker = this.worker;
    worker.postMessage({ kind: 'read', path, growing } satisfies ToReader);
    return {
      async *[Symbol.asyncIterator]() {
        for (;;) {
          while (arrived.length === 0) await new Promise<void>((resolve) => (wake = resolve));
          const message = arrived.shift()!;
          if (message.kind === 'error') throw new Error(message.message);
          if (message.kind === 'end') {
            digest = message.digest;
            return;
          }
          yield Buffer.from(message.data.buffer, message.data.byteOffset, message.data.byteLength);
          worker.postMessage({ kind: 'consumed', bytes: message.data.byteLength } satisfies ToReader);
        }
      },
      digest: () => digest ?? unfinished(),
    };
  }

  async close(): Promise<void> {
    this.deliver = null;
    await this.worker.terminate();
  }
}
