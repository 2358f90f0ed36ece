import { closeSync, openSync, readSync } from 'node:fs';
import { GROWING_END } from './request.js';

/** Bytes read from the blob file at most at once. */
const READ_SIZE = 512 * 1024;
const COUNT = /^\d{1,15}$/;

/**
 * The bytes of a blob file that nook is still writing (a download), in order, as
 * `announcements` (the extractor's stdin) say they are there: it never reads past what was
 * announced, so a byte is only ever read once it is written. Throws when the announcements
 * stop before GROWING_END (the download failed) or are malformed. The file is opened at
 * the first announcement: nook creates it before announcing anything.
 */
export async function* followBlob(path: string, announcements: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let fd: number | null = null;
  let at = 0;
  let pending = '';
  try {
    for await (const chunk of announcements) {
      pending += chunk.toString('latin1');
      const lines = pending.split('\n');
      pending = lines.pop()!;
      if (lines.length === 0) continue;
      // Only the latest count matters: everything before it is written too.
      let end = false;
      let available = at;
      for (const line of lines) {
        if (end) throw new Error(`the blob announcements go on after "${GROWING_END}"`);
        if (line === GROWING_END) end = true;
        else if (COUNT.test(line) && Number(line) >= available) available = Number(line);
        else throw new Error(`malformed blob announcement "${line.slice(0, 40)}"`);
      }
      fd ??= openSync(path, 'r');
      while (at < available) {
        const buffer = Buffer.allocUnsafe(Math.min(READ_SIZE, available - at));
        const read = readSync(fd, buffer, 0, buffer.length, at);
        if (read === 0) throw new Error(`the blob file ends at ${at} bytes, before the ${available} announced`);
        at += read;
        yield read === buffer.length ? buffer : buffer.subarray(0, read);
      }
      if (end) return;
    }
    throw new Error('the download of the layer stopped before its end');
  } finally {
    if (fd !== null) closeSync(fd);
  }
}
