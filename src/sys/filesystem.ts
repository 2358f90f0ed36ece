import { realpathSync } from 'node:fs';
import { mountOf, readMounts } from './mountinfo.js';

/** Network and FUSE filesystems a store cannot live on well. */
const UNSUITABLE: Record<string, string> = {
  nfs: 'NFS',
  nfs4: 'NFS',
  cifs: 'SMB',
  smb3: 'SMB',
  smbfs: 'SMB',
  ceph: 'CephFS',
  glusterfs: 'GlusterFS',
  lustre: 'Lustre',
  afs: 'AFS',
  '9p': '9p',
  'fuse.sshfs': 'sshfs',
};

export interface FilesystemCheck {
  readonly type: string;
  readonly mountPoint: string;
  /** Why the store should not be here; null: fine. */
  readonly problem: string | null;
}

/** What filesystem `path` (or its nearest existing parent) is on, and whether a store belongs there. */
export function checkStoreFilesystem(path: string): FilesystemCheck {
  let real = path;
  for (;;) {
    try {
      real = realpathSync(real);
      break;
    } catch {
      const parent = real.slice(0, real.lastIndexOf('/')) || '/';
      if (parent === real) break;
      real = parent;
    }
  }
  const mount = mountOf(readMounts(), real);
  const type = mount?.fstype ?? 'unknown';
  const name = UNSUITABLE[type] ?? (type.startsWith('fuse.') ? `FUSE (${type.slice(5)})` : null);
  return {
    type,
    mountPoint: mount?.mountPoint ?? '/',
    problem:
      name === null
        ? null
        : `${name} cannot hold a store well: overlayfs will not use it for a container's upper dir, and the server squashes or refuses the container ids files belong to. Fix: put the store on a local disk (export XDG_DATA_HOME=/var/tmp/$USER/data, or a local path in your shell profile)`,
  };
}
