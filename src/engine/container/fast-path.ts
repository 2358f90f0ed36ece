import { lstatSync, readdirSync, readFileSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import os from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fastEntryDir, writeFastEntry, type DependencySignature, type FastEntry, type NewContainer } from '../../runtime/fast-entry.js';
import { runtimeBinary } from '../../runtime/binary.js';
import type { ContainerRecord, ContainerStore } from '../../store/containers.js';
import { tracedInputs, type PathUse, type TracedInputs } from '../../sys/input-trace.js';
import { ADJECTIVES, NOUNS } from '../shared/random-name.js';

/** What a foreground `run` knows when it is about to launch the runtime. */
export interface LaunchDecision {
  readonly containers: ContainerStore;
  readonly record: ContainerRecord;
  readonly runtimeDir: string;
  readonly detach: boolean;
  /** The start needs more than the runtime: a cgroup, systemd-run, a warning to print. */
  readonly extras: boolean;
  readonly plan: Buffer;
}

/** What `run` knows of its decision that the record does not say. */
export interface ReplayHints {
  /** --name was given: a replay claims that name, not a random one. */
  readonly nameAsked: boolean;
  /** --pull always: the decision asked a registry, which no trace of files can check. */
  readonly asksRegistry: boolean;
}

/** Container dirs bigger than this are not worth keeping a copy of. */
const FILES_MAX = 1 << 20;
/**
 * Read while deciding, but not what was decided from: randomness, and the memory map a
 * library loader (koffi compiling a seccomp filter) reads of the process itself.
 */
const UNRELATED = ['/dev/urandom', '/proc/self/maps'];

/** procfs files are compared by content; none the run path reads is near this. */
const CONTENT_MAX = 64 * 1024;

/**
 * Which runs bin/nook may replay (docs/fast-path.md): `run --rm` in the foreground whose
 * whole outcome is the container dir and the plan. Not: what outlives the run (detached,
 * restart policies, anonymous volumes), what depends on other containers or the host's
 * ports (container: networks, published ports), what needs more than the runtime (limits,
 * a warning), and anything that started a child process while deciding (its reads are
 * unseen).
 */
function replayable(decision: LaunchDecision, inputs: TracedInputs): boolean {
  const { record } = decision;
  if (inputs.spawned || decision.detach || decision.extras) return false;
  if (!record.autoRemove || record.restart.policy !== 'no' || record.anonymousVolumes.length > 0) return false;
  if (record.network.ports.length > 0) return false;
  return ['none', 'pasta', 'slirp4netns', 'host'].includes(record.network.mode.kind);
}

/**
 * The runtime checks the process it joins by pid and start time (the plan carries both),
 * so an exec's read of /proc/PID/stat (which changes as the process runs) is not an input.
 */
const PROCESS_STAT = /^\/proc\/\d+\/stat$/;

/**
 * The inputs a replay must find unchanged, or null when one of them cannot be checked.
 * `ignored`: dirs whose reads do not shape the plan.
 */
function dependencies(runtimeDir: string, inputs: TracedInputs, ignored: readonly string[]): Map<string, DependencySignature> | null {
  // The entries, and the plan and report files launchRuntime makes and unlinks.
  const own = [...ignored, fastEntryDir(runtimeDir)];
  const scratch = /^\.(plan|report)-/;
  const used = new Map(
    [...inputs.paths].filter(
      ([p]) =>
        !own.some((dir) => p === dir || p.startsWith(`${dir}/`)) &&
        !UNRELATED.includes(p) &&
        !PROCESS_STAT.test(p) &&
        !(dirname(p) === runtimeDir && scratch.test(basename(p))),
    ),
  );
  // The code that decided, and what os.userInfo() read through libc.
  for (const path of [__filename, runtimeBinary(), '/etc/passwd', '/etc/group']) used.set(path, 'content');
  const deps = new Map<string, DependencySignature>();
  for (const [path, use] of [...used].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const signature = signatureOf(path, use);
    if (signature === null) return null;
    deps.set(path, signature);
  }
  return deps;
}

