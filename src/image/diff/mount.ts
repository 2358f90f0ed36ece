import koffi from 'koffi';

/**
 * A read-only view of a stage's layers for COPY --from: overlayfs with lower dirs only
 * (no upper dir: nothing can be written), mounted by the worker as root of its user
 * namespace in its own mount namespace. The runtime's plan holds one root overlay (the
 * step's own); a stage read from is mounted here instead.
 */
const libc = koffi.load('libc.so.6');
const mount = libc.func('int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)');
const MS_RDONLY = 1;

export function mountLayers(lowerDirs: readonly string[], target: string): void {
  const data = `lowerdir=${lowerDirs.join(':')},userxattr`;
  if (mount('overlay', target, 'overlay', MS_RDONLY, data) !== 0) {
    throw new Error(`cannot mount the layers of a stage at ${target}: errno ${koffi.errno()}`);
  }
}
