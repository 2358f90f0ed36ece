import { readFileSync } from 'node:fs';

/** One line of /proc/self/mountinfo: what is mounted where. */
export interface MountEntry {
  readonly mountPoint: string;
  readonly fstype: string;
  readonly source: string;
}

/** mountinfo escapes space, tab, newline and backslash as octal (\040 …). */
const unescape = (field: string): string => field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));

export function parseMountinfo(text: string): MountEntry[] {
  return text.split('\n').flatMap((line) => {
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    if (dash < 6 || fields.length < dash + 3) return [];
    return [{ mountPoint: unescape(fields[4]!), fstype: fields[dash + 1]!, source: unescape(fields[dash + 2]!) }];
  });
}

export function readMounts(file = '/proc/self/mountinfo'): MountEntry[] {
  try {
    return parseMountinfo(readFileSync(file, 'utf8'));
  } catch {
    return [];
  }
}

/** The mount a (resolved, absolute) path lives on: the last one over the longest prefix. */
export function mountOf(mounts: readonly MountEntry[], path: string): MountEntry | null {
  let best: MountEntry | null = null;
  for (const mount of mounts) {
    const prefix = mount.mountPoint === '/' ? '/' : `${mount.mountPoint}/`;
    if (path !== mount.mountPoint && !path.startsWith(prefix)) continue;
    if (best === null || mount.mountPoint.length >= best.mountPoint.length) best = mount;
  }
  return best;
}
