import { renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { readdir, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { processAlive } from '../sys/process.js';

/**
 * Every file in the store appears whole or not at all: it is written under a temp name in
 * its final directory, then renamed over the final name (atomic within one filesystem).
 * The temp name carries the writer's pid, so the sweep can tell a file a killed command
 * left behind from one a running command is still writing.
 */
const TEMP = /\.tmp-(\d+)-[0-9a-f]+$/;

export function tempPathFor(path: string): string {
  // Unique with the pid; no need for node:crypto, which costs every start that loads it ~3 ms.
  return `${path}.tmp-${process.pid}-${Math.floor(Math.random() * 2 ** 48).toString(16).padStart(12, '0')}`;
}

export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const temp = tempPathFor(path);
  try {
    await writeFile(temp, data, { mode, flag: 'wx' });
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
}

/** writeFileAtomic for the synchronous paths (records, state lines); private to the user. */
export function writeFileAtomicSync(path: string, data: string, mode = 0o600): void {
  const temp = tempPathFor(path);
  writeFileSync(temp, data, { mode });
  renameSync(temp, path);
}

/** A symlink at `path` to `target`, replacing what is there in one rename. */
export function symlinkAtomicSync(target: string, path: string): void {
  const temp = tempPathFor(path);
  symlinkSync(target, temp);
  renameSync(temp, path);
}

/** Whether `name` has the form of a temp name (see tempPathFor). */
export function isTempName(name: string): boolean {
  return TEMP.test(basename(name));
}

/** Whether `name` is a temp name (see tempPathFor) whose writer has exited. */
export function isStaleTemp(name: string): boolean {
  const pid = Number(TEMP.exec(basename(name))?.[1]);
  return pid > 0 && pid !== process.pid && !processAlive(pid);
}

/** Removes the temp files and dirs in `dir` whose writer is gone. */
export async function sweepTemp(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  await Promise.all(
    names.map(async (name) => {
      if (isStaleTemp(name)) await rm(join(dir, name), { recursive: true, force: true });
    }),
  );
}
