/**
 * What the copier (dist/copy.cjs, run as root of the container's user namespace) is asked
 * to do: one JSON argument. It answers in `resultFile` with a CopyResult as JSON (its
 * stdout may be the tar stream and its stderr is nook's own, so neither can carry it).
 */
export type CopyEnd =
  /** `path` inside the tree whose top is `root` (`/` for the host). */
  | { readonly kind: 'tree'; readonly root: string; readonly path: string }
  /** A tar stream on stdin (source) or stdout (destination). */
  | { readonly kind: 'stream' }
  /** A tar file on the host, created or truncated (export -o). */
  | { readonly kind: 'file'; readonly path: string };

export interface CopyRequest {
  readonly source: CopyEnd;
  readonly destination: CopyEnd;
  /**
   * Who owns what is written: fixed ids (the container's user, podman's --archive), the
   * source's own ids (--archive=false), or whoever writes it (copying out: the host user).
   */
  readonly owner: { readonly kind: 'fixed'; readonly uid: number; readonly gid: number } | { readonly kind: 'keep' } | { readonly kind: 'creator' };
  /** Stay on the source's filesystem (export of a running container: not its /proc, /dev, volumes). */
  readonly oneFileSystem: boolean;
  readonly resultFile: string;
}

/** A path that is not there; stdin that is no tar archive; anything else the copy refused or failed at. */
export type CopyFailureKind = 'missing' | 'bad-archive' | 'failed';

export interface CopyResult {
  /** Null when the copy was done. */
  readonly failure: { readonly message: string; readonly kind: CopyFailureKind } | null;
  /** Devices, fifos and sockets left out. */
  readonly skipped: number;
}
