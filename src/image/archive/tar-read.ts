import type { Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Parser, type ReadEntry } from 'tar';
import { hashing } from '../../store/hashing.js';
import { decompressor } from '../decompress.js';

/** Called with each regular file; it must consume `body` (or fail). */
export type OnTarFile = (path: string, body: ReadEntry) => Promise<void>;

/** `./a/b` and `a/b` are one name in an archive. */
function entryPath(path: string): string {
  return path.replace(/^(\.\/)+/, '');
}

/**
 * Reads a tar archive (plain, gzip or zstd) as a stream, handing each regular file to
 * `onFile` in archive order (and, if given, the uncompressed stream to `uncompressedHash`); directories and links are skipped (image archives' meaning
 * is in their regular files). A malformed or truncated archive, or a failing `onFile`,
 * rejects.
 */
export async function readTar(source: Readable, onFile: OnTarFile, uncompressedHash?: Hash): Promise<void> {
  let failure: { err: unknown } | undefined;
  const pending: Promise<void>[] = [];
  const parser = new Parser({
    strict: true,
    noResume: true,
    onReadEntry: (entry: ReadEntry) => {
      if (failure !== undefined || (entry.type !== 'File' && entry.type !== 'OldFile' && entry.type !== 'ContiguousFile')) {
        entry.resume();
        return;
      }
      pending.push(
        onFile(entryPath(entry.path), entry).catch((err: unknown) => {
          failure ??= { err };
          // The parser waits for this entry to be read: drain it, then stop the parse.
          entry.resume();
          parser.abort(err instanceof Error ? err : new Error(String(err)));
        }),
      );
    },
  });
  try {
    if (uncompressedHash === undefined) await pipeline(source, decompressor(), parser);
    else await pipeline(source, decompressor(), hashing(uncompressedHash), parser);
  } catch (err) {
    failure ??= { err };
  }
  await Promise.all(pending);
  if (failure !== undefined) throw failure.err;
}
