import { posix } from 'node:path';

/** A container path in the normal form the runtime takes: no `.`, `..`, `//` or trailing `/`. */
export function normalPath(path: string): string {
  return posix.normalize(path).replace(/(.)\/+$/, '$1');
}
