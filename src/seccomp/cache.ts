import { mkdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ResolvedFilter } from './resolve.js';

/**
 * Compiled filters, kept in nook's private runtime dir so that a container start does not
 * load koffi and libseccomp (~20 ms) for a filter compiled before. An entry holds the exact
 * resolved profile it was compiled from and the libseccomp file that compiled it, so a
 * changed profile, capability set or libseccomp compiles afresh. Its name only says which
 * profile and capabilities it is for (hashing the whole key costs a cold start ~3 ms); the
 * key inside decides a hit. The dir is the user's own, 0700, and never reaches a container.
 */
const FORMAT = 1;

interface LibraryId {
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
}

interface Entry {
  readonly key: string;
  readonly library: LibraryId;
  readonly bpf: string;
}

/** FNV-1a, for short strings. */
function hash32(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

function libraryId(path: string): LibraryId | null {
  try {
    const st = statSync(path);
    return { path, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino };
  } catch {
    return null;
  }
}

function sameLibrary(a: LibraryId, b: LibraryId | null): boolean {
  return b !== null && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino;
}

function readEntry(file: string, key: string): Uint8Array | null {
  let entry: Entry;
  try {
    entry = JSON.parse(readFileSync(file, 'utf8')) as Entry;
  } catch {
    return null;
  }
  if (entry.key !== key || typeof entry.bpf !== 'string' || entry.bpf.length % 16 !== 0) return null;
  if (!sameLibrary(entry.library, libraryId(entry.library.path))) return null;
  const bpf = Buffer.from(entry.bpf, 'hex');
  // Buffer.from stops at the first character that is not hex.
  return bpf.length * 2 === entry.bpf.length && bpf.length > 0 ? bpf : null;
}

function writeEntry(dir: string, file: string, entry: Entry): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const temp = `${file}.tmp-${process.pid}`;
  try {
    writeFileSync(temp, JSON.stringify(entry), { mode: 0o600 });
    renameSync(temp, file);
  } catch {
    // A cache that cannot be written only costs the next start a compile.
    try {
      unlinkSync(temp);
    } catch {
      // never created
    }
  }
}

/** The entry name for a profile (`default`, or its file's path) and a capability set. */
export function cacheEntryName(profile: string, capabilities: bigint): string {
  return `${hash32(profile)}-${capabilities.toString(16)}`;
}

/**
 * The BPF program for `filter`, from the cache in `dir` or compiled (and then cached, unless
 * `write` is false, as for --explain, which leaves no state behind).
 */
export async function cachedFilterProgram(filter: ResolvedFilter, name: string, dir: string, write: boolean): Promise<Uint8Array> {
  const key = JSON.stringify({ format: FORMAT, filter });
  const file = join(dir, `${name}.json`);
  const cached = readEntry(file, key);
  if (cached) return cached;
  const { compileFilter } = await import('./libseccomp.js');
  const compiled = compileFilter(filter);
  const library = libraryId(compiled.library);
  if (write && library) writeEntry(dir, file, { key, library, bpf: Buffer.from(compiled.bpf).toString('hex') });
  return compiled.bpf;
}
