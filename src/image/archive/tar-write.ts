import { Header } from 'tar';

/** One regular file of an archive being written; a stream body must yield exactly `size` bytes. */
export interface TarFile {
  readonly path: string;
  readonly size: number;
  readonly body: Uint8Array | (() => AsyncIterable<Uint8Array>);
}

const BLOCK = 512;

/**
 * The bytes of a tar archive holding `files`, produced as they are consumed (so the
 * archive streams to its destination with back-pressure, never whole in memory). Headers
 * are node-tar's; owners 0 and mtime 0, as podman writes image archives, so the same image
 * saves to the same bytes.
 */
export async function* tarStream(files: Iterable<TarFile> | AsyncIterable<TarFile>): AsyncGenerator<Uint8Array> {
  for await (const file of files) {
    const header = new Header({ path: file.path, mode: 0o644, uid: 0, gid: 0, size: file.size, mtime: new Date(0), type: 'File' });
    if (header.encode()) throw new Error(`tar: "${file.path}" needs an extended header`);
    yield header.block!;
    let written = 0;
    if (file.body instanceof Uint8Array) {
      written = file.body.length;
      yield file.body;
    } else {
      for await (const chunk of file.body()) {
        written += chunk.length;
        if (written > file.size) break;
        yield chunk;
      }
    }
    if (written !== file.size) throw new Error(`tar: "${file.path}" changed while it was archived (${written} bytes, expected ${file.size})`);
    const pad = (BLOCK - (file.size % BLOCK)) % BLOCK;
    if (pad > 0) yield Buffer.alloc(pad);
  }
  yield Buffer.alloc(2 * BLOCK);
}
