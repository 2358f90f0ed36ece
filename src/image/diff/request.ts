/**
 * What the build-step worker (dist/diff.cjs, run as root of a user namespace with the
 * container id maps, and its own mount namespace holding the step's overlays) is asked to
 * do: one JSON argument. It writes into the step's root first (COPY, ADD, WORKDIR), then
 * turns the step's upper dir into a layer tar. It answers with one JSON line on stdout
 * (DiffResult), or a JSON error line on stderr and exit status DIFF_FAILED.
 */

export interface Owner {
  readonly uid: number;
  readonly gid: number;
}

/** One source of a COPY or ADD, already expanded (wildcards) and checked on the host. */
export interface CopySource {
  /** The tree it is read from: the build context, a stage's mounted root, a heredoc dir. */
  readonly root: string;
  /** Its absolute path inside that tree (a top symlink is followed inside the tree). */
  readonly path: string;
  /** Its path relative to the context, for .dockerignore; null when no ignore rules apply. */
  readonly contextPath: string | null;
  /** An archive ADD unpacks into the destination instead of copying. */
  readonly unpack: boolean;
}

export type WriteOp =
  | {
      readonly kind: 'copy';
      readonly sources: readonly CopySource[];
      /** Absolute in the container. */
      readonly destination: string;
      /** The destination is a directory whatever exists there (trailing `/`, several sources). */
      readonly destinationIsDirectory: boolean;
      /** null: keep the source's owners (COPY --from, ADD of an archive); else these. */
      readonly owner: Owner | null;
      /** ADD of an archive keeps the archive's owners, unless --chown was given. */
      readonly archiveOwners: boolean;
      readonly chmod: number | null;
      readonly ignore: readonly string[];
    }
  | { readonly kind: 'mkdir'; readonly path: string; readonly owner: Owner };

/** A stage's layers (topmost first), mounted read-only at `target` for a COPY --from to read. */
export interface LayerView {
  readonly lowerDirs: readonly string[];
  readonly target: string;
}

export interface DiffRequest {
  /** Mounted before the writes. */
  readonly views: readonly LayerView[];
  /** Where the step's overlay is mounted (the container's root), for writes. */
  readonly root: string | null;
  readonly writes: readonly WriteOp[];
  /** The overlay's upper dir: everything the step changed. */
  readonly upper: string;
  /** Paths (upper-relative) the runtime made as mount points, to remove when empty, deepest first. */
  readonly drop: readonly string[];
  /** The layer tar to create. */
  readonly output: string;
  /** Every entry's mtime, when the build is reproducible (--timestamp, SOURCE_DATE_EPOCH); seconds. */
  readonly timestamp: number | null;
}

export interface DiffResult {
  readonly entries: number;
  /** Devices, fifos and sockets left out of the copy. */
  readonly skipped: number;
}

export interface DiffFailure {
  readonly message: string;
}

export const DIFF_FAILED = 3;
