import type { Readable } from 'node:stream';
import { Parser, type ReadEntry } from 'tar';
import type { Entry, EntryType, FileBody, Sink } from './entry.js';

export class BadArchive extends Error {}

const ENTRY_TYPES: Partial<Record<string, EntryType>> = {
  File: 'file',
  OldFile: 'file',
  ContiguousFile: 'file',
  Directory: 'directory',
  SymbolicLink: 'symlink',
  Link: 'hardlink',
};

/** A tar member name as a path under the destination: no way up, no absolute names. */
function relativeName(name: string, what: string): string {
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new BadArchive(`the archive's ${what} "${name}" contains ".."`);
  return parts.length === 0 ? '.' : parts.join('/');
}

/**
 * Reads a tar stream (untrusted: it comes from stdin) into `sink`. Device nodes and fifos
 * are skipped and counted; the first error stops the copy.
 */
export async function readTar(input: Readable, sink: Sink): Promise<{ skipped: number }> {
  let failure: unknown = null;
  let skipped = 0;
  const parser = new Parser({ strict: true });
  const guard = (work: () => void): void => {
    if (failure !== null) return;
    try {
      work();
    } catch (err) {
      failure = err;
    }
  };

  parser.on('entry', (entry: ReadEntry) => {
    let body: FileBody | null = null;
    guard(() => {
      const type = ENTRY_TYPES[entry.type];
      if (type === undefined) {
        skipped++;
        return;
      }
      const converted: Entry = {
        path: relativeName(entry.path, 'member'),
        type,
        mode: (entry.mode ?? 0o644) & 0o7777,
        uid: entry.uid ?? 0,
        gid: entry.gid ?? 0,
        mtime: entry.mtime ?? new Date(),
        size: entry.size ?? 0,
        linkTarget: type === 'hardlink' ? relativeName(entry.linkpath ?? '', 'hard link target') : (entry.linkpath ?? ''),
      };
      body = sink.add(converted);
    });
    entry.on('data', (chunk: Buffer) => guard(() => body?.write(chunk)));
    entry.on('end', () => guard(() => body?.close()));
    entry.resume();
  });
  parser.on('error', (err: Error) => (failure ??= new BadArchive(`not a valid tar archive: ${err.message}`)));
  parser.on('warn', (_code: string, message: string) => (failure ??= new BadArchive(`not a valid tar archive: ${message}`)));

  const done = new Promise<void>((resolve) => parser.on('end', () => resolve()));
  for await (const chunk of input) {
    parser.write(chunk as Buffer);
    if (failure !== null) break;
  }
  if (failure === null) {
    parser.end();
    await done;
  }
  if (failure !== null) throw failure;
  sink.finish();
  return { skipped };
}
