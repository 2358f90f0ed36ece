import { existsSync, linkSync, mkdirSync, readdirSync, rmSync, statSync, readFileSync, readlinkSync, renameSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { processAlive } from '../sys/process.js';
import { isStaleTemp, isTempName, symlinkAtomicSync, tempPathFor, writeFileAtomicSync } from './atomic.js';
import { CorruptRecordError, parseContainerRecord, type ContainerRecord } from './container-record.js';
import { encodeStopRecipe, STOP_RECIPE_FILE } from './stop-recipe.js';

export { NO_LIMITS } from './container-record.js';
export type { ContainerLimits, ContainerRecord, RestartPolicy } from './container-record.js';

/** A container whose record exists but cannot be used, and why. */
export interface CorruptContainer {
  readonly id: string;
  /** The names claimed for it. */
  readonly names: readonly string[];
  readonly file: string;
  readonly reason: string;
}

export type RecordLoad =
  | { readonly kind: 'missing' }
  | { readonly kind: 'corrupt'; readonly container: CorruptContainer }
  | { readonly kind: 'valid'; readonly record: ContainerRecord };


/** In a container's dir: the record. Its presence is what makes the container exist. */
const RECORD = 'config.json';
/** In a container's dir while create builds it: the pid of the nook doing so. */
const CREATOR_FILE = 'nook.pid';

const ID = /^[0-9a-f]{64}$/;
/** How long a container dir may lack both record and creator file before it counts as left over. */
const JUST_MADE_MS = 10_000;

/** podman's rule for container names, less names shaped like the store's temp names. */
export function isContainerName(name: string): boolean {
  return /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name) && !isTempName(name);
}

/** Another nook command is starting the container right now. */
export class StartInProgressError extends Error {}

/** In a container's dir while a start launches it: the pid of that nook. */
const START_FILE = 'starting';

export class NameInUseError extends Error {
  constructor(
    readonly containerName: string,
    readonly holder: string,
  ) {
    super(`the container name "${containerName}" is already in use by ${holder.slice(0, 12)}`);
  }
}

/**
 * Containers under the store: `containers/<id>/` holds the record, the overlay dirs, the
 * per-container /etc files, the log and the state the monitor writes; `container-names/<name>`
 * is a symlink to the id. No lock is needed: a name is claimed with symlink(2), which fails
 * when the name exists, and a container exists once its record is renamed into place.
 *
 * A claim is valid while its target's record carries that name, or while the nook creating
 * the target still runs; any other claim is left over from a killed command and is taken.
 */
export class ContainerStore {
  readonly dir: string;
  readonly namesDir: string;

  constructor(readonly root: string) {
    this.dir = join(root, 'containers');
    this.namesDir = join(root, 'container-names');
  }

  path(id: string, ...parts: string[]): string {
    return join(this.dir, id, ...parts);
  }

  /** Makes the container's dir, marked as being created by this process. */
  begin(id: string): string {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const dir = this.path(id);
    mkdirSync(dir, { mode: 0o700 });
    writeFileSync(join(dir, CREATOR_FILE), `${process.pid}\n`, { mode: 0o600 });
    return dir;
  }

