import { createWriteStream } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ArchiveError, UsageError } from '../../errors.js';
import { tempPathFor } from '../../store/atomic.js';

/** An archive to read: a file, or standard input (`-` or no file), named for messages. */
export async function openInput(path: string | undefined, flag: string): Promise<{ stream: Readable; what: string }> {
  if (path === undefined || path === '-') {
    if (process.stdin.isTTY) throw new UsageError('no archive given, and standard input is a terminal', `give ${flag} FILE, or pipe the archive in`);
    return { stream: process.stdin, what: 'the archive on standard input' };
  }
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    throw new ArchiveError(`cannot open ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'check the file name');
  }
  return { stream: handle.createReadStream(), what: path };
}

/**
 * Writes `chunks` to a file (under a temp name, renamed when complete, so a failed or
 * killed save leaves no partial archive) or to standard output.
 */
export async function writeOutput(path: string | undefined, chunks: AsyncIterable<Uint8Array>): Promise<void> {
  if (path === undefined || path === '-') {
    if (process.stdout.isTTY) throw new UsageError('refusing to write an archive to a terminal', 'give -o FILE, or redirect standard output');
    await pipeline(chunks, process.stdout as Writable, { end: false });
    return;
  }
  const temp = tempPathFor(path);
  try {
    await pipeline(chunks, createWriteStream(temp, { flags: 'wx', mode: 0o644 }));
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
}
