import { lstatSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

export class UnsafeLayerPath extends Error {}

/**
 * The layer-relative path `rel` under `root`, checked component by component: no `..`, and
 * no symlink on the way, so a whiteout can never land outside the layer. Missing parent
 * directories are created (a layer may hold only the whiteout of a lower directory's file).
 */
export function safeLayerPath(root: string, rel: string): string {
  const parts = rel.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.length === 0 || parts.includes('..')) throw new UnsafeLayerPath(`unsafe path "${rel}"`);
  let dir = root;
  for (const part of parts.slice(0, -1)) {
    dir = join(dir, part);
    let st;
    try {
      st = lstatSync(dir);
    } catch {
      mkdirSync(dir, { mode: 0o755 });
      continue;
    }
    if (!st.isDirectory()) throw new UnsafeLayerPath(`"${rel}" goes through "${dir.slice(root.length + 1)}", which is not a directory`);
  }
  return join(dir, parts[parts.length - 1]!);
}
