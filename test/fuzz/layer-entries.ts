import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { extractLayer, isLayerRefusal } from '../../src/image/extract/layer.js';

/**
 * Fuzz target: the layer extractor's entry handling (src/image/extract/layer.ts and
 * unpack.ts) on mutated tar archives, run as root of a user namespace like the extractor
 * (`npm run fuzz` starts it under `nook unshare`).
 *
 * A structure-aware mutation fuzzer without coverage feedback: Jazzer.js's prebuilt addon
 * needs glibc 2.38 and Debian 12 has 2.36. It starts from the seed corpus and changes the
 * entries (names from a dictionary of hostile components, types, link targets, owners,
 * modes, order, duplicates) and raw header bytes. After every input it checks:
 * - nothing outside the layer directory was created, changed or linked to;
 * - the extraction ended within a bound, and a failure is the layer's refusal or a system
 *   call's error, never a crash (TypeError, RangeError …) of the extractor;
 * - a layer that was accepted reports the sha256 of what it read as its diff id.
 * A finding is written to the findings directory and makes the run exit 1.
 *
 * Usage: node layer-entries.cjs --corpus DIR --findings DIR [--time SECONDS] [--seed N]
 *        node layer-entries.cjs --run FILE      (one input, e.g. a finding)
 */

/** One entry as the fuzzer models it; `flag` is the raw ustar typeflag. */
interface Entry {
  flag: string;
  path: string;
  linkpath: string;
  mode: number;
  uid: number;
  gid: number;
  body: Buffer;
}

const FLAG_OF: Record<string, string> = {
  File: '0',
  OldFile: '\0',
  Link: '1',
  SymbolicLink: '2',
  CharacterDevice: '3',
  BlockDevice: '4',
  Directory: '5',
  FIFO: '6',
  ContiguousFile: '7',
  GNUDumpDir: 'D',
};
const FLAGS = [...Object.values(FLAG_OF), 'Z', 'V', 'M'];
const MODES = [0o644, 0o755, 0o4755, 0o2755, 0o7777, 0, 0o1777, 0o700, 0o000];
const IDS = [0, 1, 42, 1000, 65534, 65535, 65536, 0o7777777];
const PER_INPUT_MS = 10_000;

/** A small deterministic generator, so a run is repeatable from its seed. */
class Random {
  constructor(private state: number) {}

  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}

// --- tar, written by hand: the fuzzer must write what no well-behaved tool would --------

function octal(value: number, width: number): string {
  return `${Math.max(0, Math.trunc(value)).toString(8).slice(-(width - 1)).padStart(width - 1, '0')}\0`;
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = body.length;
  while (`${length}${body}`.length !== length) length = `${length}${body}`.length;
  return `${length}${body}`;
}

function header(name: string, linkname: string, flag: string, e: { mode: number; uid: number; gid: number }, size: number): Buffer {
  const block = Buffer.alloc(512);
  block.write(name, 0, 100, 'utf8');
  block.write(octal(e.mode, 8), 100, 8);
  block.write(octal(e.uid, 8), 108, 8);
  block.write(octal(e.gid, 8), 116, 8);
  block.write(octal(size, 12), 124, 12);
  block.write(octal(1_700_000_000, 12), 136, 12);
  block.write(flag, 156, 1, 'latin1');
  block.write(linkname, 157, 100, 'utf8');
  block.write('ustar\u000000', 257, 8);
  fixChecksum(block);
  return block;
}

function fixChecksum(block: Buffer): void {
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
}

function padded(body: Buffer): Buffer[] {
  return [body, Buffer.alloc((512 - (body.length % 512)) % 512)];
}

