import { rm } from 'node:fs';
import { NookError } from '../errors.js';
import type { ContainerIdMaps } from '../sys/idmap.js';

// ps, stop and rm reach these (a container's dir, what killed commands left): nothing here
// loads at start what only the rare removal as container root needs.

/**
 * Removes trees that may hold files of container ids: plainly where everything in them is
 * the user's (container root's), which saves a user-namespace launch, and as container root
 * where the plain removal is refused.
 */
export async function removeOwnedTrees(maps: ContainerIdMaps, paths: readonly string[]): Promise<void> {
  const left: string[] = [];
  for (const path of paths) await removeTree(path).catch(() => left.push(path));
  await removeAsContainerRoot(maps, left);
}

/** fs.rm through its callback: node:fs/promises would cost every start that may remove ~1 ms. */
function removeTree(path: string): Promise<void> {
  return new Promise((resolve, reject) => rm(path, { recursive: true, force: true }, (err) => (err ? reject(err) : resolve())));
}

/** Removes directories that may hold files of any container id (the user alone cannot). */
export async function removeAsContainerRoot(maps: ContainerIdMaps, paths: readonly string[]): Promise<void> {
  if (paths.length === 0) return;
  // Launching the runtime is most of what a start would load otherwise.
  const { runInUserns } = await import('./userns.js');
  const result = await runInUserns(maps, ['rm', '-rf', '--', ...paths], ['PATH=/usr/bin:/bin'], { capture: true });
  if (result.status !== 0) {
    throw new NookError('store', `cannot remove ${paths.join(', ')}: ${result.stderr.trim()}`, { hint: 'check the store with "nook unshare ls -la PATH"' });
  }
}
