import { join } from 'node:path';
import { StoreError } from '../errors.js';

/** Handed to the locked section: call assertHeld() right before a write that must be exclusive. */
export interface StoreLock {
  assertHeld(): void;
}

/**
 * Runs `fn` while holding the store's lock (a `store.lock` directory that proper-lockfile
 * keeps fresh; one left by a killed command goes stale and is taken over after 10 s).
 * Everything that changes the image index runs inside it, and nothing slow does: downloads
 * happen before, so a concurrent pull waits only for the other's index update.
 *
 * If the lock is compromised (its mtime could not be refreshed, or another process took it
 * over as stale) proper-lockfile's default throws from a timer and kills the process with
 * an unhandled error. Instead the loss is recorded, the next assertHeld() refuses to write,
 * and the command fails with a StoreError.
 */
export async function withStoreLock<T>(root: string, fn: (held: StoreLock) => Promise<T>): Promise<T> {
  let compromised: Error | undefined;
  let release: () => Promise<void>;
  // Loaded here, not with the store: commands that only read it (and an unchanged
  // rebuild) do not pay the ~15 ms proper-lockfile and graceful-fs take to load.
  // (require, not import(): the CLI bundle runs in a vm.Script, which has no dynamic import.)
  const { lock } = require('proper-lockfile') as typeof import('proper-lockfile');
  try {
    release = await lock(root, {
      lockfilePath: join(root, 'store.lock'),
      realpath: false,
      stale: 10_000,
      retries: { retries: 200, factor: 1.2, minTimeout: 20, maxTimeout: 250 },
      onCompromised: (err) => {
        compromised = err;
      },
    });
  } catch (err) {
    throw new StoreError(`cannot lock the image store ${root}: ${(err as Error).message}`, 'another nook command may be holding it; try again');
  }
  const held: StoreLock = {
    assertHeld() {
      if (compromised) {
        throw new StoreError(`lost the lock on the image store ${root}: ${compromised.message}`, 'the change was not made; run the command again');
      }
    },
  };
  try {
    const result = await fn(held);
    held.assertHeld();
    return result;
  } finally {
    // A compromised lock may already belong to another process: leave it alone.
    if (!compromised) await release().catch(() => undefined);
  }
}
