import { createHash, type Hash } from 'node:crypto';
import { closeSync, existsSync, lstatSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, statSync } from 'node:fs';
import { join, posix, resolve } from 'node:path';
import { componentRegex, hasWildcard } from '../../build/glob.js';
import { IgnoreMatcher } from '../../build/ignore.js';
import { resolveLayeredPath } from '../../rootfs/layered.js';
import { BuildError } from './errors.js';

/**
 * The build context on the host: the Containerfile, the ignore rules, and the sources a
 * COPY names, found (wildcards) and hashed for the cache. Everything is looked up inside
 * the context directory: a symlink pointing out of it resolves inside it, as the copier
 * (which does the real reads, RESOLVE_IN_ROOT) will see it.
 */
export class BuildContext {
  readonly dir: string;
  readonly ignoreLines: readonly string[];
  private readonly matcher: IgnoreMatcher;

  constructor(dir: string) {
    this.dir = resolve(dir);
    let isDir = false;
    try {
      isDir = statSync(this.dir).isDirectory();
    } catch {
      isDir = false;
    }
    if (!isDir) throw new BuildError(`the build context "${dir}" is not a directory`, 'give nook build the directory that holds the files the Containerfile copies');
    // podman reads .containerignore first, then .dockerignore.
    const ignoreFile = ['.containerignore', '.dockerignore'].map((n) => join(this.dir, n)).find((p) => existsSync(p));
    this.ignoreLines = ignoreFile === undefined ? [] : readFileSync(ignoreFile, 'utf8').split(/\r?\n/);
    this.matcher = new IgnoreMatcher(this.ignoreLines);
  }

  /** The Containerfile podman would use: -f as given, else Containerfile, else Dockerfile in the context. */
  static containerfilePath(dir: string, file: string | null): string {
    if (file !== null) return resolve(file);
    for (const name of ['Containerfile', 'Dockerfile']) {
      const path = join(resolve(dir), name);
      if (existsSync(path)) return path;
    }
    throw new BuildError(`no Containerfile or Dockerfile in ${resolve(dir)}`, 'write one there, or name it with -f FILE');
  }

  excludes(rel: string): boolean {
    return this.matcher.excludes(rel);
  }

  /**
   * A COPY source as written, as context paths (relative, `/`-separated): itself, or what a
   * wildcard matches (sorted), leaving out what the ignore rules exclude.
   */
  expand(source: string): string[] {
    const clean = posix.normalize(`/${source}`).slice(1) || '.';
    if (!hasWildcard(clean)) {
      if (clean !== '.' && this.excludes(clean)) throw missing(source);
      if (this.kind(clean) === null) throw missing(source);
      return [clean];
    }
    const parts = clean.split('/');
    let matches = [''];
    for (const part of parts) {
      const next: string[] = [];
      const literal = !hasWildcard(part);
      for (const base of matches) {
        if (literal) {
          next.push(base === '' ? part : `${base}/${part}`);
          continue;
        }
        const regex = componentRegex(part);
        let names: string[];
        try {
          names = readdirSync(join(this.dir, base));
        } catch {
          continue;
        }
        for (const name of names.sort()) if (regex.test(name)) next.push(base === '' ? name : `${base}/${name}`);
      }
      matches = next;
    }
    const found = matches.filter((m) => !this.excludes(m) && this.kind(m) !== null);
    if (found.length === 0) throw missing(source);
    return found;
  }

  /** What is at a context path (a top symlink followed inside the context). */
  kind(rel: string): 'dir' | 'file' | null {
    const inside = resolveLayeredPath([this.dir], rel);
    if (inside === null) return null;
    try {
      return statSync(join(this.dir, inside)).isDirectory() ? 'dir' : 'file';
    } catch {
      return null;
    }
  }

  /** Adds a source's content (names, types, modes, file bytes, link targets; not times) to `hash`. */
  hashSource(rel: string, hash: Hash): void {
    const inside = resolveLayeredPath([this.dir], rel) ?? `/${rel}`;
    const visit = (host: string, ctxPath: string, name: string, top: boolean): void => {
      if (!top && this.excludes(ctxPath)) {
        // An excluded directory may still hold an exception: look inside.
        if (!lstatSafe(host)?.isDirectory()) return;
        for (const child of readdirSync(host).sort()) visit(join(host, child), posix.join(ctxPath, child), posix.join(name, child), false);
        return;
      }
      const st = top ? statSync(host) : lstatSync(host);
      hash.update(`${name}\0${st.mode}\0`);
      if (st.isSymbolicLink()) hash.update(`link\0${readlinkSync(host)}\0`);
      else if (st.isFile()) hashFile(host, hash);
      else if (st.isDirectory()) for (const child of readdirSync(host).sort()) visit(join(host, child), posix.join(ctxPath, child), posix.join(name, child), false);
    };
    visit(join(this.dir, inside), rel, '.', true);
  }
}

function lstatSafe(path: string): ReturnType<typeof lstatSync> | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

function hashFile(path: string, hash: Hash): void {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(256 * 1024);
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, null);
      if (n === 0) break;
      hash.update(buffer.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  hash.update('\0');
}

function missing(source: string): BuildError {
  return new BuildError(`COPY/ADD source "${source}": no such file or directory in the build context`, 'sources are looked up in the context directory, after .containerignore/.dockerignore');
}

export function newHash(): Hash {
  return createHash('sha256');
}