  /** Claims `name` for `id`; throws NameInUseError when a live container or create holds it. */
  claimName(name: string, id: string): void {
    mkdirSync(this.namesDir, { recursive: true, mode: 0o700 });
    const link = join(this.namesDir, name);
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        symlinkSync(id, link);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const holder = this.nameTarget(name);
      if (holder !== null && this.claimValid(name, holder)) throw new NameInUseError(name, holder);
      this.dropStaleClaim(name, holder);
    }
    throw new NameInUseError(name, this.nameTarget(name) ?? 'another container');
  }

  /**
   * Taken while a start launches the container, so two starts of one container cannot both
   * run it; returns the release. One left by a killed start (its pid gone) is taken over.
   */
  claimStart(id: string): () => void {
    const path = this.path(id, START_FILE);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        writeFileSync(path, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
        return () => rmSync(path, { force: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      let pid = NaN;
      try {
        pid = Number(readFileSync(path, 'utf8').trim());
      } catch {
        // removed meanwhile: try again
      }
      // No pid yet: its writer is between the open and the write.
      if (!(pid > 0) || processAlive(pid)) throw new StartInProgressError();
      dropStale(path, (aside) => readFileSync(aside, 'utf8') === `${pid}\n`);
    }
    throw new StartInProgressError();
  }



  /** Whether a live nook holds the container's start claim (claimStart). */
  starting(id: string): boolean {
    try {
      const pid = Number(readFileSync(this.path(id, START_FILE), 'utf8').trim());
      return !(pid > 0) || processAlive(pid);
    } catch {
      return false;
    }
  }

  /** Writes the record: from now on the container exists. */
  commit(record: ContainerRecord): void {
    this.writeRecord(record);
    unlinkSync(this.path(record.id, CREATOR_FILE));
  }

  /**
   * The stop recipe first, then the record: while the two disagree (a rename between its
   * writes) bin/nook finds a name that is not the one asked for and leaves the stop to the CLI.
   */
  writeRecord(record: ContainerRecord): void {
    const recipe = encodeStopRecipe(record);
    const recipePath = this.path(record.id, STOP_RECIPE_FILE);
    if (recipe === null) rmSync(recipePath, { force: true });
    else symlinkAtomicSync(recipe, recipePath);
    writeFileAtomicSync(this.path(record.id, RECORD), `${JSON.stringify(record, null, 2)}\n`);
  }

  /** Whether the container's record is in place, without reading it (sweeps ask for every dir). */
  exists(id: string): boolean {
    return existsSync(this.path(id, RECORD));
  }

  /** The container's record: missing (no container), corrupt (kept, with why), or valid. */
  load(id: string): RecordLoad {
    let text: string;
    try {
      text = readFileSync(this.path(id, RECORD), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
      return { kind: 'corrupt', container: this.corruptContainer(id, `it cannot be read (${(err as NodeJS.ErrnoException).code})`) };
    }
    try {
      return { kind: 'valid', record: parseContainerRecord(text, id) };
    } catch (err) {
      if (!(err instanceof CorruptRecordError)) throw err;
      return { kind: 'corrupt', container: this.corruptContainer(id, err.message) };
    }
  }

  /** The container's record, if it has a valid one. */
  read(id: string): ContainerRecord | null {
    const loaded = this.load(id);
    return loaded.kind === 'valid' ? loaded.record : null;
  }

  /** Every container that exists with a valid record, in no particular order. */
  list(): ContainerRecord[] {
    return this.scan().valid;
  }

  /**
   * Every container that exists, each record read once: the valid ones, and those whose
   * record is there but unusable (shown by ps -a, removed by rm -f).
   */
  scan(): { valid: ContainerRecord[]; corrupt: CorruptContainer[] } {
    const valid: ContainerRecord[] = [];
    const corrupt: CorruptContainer[] = [];
    for (const id of this.ids()) {
      const loaded = this.load(id);
      if (loaded.kind === 'valid') valid.push(loaded.record);
      else if (loaded.kind === 'corrupt') corrupt.push(loaded.container);
    }
    return { valid, corrupt };
  }

  /**
   * Takes a container whose record is corrupt out of the store's view, like detach: its
   * dir renamed aside for the caller to delete, every name pointing at it released.
   */
  detachCorrupt(container: CorruptContainer): string {
    const dir = this.path(container.id);
    const doomed = tempPathFor(dir);
    renameSync(dir, doomed);
    for (const name of container.names) this.releaseName(name, container.id);
    return doomed;
  }

  private corruptContainer(id: string, reason: string): CorruptContainer {
    return { id, names: this.namesOf(id), file: this.path(id, RECORD), reason };
  }

  /** The names claimed for `id` (a valid record knows its own; a corrupt one cannot tell). */
  private namesOf(id: string): string[] {
    let claims: string[];
    try {
      claims = readdirSync(this.namesDir);
    } catch {
      return [];
    }
    return claims.filter((name) => !isTempName(name) && this.nameTarget(name) === id);
  }

  ids(): string[] {
    try {
      return readdirSync(this.dir).filter((name) => ID.test(name));
    } catch {
      return [];
    }
  }

  /**
   * What containers use, as each lists it (a name a line) in `file` in its dir: each name
   * with the id of one container using it. Containers being created count already.
   */
  usedBy(file: string): Map<string, string> {
    const used = new Map<string, string>();
    for (const id of this.ids()) {
      if (!this.exists(id) && !this.creatorAlive(id)) continue;
      let names: string[];
      try {
        names = readFileSync(this.path(id, file), 'utf8').split('\n');
      } catch {
        continue;
      }
      for (const name of names) if (name) used.set(name, id);
    }
    return used;
  }

  nameTarget(name: string): string | null {
    try {
      return readlinkSync(join(this.namesDir, name));
    } catch {
      return null;
    }
  }

  /** Moves `name` to the container `record` (which holds `oldName`); the caller rewrites the record. */
  releaseName(name: string, id: string): void {
    if (this.nameTarget(name) === id) unlinkSync(join(this.namesDir, name));
  }

  /**
   * Takes the container out of the store's view: its dir is renamed to a temp name (which
   * the next sweep finishes removing if we are killed) and its name released. Returns the
   * renamed dir, for the caller to delete.
   */
  detach(record: ContainerRecord): string {
    const dir = this.path(record.id);
    const doomed = tempPathFor(dir);
    renameSync(dir, doomed);
    this.releaseName(record.name, record.id);
    return doomed;
  }

  /**
   * What killed commands left: dirs whose create never finished (creator gone), dirs being
   * removed (temp names of gone processes), and name claims nothing holds. Returns the
   * dirs to delete (their files may belong to container ids); the claims are dropped here.
   */
  leftovers(): string[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    const dirs = names.flatMap((name) => {
      if (isTempName(name)) return isStaleTemp(name) ? [join(this.dir, name)] : [];
      if (!ID.test(name) || this.exists(name) || this.creatorAlive(name)) return [];
      return [join(this.dir, name)];
    });
    let claims: string[];
    try {
      claims = readdirSync(this.namesDir);
    } catch {
      claims = [];
    }
    for (const name of claims) {
      if (isTempName(name)) {
        // A claim set aside by dropStaleClaim; its command finishes the job unless it died.
        if (isStaleTemp(name)) rmSync(join(this.namesDir, name), { force: true });
        continue;
      }
      const holder = this.nameTarget(name);
      if (holder === null || !this.claimValid(name, holder)) this.dropStaleClaim(name, holder);
    }
    return dirs;
  }

  private claimValid(name: string, holder: string): boolean {
    const loaded = this.load(holder);
    if (loaded.kind === 'valid') return loaded.record.name === name;
    // A corrupt record cannot say its name: the claim stands until rm -f removes it.
    if (loaded.kind === 'corrupt') return true;
    return this.creatorAlive(holder);
  }

  private creatorAlive(id: string): boolean {
    let pid = NaN;
    try {
      pid = Number(readFileSync(this.path(id, CREATOR_FILE), 'utf8').trim());
    } catch {
      // No file: begin() writes it right after its mkdir, and commit() removes it.
    }
    if (Number.isSafeInteger(pid) && pid > 0) return processAlive(pid);
    // No pid (yet): the file is being written, or the dir was just made. Young means alive.
    try {
      return Date.now() - statSync(this.path(id)).mtimeMs < JUST_MADE_MS;
    } catch {
      return false;
    }
  }

  /** Drops the name claim `name` if it still points at `holder` (see dropStale). */
  private dropStaleClaim(name: string, holder: string | null): void {
    dropStale(join(this.namesDir, name), (aside) => readlinkSync(aside) === holder);
  }

}

/**
 * Removes a claim (a name's symlink, a start's pid file) found stale, unless it changed
 * meanwhile: it is renamed aside first, so of two commands dropping the same claim only one
 * removes it, and a fresh claim made there in between (`stillStale` false) is put back
 * (a hard link: it keeps a symlink a symlink).
 */
function dropStale(path: string, stillStale: (aside: string) => boolean): void {
  const aside = tempPathFor(path);
  try {
    renameSync(path, aside);
  } catch {
    return;
  }
  let stale = true;
  try {
    stale = stillStale(aside);
  } catch {
    // gone or unreadable: nothing to put back
  }
  if (!stale) {
    try {
      linkSync(aside, path);
    } catch {
      // another claim is there by now: it stands
    }
  }
  rmSync(aside, { force: true });
}