function signatureOf(path: string, use: PathUse): DependencySignature | null {
  if (path === '/proc' || path.startsWith('/proc/')) {
    if (use !== 'content') return null;
    try {
      const bytes = readFileSync(path);
      return bytes.length <= CONTENT_MAX ? { kind: 'content', bytes } : null;
    } catch {
      return null;
    }
  }
  try {
    const st = statSync(path, { bigint: true });
    if (use === 'meta' || (use === 'content' && st.isDirectory())) return { kind: 'meta', dev: st.dev, ino: st.ino, mode: st.mode, uid: st.uid, gid: st.gid };
    return { kind: 'stat', dev: st.dev, ino: st.ino, mode: st.mode, size: st.size, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? { kind: 'absent' } : null;
  }
}

/** Each up and running interface's first IPv4 address, in the order the kernel lists them. */
export function interfaceSummary(): string {
  return Object.entries(os.networkInterfaces())
    .flatMap(([name, addresses]) => {
      const v4 = addresses?.find((a) => a.family === 'IPv4');
      return v4 ? [`${name}=${v4.address}`] : [];
    })
    .join(' ');
}

/** The container dir as it is before launch, parents first; null if it holds what a replay cannot write. */
function containerFiles(dir: string): NewContainer['files'] | null {
  const files: { path: string; type: 'dir' | 'file' | 'link'; mode: number; content: Buffer }[] = [];
  let total = 0;
  const walk = (relative: string): boolean => {
    for (const name of readdirSync(join(dir, relative)).sort()) {
      // The start claim and the creator's pid are the replaying process's own.
      if (relative === '' && (name === 'starting' || name === 'nook.pid')) continue;
      const path = relative === '' ? name : `${relative}/${name}`;
      const st = lstatSync(join(dir, path));
      if (st.isDirectory()) {
        files.push({ path, type: 'dir', mode: st.mode & 0o7777, content: Buffer.alloc(0) });
        if (!walk(path)) return false;
      } else if (st.isFile()) {
        const content = readFileSync(join(dir, path));
        total += content.length;
        if (total > FILES_MAX) return false;
        files.push({ path, type: 'file', mode: st.mode & 0o7777, content });
      } else if (st.isSymbolicLink()) {
        // The stop recipe (src/store/stop-recipe.ts): its target is its content.
        files.push({ path, type: 'link', mode: 0o777, content: readlinkSync(join(dir, path), { encoding: 'buffer' }) });
      } else {
        return false;
      }
    }
    return true;
  };
  return walk('') ? files : null;
}

function occurrences(haystack: Buffer, needle: string): number {
  let count = 0;
  for (let at = haystack.indexOf(needle); at >= 0; at = haystack.indexOf(needle, at + 1)) count++;
  return count;
}

/**
 * Loaded only when recording: node:tty costs a start ~2 ms. (require, not import(): the CLI
 * bundle runs in a vm.Script, which has no dynamic import.)
 */
function ttys(): string {
  const { isatty } = require('node:tty') as typeof import('node:tty');
  return [0, 1, 2].map((fd) => (isatty(fd) ? '1' : '0')).join('');
}

/** The entry's key and inputs: what every replay checks, whatever it replays. */
function keyAndInputs(inputs: TracedInputs, deps: ReadonlyMap<string, DependencySignature>): Omit<FastEntry, 'runtime' | 'passStdin' | 'plan' | 'container'> {
  const envNames = inputs.env === 'all' ? Object.keys(process.env) : [...inputs.env];
  return {
    // The CLI runs from dist/: bin/nook is next to it.
    launcher: realpathSync(join(__dirname, '..', 'bin', 'nook')),
    argv: process.argv.slice(2),
    cwd: process.cwd(),
    uid: process.getuid?.() ?? 0,
    gid: process.getgid?.() ?? 0,
    ttys: ttys(),
    kernel: os.release(),
    umask: process.umask(),
    env: { kind: inputs.env === 'all' ? 'all' : 'some', vars: new Map(envNames.sort().map((n) => [n, process.env[n] ?? null])) },
    interfaces: inputs.interfaces ? interfaceSummary() : null,
    dependencies: deps,
  };
}

/** Writes the entry; never fails the command: without an entry the next one decides again. */
function keep(runtimeDir: string, make: () => FastEntry | null): void {
  try {
    const entry = make();
    if (entry !== null) writeFastEntry(runtimeDir, entry);
  } catch {
    // An entry is an optimisation: a command that cannot write one still runs.
  }
}

/** Keeps what this run decided for bin/nook to replay, when it is replayable and every input can be checked. */
export function recordFastRun(decision: LaunchDecision, hints: ReplayHints): void {
  const inputs = tracedInputs();
  if (inputs === null || hints.asksRegistry || !replayable(decision, inputs)) return;
  keep(decision.runtimeDir, () => runEntry(decision, inputs, hints.nameAsked));
}

function runEntry(decision: LaunchDecision, inputs: TracedInputs, nameAsked: boolean): FastEntry | null {
  const { record, containers } = decision;
  // The store's own bookkeeping (sweeps, name claims) does not shape the plan.
  const deps = dependencies(decision.runtimeDir, inputs, [containers.dir, containers.namesDir]);
  const files = containerFiles(containers.path(record.id));
  if (deps === null || files === null) return null;
  // The created time is made afresh by the replay: it must be the record's field alone; a
  // random name likewise, and never in the plan (which the replay only gives a new id).
  const everything = Buffer.concat([decision.plan, ...files.map((f) => f.content)]);
  if (record.created.length !== 24 || occurrences(everything, record.created) !== 1) return null;
  if (!nameAsked && occurrences(decision.plan, record.name) !== 0) return null;
  return {
    ...keyAndInputs(inputs, deps),
    runtime: runtimeBinary(),
    passStdin: record.interactive,
    plan: decision.plan,
    container: {
      containersDir: containers.dir,
      namesDir: containers.namesDir,
      id: record.id,
      created: record.created,
      name: nameAsked ? { kind: 'fixed', name: record.name } : { kind: 'random', name: record.name, adjectives: ADJECTIVES, nouns: NOUNS },
      files,
    },
  };
}

/**
 * Keeps a decision that is a plan alone (an exec, a sandbox): the launcher replays it by
 * running the runtime on it. An exec's inputs include the container's record and state,
 * which its monitor rewrites when the container stops or restarts.
 */
export function recordFastPlan(decision: { readonly runtimeDir: string; readonly plan: Buffer; readonly passStdin: boolean }): void {
  const inputs = tracedInputs();
  if (inputs === null || inputs.spawned) return;
  keep(decision.runtimeDir, () => {
    const deps = dependencies(decision.runtimeDir, inputs, []);
    return deps === null ? null : { ...keyAndInputs(inputs, deps), runtime: runtimeBinary(), passStdin: decision.passStdin, plan: decision.plan, container: null };
  });
}
