import type { IdMap, Op } from './ops.js';

/**
 * A plan that only enters a new user namespace with the container id maps and runs a
 * command there, as root of that namespace: `nook unshare`, and the work that must create
 * files owned by container ids (layer extraction, removing such files).
 */
export function compileUsernsPlan(maps: { uid: IdMap; gid: IdMap }, argv: readonly string[], env: readonly string[]): Op[] {
  return [
    { op: 'namespaces', namespaces: ['user'] },
    { op: 'uid-map', map: maps.uid },
    { op: 'gid-map', map: maps.gid },
    { op: 'close-fds' },
    { op: 'exec', argv, env },
  ];
}