function serialize(entries: readonly Entry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const long = Buffer.byteLength(e.path) > 99 || Buffer.byteLength(e.linkpath) > 99;
    if (long) {
      const pax = Buffer.from(paxRecord('path', e.path) + (e.linkpath ? paxRecord('linkpath', e.linkpath) : ''));
      parts.push(header('PaxHeader', '', 'x', { mode: 0o644, uid: 0, gid: 0 }, pax.length), ...padded(pax));
    }
    parts.push(header(e.path, e.linkpath, e.flag, e, e.body.length), ...padded(e.body));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

async function parseSeed(bytes: Buffer): Promise<Entry[]> {
  const entries: Entry[] = [];
  const parser = new Parser({ strict: true });
  parser.on('entry', (entry: ReadEntry) => {
    const chunks: Buffer[] = [];
    entry.on('data', (c: Buffer) => chunks.push(c));
    entry.on('end', () =>
      entries.push({
        flag: FLAG_OF[entry.type] ?? '0',
        path: entry.path,
        linkpath: entry.linkpath ?? '',
        mode: entry.mode ?? 0o644,
        uid: entry.uid ?? 0,
        gid: entry.gid ?? 0,
        body: Buffer.concat(chunks),
      }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    parser.on('end', resolve);
    parser.on('error', reject);
    parser.end(bytes);
  });
  return entries;
}

// --- mutation -----------------------------------------------------------------------------

class Mutator {
  private readonly components: readonly string[];
  private readonly targets: readonly string[];

  constructor(
    private readonly random: Random,
    sandbox: Sandbox,
  ) {
    this.components = ['a', 'b', 'dir', 'link', 'etc', 'passwd', '.', '..', '', '.wh.a', '.wh.link', '.wh.dir', '.wh..wh..opq', '.wh..wh.plnk', 'outside', 'x'.repeat(120), 'é', '\u0001'];
    this.targets = ['a', 'dir', 'link', 'dir/a', '.', '..', '/', '../outside', '../outside/canary', '../../escape', sandbox.outside, join(sandbox.outside, 'canary'), sandbox.escape, '/etc/passwd', '/proc/self/root'];
  }

  path(): string {
    const n = 1 + this.random.int(4);
    const parts = Array.from({ length: n }, () => this.random.pick(this.components));
    const path = parts.join('/');
    return this.random.int(8) === 0 ? `/${path}` : this.random.int(8) === 0 ? `./${path}` : this.random.int(8) === 0 ? `${path}/` : path;
  }

  target(): string {
    return this.random.int(3) === 0 ? this.path() : this.random.pick(this.targets);
  }

  entry(): Entry {
    const flag = this.random.pick(FLAGS);
    return {
      flag,
      path: this.path(),
      linkpath: flag === '1' || flag === '2' ? this.target() : '',
      mode: this.random.pick(MODES),
      uid: this.random.pick(IDS),
      gid: this.random.pick(IDS),
      body: flag === '0' || flag === '\0' || flag === '7' ? Buffer.from(`body ${this.random.int(1000)}\n`) : Buffer.alloc(0),
    };
  }

  mutate(seed: readonly Entry[]): Buffer {
    const entries = seed.map((e) => ({ ...e }));
    const rounds = 1 + this.random.int(4);
    for (let i = 0; i < rounds; i++) this.once(entries);
    let bytes = serialize(entries);
    if (this.random.int(5) === 0) bytes = this.flipHeaderBytes(bytes);
    if (this.random.int(10) === 0) bytes = bytes.subarray(0, this.random.int(bytes.length + 1));
    return bytes;
  }

  private once(entries: Entry[]): void {
    const at = this.random.int(entries.length + 1);
    const e = entries[Math.min(at, entries.length - 1)];
    switch (e === undefined ? 6 : this.random.int(12)) {
      case 0:
        e!.path = this.path();
        break;
      case 1:
        e!.linkpath = this.target();
        break;
      case 2:
        e!.flag = this.random.pick(FLAGS);
        break;
      case 3:
        entries.splice(at, 0, { ...e! });
        break;
      case 4:
        entries.splice(at, 1);
        break;
      case 5: {
        const other = this.random.int(entries.length);
        [entries[at % entries.length], entries[other]] = [entries[other]!, entries[at % entries.length]!];
        break;
      }
      case 6:
        entries.splice(at, 0, this.entry());
        break;
      case 7:
        e!.mode = this.random.pick(MODES);
        break;
      case 8:
        e!.uid = this.random.pick(IDS);
        e!.gid = this.random.pick(IDS);
        break;
      case 9:
        e!.body = Buffer.alloc(this.random.int(1500), this.random.int(256));
        break;
      case 10:
        // A later entry of the same name, of another kind: tar's "the last one wins".
        entries.splice(at, 0, { ...this.entry(), path: e!.path });
        break;
      default:
        e!.path = `${e!.path.replace(/\/$/, '')}/${this.random.pick(this.components)}`;
    }
  }

  /** Raw damage to one header, its checksum mostly repaired so the parser reads on. */
  private flipHeaderBytes(bytes: Buffer): Buffer {
    const out = Buffer.from(bytes);
    const blocks = Math.floor(out.length / 512);
    if (blocks === 0) return out;
    const block = this.random.int(blocks) * 512;
    for (let i = 1 + this.random.int(4); i > 0; i--) out[block + this.random.int(512)] = this.random.int(256);
    if (this.random.int(4) !== 0) fixChecksum(out.subarray(block, block + 512));
    return out;
  }
}

// --- the sandbox around each extraction -----------------------------------------------------

class Sandbox {
  readonly base = mkdtempSync(join(tmpdir(), 'nook-fuzz-layer-'));
  readonly work = join(this.base, 'work');
  readonly outside = join(this.work, 'outside');
  /** A path no extraction may bring into existence: `../../escape` from a layer. */
  readonly escape = join(this.base, 'escape');
  private before = '';

  constructor() {
    mkdirSync(join(this.outside, 'dir'), { recursive: true });
    writeFileSync(join(this.outside, 'canary'), 'canary\n', { mode: 0o644 });
    this.before = this.snapshot();
  }

  /**
   * Everything outside the layer directories: the names in the sandbox and its work dir
   * (whose own times change as layers come and go), and all of outside/ as lstat sees it,
   * with the canary's content.
   */
  snapshot(): string {
    const lines = [readdirSync(this.base).join(' '), readdirSync(this.work).filter((name) => !name.startsWith('layer-')).join(' ')];
    const visit = (dir: string): void => {
      for (const name of readdirSync(dir).sort()) {
        const path = join(dir, name);
        const st = lstatSync(path);
        lines.push(`${path} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.nlink} ${st.size} ${st.mtimeMs} ${st.ino}`);
        if (st.isDirectory()) visit(path);
      }
    };
    visit(this.outside);
    lines.push(readFileSync(join(this.outside, 'canary'), 'utf8'));
    return lines.join('\n');
  }

  changes(): string | null {
    const now = this.snapshot();
    return now === this.before ? null : `outside the layer, before:\n${this.before}\nafter:\n${now}`;
  }

  remove(): void {
    rmSync(this.base, { recursive: true, force: true });
  }
}

/** What went wrong with one input (null: nothing), and whether the layer was accepted. */
async function tryInput(sandbox: Sandbox, input: Buffer, n: number): Promise<{ verdict: string | null; accepted: boolean }> {
  const target = join(sandbox.work, `layer-${n}`);
  mkdirSync(target);
  let verdict: string | null = null;
  let accepted = false;
  let timer: NodeJS.Timeout | undefined;
  try {
    const extraction = extractLayer(Readable.from([input]), target, { preserveOwners: true, maxId: 65535 });
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no verdict within ${PER_INPUT_MS} ms`)), PER_INPUT_MS);
    });
    const result = await Promise.race([extraction, timeout]);
    accepted = true;
    const tar = input[0] === 0x1f && input[1] === 0x8b ? null : input;
    if (tar !== null && result.diffId !== `sha256:${createHash('sha256').update(tar).digest('hex')}`) verdict = `diff id ${result.diffId} is not the input's sha256`;
  } catch (err) {
    const sysError = typeof (err as NodeJS.ErrnoException).code === 'string' && typeof (err as NodeJS.ErrnoException).syscall === 'string';
    if (!isLayerRefusal(err) && !sysError) verdict = `the extractor failed instead of refusing the layer: ${(err as Error).stack ?? String(err)}`;
  } finally {
    clearTimeout(timer);
  }
  verdict ??= sandbox.changes();
  rmSync(target, { recursive: true, force: true });
  return { verdict, accepted };
}

function option(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at < 0 ? undefined : process.argv[at + 1];
}

async function runOne(file: string): Promise<void> {
  const sandbox = new Sandbox();
  try {
    const { verdict, accepted } = await tryInput(sandbox, readFileSync(file), 0);
    console.log(verdict ?? `no finding (the layer was ${accepted ? 'accepted' : 'refused'})`);
    process.exitCode = verdict === null ? 0 : 1;
  } finally {
    sandbox.remove();
  }
}

async function fuzz(corpus: string, findings: string, seconds: number, seed: number): Promise<void> {
  const seeds = await Promise.all(readdirSync(corpus).sort().map(async (f) => parseSeed(readFileSync(join(corpus, f)))));
  if (seeds.length === 0) throw new Error(`no seeds in ${corpus}`);
  const random = new Random(seed);
  const sandbox = new Sandbox();
  const mutator = new Mutator(random, sandbox);
  const end = Date.now() + seconds * 1000;
  let runs = 0;
  let accepted = 0;
  console.log(`layer-entries: seed ${seed}, ${seeds.length} seed archives, ${seconds} s`);
  try {
    while (Date.now() < end) {
      let input = mutator.mutate(random.pick(seeds));
      if (random.int(20) === 0) input = gzipSync(input);
      const { verdict, accepted: ok } = await tryInput(sandbox, input, runs);
      runs++;
      if (ok) accepted++;
      if (verdict !== null) {
        mkdirSync(findings, { recursive: true });
        const file = join(findings, `layer-entries-${createHash('sha256').update(input).digest('hex').slice(0, 16)}.tar`);
        writeFileSync(file, input);
        console.error(`layer-entries: finding after ${runs} inputs (seed ${seed}), input in ${file}:\n${verdict}`);
        process.exitCode = 1;
        return;
      }
    }
    console.log(`layer-entries: ${runs} inputs (${accepted} layers accepted, the rest refused), no finding`);
  } finally {
    sandbox.remove();
  }
}

async function main(): Promise<void> {
  const one = option('--run');
  if (one !== undefined) return runOne(one);
  const corpus = option('--corpus');
  const findings = option('--findings');
  if (corpus === undefined || findings === undefined) throw new Error('usage: layer-entries --corpus DIR --findings DIR [--time SECONDS] [--seed N]');
  await fuzz(corpus, findings, Number(option('--time') ?? '60'), Number(option('--seed') ?? Date.now() % 2 ** 31));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(2);
});
