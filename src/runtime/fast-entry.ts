import { closeSync, mkdirSync, openSync, readdirSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A replayable `nook run`, `exec` or `sandbox`, as bin/nook (native/launcher) reads it: the inputs the decision
 * was made from, and what the decision was (files to write, the plan). The field form is the
 * plan's (`<length>:<bytes>,`); the order is fixed and described in docs/fast-path.md.
 */
export const FAST_ENTRY_MAGIC = 'nook-fast-run';
export const FAST_ENTRY_VERSION = '1';

/** The signature a dependency must still have for the entry to apply. */
export type DependencySignature =
  /** For what was only looked at (stat, exists, access): what it is, not what is in it. */
  | { readonly kind: 'meta'; readonly dev: bigint; readonly ino: bigint; readonly mode: bigint; readonly uid: bigint; readonly gid: bigint }
  | { readonly kind: 'stat'; readonly dev: bigint; readonly ino: bigint; readonly mode: bigint; readonly size: bigint; readonly mtimeNs: bigint; readonly ctimeNs: bigint }
  | { readonly kind: 'absent' }
  /** Files whose stat says nothing about their content (procfs): the bytes themselves. */
  | { readonly kind: 'content'; readonly bytes: Buffer };

/** What a replayed `run` makes afresh in the store before the plan runs, and removes after. */
export interface NewContainer {
  readonly containersDir: string;
  readonly namesDir: string;
  /** The values the files and the plan carry that a replay makes afresh. */
  readonly id: string;
  readonly created: string;
  readonly name: { readonly kind: 'fixed'; readonly name: string } | { readonly kind: 'random'; readonly name: string; readonly adjectives: readonly string[]; readonly nouns: readonly string[] };
  /** The container dir's content, parents first: a link's content is its target. */
  readonly files: readonly { readonly path: string; readonly type: 'dir' | 'file' | 'link'; readonly mode: number; readonly content: Buffer }[];
}

export interface FastEntry {
  /** The bin/nook that may replay it (its real path): another checkout's decides afresh. */
  readonly launcher: string;
  readonly argv: readonly string[];
  readonly cwd: string;
  readonly uid: number;
  readonly gid: number;
  /** isatty of fds 0, 1 and 2, as "0"/"1" each. */
  readonly ttys: string;
  /** uname's release. */
  readonly kernel: string;
  /** The process umask: the modes of what the CLI created in the container dir follow it. */
  readonly umask: number;
  /** Each variable read, with its value or null when unset; 'all' lists the whole environment. */
  readonly env: { readonly kind: 'some' | 'all'; readonly vars: ReadonlyMap<string, string | null> };
  /** Each interface's first IPv4 address, as the launcher lists them, when the decision read them. */
  readonly interfaces: string | null;
  readonly dependencies: ReadonlyMap<string, DependencySignature>;
  readonly runtime: string;
  readonly passStdin: boolean;
  readonly plan: Buffer;
  /** `run`: the container to make around the plan; null: the plan alone (an exec, a sandbox). */
  readonly container: NewContainer | null;
}

/** Where entries live: in the runtime dir (tmpfs, the user's only), keyed by command line and cwd. */
export function fastEntryDir(runtimeDir: string): string {
  return join(runtimeDir, 'fast');
}

/**
 * FNV-1a 64 of argv (each followed by NUL) and cwd: only names the file; the entry holds the
 * whole key and the launcher compares it in full.
 */
export function fastEntryName(argv: readonly string[], cwd: string): string {
  let hash = 0xcbf29ce484222325n;
  const bytes = Buffer.concat([...argv.map((a) => Buffer.from(`${a}\0`)), Buffer.from(cwd)]);
  for (const byte of bytes) {
    hash ^= BigInt(byte);
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return hash.toString(16).padStart(16, '0');
}

function field(value: string | Buffer): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value) : value;
  return Buffer.concat([Buffer.from(`${bytes.length}:`), bytes, Buffer.from(',')]);
}

function list(items: readonly (string | Buffer)[]): Buffer[] {
  return [field(String(items.length)), ...items.map(field)];
}

function signatureFields(signature: DependencySignature): Buffer[] {
  switch (signature.kind) {
    case 'absent':
      return [field('absent'), field('')];
    case 'content':
      return [field('content'), field(signature.bytes)];
    case 'meta': {
      const { dev, ino, mode, uid, gid } = signature;
      return [field('meta'), field([dev, ino, mode, uid, gid].join(' '))];
    }
    case 'stat': {
      const { dev, ino, mode, size, mtimeNs, ctimeNs } = signature;
      return [field('stat'), field([dev, ino, mode, size, mtimeNs, ctimeNs].join(' '))];
    }
  }
}

function containerFields(c: NewContainer): Buffer[] {
  const name = c.name.kind === 'fixed' ? [field('fixed'), field(c.name.name)] : [field('random'), field(c.name.name), ...list(c.name.adjectives), ...list(c.name.nouns)];
  const files = c.files.flatMap((f) => [field(f.path), field(f.type), field(f.mode.toString(8)), field(f.content)]);
  return [field(c.containersDir), field(c.namesDir), field(c.id), field(c.created), ...name, field(String(c.files.length)), ...files];
}

export function encodeFastEntry(entry: FastEntry): Buffer {
  const env = [...entry.env.vars].flatMap(([name, value]) => [field(name), field(value === null ? '-' : `=${value}`)]);
  const deps = [...entry.dependencies].flatMap(([path, signature]) => [field(path), ...signatureFields(signature)]);
  return Buffer.concat([
    field(FAST_ENTRY_MAGIC),
    field(FAST_ENTRY_VERSION),
    field(entry.launcher),
    ...list(entry.argv),
    field(entry.cwd),
    field(String(entry.uid)),
    field(String(entry.gid)),
    field(entry.ttys),
    field(entry.kernel),
    field(entry.umask.toString(8)),
    field(entry.env.kind),
    field(String(entry.env.vars.size)),
    ...env,
    field(entry.interfaces ?? '-'),
    field(String(entry.dependencies.size)),
    ...deps,
    field(entry.runtime),
    field(entry.passStdin ? '1' : '0'),
    field(entry.plan),
    ...(entry.container === null ? [field('plan')] : [field('run'), ...containerFields(entry.container)]),
  ]);
}

/** How many entries the dir keeps; the least recently written go first. */
const KEEP = 64;

/** Writes the entry whole (temp file, then rename), and trims the dir to KEEP entries. */
export function writeFastEntry(runtimeDir: string, entry: FastEntry): void {
  const dir = fastEntryDir(runtimeDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, fastEntryName(entry.argv, entry.cwd));
  const temp = `${path}.tmp-${process.pid}`;
  const fd = openSync(temp, 'w', 0o600);
  try {
    const bytes = encodeFastEntry(entry);
    writeSync(fd, bytes, 0, bytes.length, 0);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
  trimFastEntries(dir);
}

function trimFastEntries(dir: string): void {
  const names = readdirSync(dir);
  if (names.length <= KEEP) return;
  const aged = names.flatMap((name) => {
    try {
      return [{ name, mtime: statSync(join(dir, name)).mtimeMs }];
    } catch {
      return [];
    }
  });
  aged.sort((a, b) => a.mtime - b.mtime);
  for (const { name } of aged.slice(0, aged.length - KEEP)) {
    try {
      unlinkSync(join(dir, name));
    } catch {
      // another nook trimmed it first
    }
  }
}
