import { writeSync } from 'node:fs';

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Writes the whole buffer. stdout may be a pipe that nook's own Node process made
 * non-blocking (the flag belongs to the pipe, so this process inherits it): a full pipe
 * then answers EAGAIN, and the write is retried once the reader had a moment.
 */
export function writeAll(fd: number, chunk: Uint8Array): void {
  let done = 0;
  while (done < chunk.length) {
    try {
      done += writeSync(fd, chunk, done, chunk.length - done);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}
