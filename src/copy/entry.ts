/**
 * What flows from a source (a tree walk, a tar stream) to a sink (a tree, a tar stream):
 * one entry at a time, a file's content after its entry.
 */
export type EntryType = 'file' | 'directory' | 'symlink' | 'hardlink';

export interface Entry {
  /** Relative to where the copy lands, `/`-separated; `.` is that directory itself. */
  readonly path: string;
  readonly type: EntryType;
  /** Permission bits, setuid/setgid/sticky included. */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly mtime: Date;
  /** A file's length; 0 otherwise. */
  readonly size: number;
  /** A symlink's target, or the path (relative, like `path`) a hard link shares its file with. */
  readonly linkTarget: string;
}

export interface FileBody {
  write(chunk: Uint8Array): void;
  close(): void;
}

export interface Sink {
  /** Adds an entry; a file's content then goes through the body returned. */
  add(entry: Entry): FileBody | null;
  /** After the last entry. */
  finish(): void;
}
