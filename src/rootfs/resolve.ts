import { existsInLayers } from './layered.js';

/**
 * Whether `containerPath` exists in the plain root directory `root`, symlinks followed as
 * if `root` were `/` (so `/bin/sh -> /bin/busybox` is looked up inside the root), never
 * out of it. A plain root is an image of one layer: layered.ts does the walk.
 */
export function existsInRoot(root: string, containerPath: string): boolean {
  return existsInLayers([root], containerPath);
}
