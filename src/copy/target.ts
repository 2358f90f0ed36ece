import { posix } from 'node:path';

/**
 * Where a copy lands, by docker/podman cp's rules: into an existing directory under the
 * source's name; over an existing file; as a new entry named like the destination when
 * only its parent exists. Pure, so the rules are tested without a container.
 */
export interface CopySource {
  /** The source as written (its trailing `/` or `/.` matters). */
  readonly path: string;
  readonly isDirectory: boolean;
}

export type DestinationState = 'directory' | 'other' | 'missing';

export interface CopyTarget {
  /** An existing directory the entries are written into. */
  readonly dir: string;
  /** The source's name there: `.` puts a directory's content into `dir` itself. */
  readonly name: string;
}

export class TargetError extends Error {
  constructor(
    message: string,
    /** The path a "no such file or directory" is about, if that is the trouble. */
    readonly missing: string | null = null,
  ) {
    super(message);
  }
}

/** `DIR/.` (and the root): the directory's content, not the directory. */
export function isContentsOnly(path: string): boolean {
  return /(^|\/)\.$/.test(path) || posix.normalize(path) === '/';
}

/** `LINK/` and `LINK/.` name what the link points to; `LINK` names the link itself. */
export function followsLast(path: string): boolean {
  return path.endsWith('/') || isContentsOnly(path);
}

export function copyTarget(source: CopySource, destination: string, state: DestinationState, parentIsDirectory: boolean): CopyTarget {
  const dest = posix.normalize(destination).replace(/(.)\/$/, '$1');
  const sourceName = posix.basename(posix.normalize(source.path));
  if (state === 'directory') {
    return { dir: dest, name: source.isDirectory && isContentsOnly(source.path) ? '.' : sourceName };
  }
  if (state === 'other') {
    if (source.isDirectory) throw new TargetError(`cannot copy directory "${source.path}" to file "${destination}"`);
    return { dir: posix.dirname(dest), name: posix.basename(dest) };
  }
  if (destination.endsWith('/') && !source.isDirectory) {
    throw new TargetError(`"${destination}": no such directory`, destination);
  }
  if (!parentIsDirectory) throw new TargetError(`"${posix.dirname(dest)}": no such file or directory`, posix.dirname(dest));
  return { dir: posix.dirname(dest), name: posix.basename(dest) };
}
