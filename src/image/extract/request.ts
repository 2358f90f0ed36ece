/**
 * What the layer extractor (dist/extract.cjs, run as root of a user namespace) is asked to
 * do and what it answers. It travels as one JSON argument; the answer is one JSON line per
 * layer on stdout, or one JSON error line on stderr and exit status EXTRACT_FAILED.
 */
export interface ExtractRequest {
  readonly layers: readonly LayerToExtract[];
  /** Keep the archive's owners (a full id map); false: everything belongs to container root. */
  readonly preserveOwners: boolean;
  /** Highest container uid/gid that maps to a host id. */
  readonly maxId: number;
}

export interface LayerToExtract {
  /** The compressed (or plain) layer tarball. */
  readonly blob: string;
  /** An empty directory that receives the layer's files. */
  readonly target: string;
  /**
   * Set while `blob` is still being written (a download): its size once whole. Stdin then
   * says how much of it is in the file (see GROWING_END); one such layer per run.
   */
  readonly growingTo?: number;
}

export interface ExtractedLayer {
  readonly target: string;
  /** sha256 of the uncompressed tar stream: the image config's diff_id for this layer. */
  readonly diffId: string;
  readonly entries: number;
  /** Device nodes a user namespace may not create; skipped, as rootless podman does. */
  readonly skippedDevices: number;
}

export interface ExtractFailure {
  readonly blob: string;
  readonly message: string;
  /** Set when an entry's owner is beyond the id map: the highest id it needs. */
  readonly owner?: number;
}

export const EXTRACT_FAILED = 3;

/**
 * What the extractor reads on stdin for a growing blob: lines, each the number of the
 * blob's bytes written to its file so far (in decimal), then this line once the whole blob
 * is there and matches its digest. Stdin closing before it means the download failed.
 */
export const GROWING_END = 'end';
