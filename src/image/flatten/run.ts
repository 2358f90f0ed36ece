import { join } from 'node:path';
import { NookError } from '../../errors.js';
import { runInUserns } from '../../runtime/userns.js';
import type { ContainerIdMaps } from '../../sys/idmap.js';
import type { FlattenRequest } from './main.js';

/** Copies extracted layers (bottom first) into `target` as container root: see main.ts. */
export async function flattenLayers(maps: ContainerIdMaps, request: FlattenRequest): Promise<void> {
  // Built next to the CLI bundle by scripts/build.mjs.
  const script = join(__dirname, 'flatten.cjs');
  const result = await runInUserns(maps, [process.execPath, script, JSON.stringify(request)], [], { capture: true });
  if (result.status !== 0) {
    throw new NookError('storage', `cannot copy the image's layers into the container: ${result.stderr.trim().split('\n').pop() ?? `exit ${result.status}`}`, {
      hint: 'check the free space in the store (nook info shows where it is)',
    });
  }
}
