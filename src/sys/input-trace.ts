// The modules' own objects (default imports), not namespace copies: the wrappers must be
// what every other module's `fs.readFileSync(...)` call reaches in the CommonJS bundle.
import childProcess from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { resolve } from 'node:path';

/**
 * What one command read from outside itself while it decided what to do: the files and
 * directories it looked at, the environment variables it asked for, whether it asked for the
 * host's network interfaces, and whether it started a child process (whose own reads cannot
 * be seen). A command whose decision depends only on these can be replayed without being
 * decided again as long as none of them changed (docs/fast-path.md).
 */
/**
 * How a path was looked at: only its identity, type and owner (stat, lstat, exists, access,
 * realpath), what is in it (readFile, open, readlink; a directory opened is only held, to
 * reach what is below it), or the names in a directory (readdir, opendir).
 */
export type PathUse = 'meta' | 'content' | 'listing';

const WEIGHT: Record<PathUse, number> = { meta: 0, content: 1, listing: 2 };

export interface TracedInputs {
  /** Absolute paths, as the command named them (a /proc/self/fd/N prefix resolved). */
  readonly paths: ReadonlyMap<string, PathUse>;
  /** The variables read, or 'all' when the command listed the whole environment. */
  readonly env: ReadonlySet<string> | 'all';
  readonly interfaces: boolean;
  readonly spawned: boolean;
}

const META_READERS = ['stat', 'lstat', 'exists', 'access', 'realpath'] as const;
const CONTENT_READERS = ['readFile', 'open', 'readlink'] as const;
const LISTING_READERS = ['readdir', 'opendir'] as const;
const SPAWNERS = ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork'] as const;

const FD_PATH = /^\/proc\/self\/fd\/(\d+)(\/.*)?$/;

/** Taken before any wrapping: resolving a held fd must not itself be traced. */
const readlinkUntraced = fs.readlinkSync;

type Patchable = Record<string, unknown>;

/**
 * Records a command's inputs by wrapping the functions it reads them through. One trace at
 * a time, for the life of the command; stop() puts every function back.
 */
export class InputTrace {
  private readonly paths = new Map<string, PathUse>();
  private readonly envNames = new Set<string>();
  private wholeEnv = false;
  private interfaces = false;
  private spawned = false;
  private readonly restore: (() => void)[] = [];

  static start(): InputTrace {
    const trace = new InputTrace();
    trace.install();
    return trace;
  }

  inputs(): TracedInputs {
    return { paths: new Map(this.paths), env: this.wholeEnv ? 'all' : new Set(this.envNames), interfaces: this.interfaces, spawned: this.spawned };
  }

  stop(): void {
    for (const undo of this.restore.splice(0).reverse()) undo();
  }

  private notePath(path: unknown, use: PathUse): void {
    let text: string;
    if (typeof path === 'string') text = path;
    else if (Buffer.isBuffer(path)) text = path.toString();
    else if (path instanceof URL) text = path.pathname;
    else return;
    // Files opened below a held directory fd: the dependency is the directory's file.
    const held = FD_PATH.exec(text);
    if (held) {
      try {
        text = `${readlinkUntraced(`/proc/self/fd/${held[1]}`)}${held[2] ?? ''}`;
      } catch {
        return;
      }
    }
    const absolute = resolve(text);
    const seen = this.paths.get(absolute);
    if (seen === undefined || WEIGHT[use] > WEIGHT[seen]) this.paths.set(absolute, use);
  }

  private wrap(target: Patchable, name: string, before: (args: unknown[]) => void): void {
    const original = target[name];
    if (typeof original !== 'function') return;
    const wrapped = function (this: unknown, ...args: unknown[]): unknown {
      before(args);
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    };
    // realpathSync.native and friends hang off the function itself.
    Object.assign(wrapped, original);
    target[name] = wrapped;
    this.restore.push(() => {
      target[name] = original;
    });
  }

  private install(): void {
    const fsModule = fs as unknown as Patchable;
    const promises = fs.promises as unknown as Patchable;
    for (const [names, use] of [
      [META_READERS, 'meta'],
      [CONTENT_READERS, 'content'],
      [LISTING_READERS, 'listing'],
    ] as const) {
      for (const name of names) {
        const note = (args: unknown[]): void => this.notePath(args[0], use);
        this.wrap(fsModule, name, note);
        this.wrap(fsModule, `${name}Sync`, note);
        this.wrap(promises, name, note);
      }
    }
    const spawners = childProcess as unknown as Patchable;
    for (const name of SPAWNERS) this.wrap(spawners, name, () => (this.spawned = true));
    this.wrap(os as unknown as Patchable, 'networkInterfaces', () => (this.interfaces = true));

    const env = process.env;
    process.env = new Proxy(env, {
      get: (target, key) => {
        if (typeof key === 'string') this.envNames.add(key);
        return target[key as string];
      },
      has: (target, key) => {
        if (typeof key === 'string') this.envNames.add(key);
        return key in target;
      },
      ownKeys: (target) => {
        this.wholeEnv = true;
        return Reflect.ownKeys(target);
      },
    });
    this.restore.push(() => {
      process.env = env;
    });
  }
}

let active: InputTrace | null = null;

/** Starts the process's trace (see InputTrace). */
export function startInputTrace(): void {
  active ??= InputTrace.start();
}

/** The inputs read so far, or null when no trace runs. */
export function tracedInputs(): TracedInputs | null {
  return active?.inputs() ?? null;
}
