import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { processAlive } from '../sys/process.js';

/**
 * A foreground run's directories (its /etc files in the runtime dir, its overlay dirs in
 * the store) are removed when the run ends. A nook killed with SIGKILL cannot do that, so
 * each such directory names the nook process that owns it, and the next run removes those
 * whose owner is gone.
 */
export const OWNER_FILE = 'nook.pid';

export function markOwner(dir: string): void {
  writeFileSync(join(dir, OWNER_FILE), `${process.pid}\n`, { mode: 0o600 });
}

/** The run directories under `parent`, and whether their nook still runs. */
function runDirs(parent: string): { dir: string; alive: boolean }[] {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return [];
  }
  return names.map((name) => {
    const dir = join(parent, name);
    try {
      const pid = Number(readFileSync(join(dir, OWNER_FILE), 'utf8').trim());
      return { dir, alive: !(Number.isSafeInteger(pid) && pid > 0) || processAlive(pid) };
    } catch {
      // Not marked yet: its run may be starting right now.
      return { dir, alive: true };
    }
  });
}

/** The directories under `parent` whose owning nook process has exited. */
export function staleRunDirs(parent: string): string[] {
  return runDirs(parent)
    .filter((run) => !run.alive)
    .map((run) => run.dir);
}

/** The directories under `parent` of runs still going on. */
export function liveRunDirs(parent: string): string[] {
  return runDirs(parent)
    .filter((run) => run.alive)
    .map((run) => run.dir);
}

/**
 * What the runs going on under `parent` use, as each listed it (a name a line) in `file` in
 * its directory: each name with the id of one run that uses it.
 */
export function usedByLiveRuns(parent: string, file: string): Map<string, string> {
  const used = new Map<string, string>();
  for (const dir of liveRunDirs(parent)) {
    let names: string[];
    try {
      names = readFileSync(join(dir, file), 'utf8').split('\n');
    } catch {
      continue;
    }
    for (const name of names) if (name) used.set(name, basename(dir));
  }
  return used;
}
