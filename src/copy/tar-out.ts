import { Header, Pax, type HeaderData } from 'tar';
import type { Entry, FileBody, Sink } from './entry.js';
import { writeAll } from './write-all.js';

const BLOCK = 512;
const TAR_TYPE = { file: 'File', directory: 'Directory', symlink: 'SymbolicLink', hardlink: 'Link' } as const;

/**
 * Writes entries as a tar stream to `fd` (ustar headers from node-tar, a pax header first
 * where a name or a number does not fit). Owners are the ids the walk saw, as podman's
 * export keeps the container's.
 */
export class TarSink implements Sink {
  constructor(private readonly fd: number) {}

  add(entry: Entry): FileBody | null {
    const path = entry.type === 'directory' ? `${entry.path.replace(/\/$/, '')}/` : entry.path;
    const link = entry.linkTarget === '' ? {} : { linkpath: entry.linkTarget };
    const data: HeaderData = {
      path,
      mode: entry.mode,
      uid: entry.uid,
      gid: entry.gid,
      size: entry.size,
      mtime: entry.mtime,
      type: TAR_TYPE[entry.type],
      ...link,
      uname: '',
      gname: '',
    };
    const header = new Header(data);
    if (header.encode()) writeAll(this.fd, new Pax({ path, size: entry.size, uid: entry.uid, gid: entry.gid, mtime: entry.mtime, ...link }).encode());
    writeAll(this.fd, header.block!);
    if (entry.type !== 'file') return null;
    let written = 0;
    return {
      write: (chunk) => {
        writeAll(this.fd, chunk);
        written += chunk.length;
      },
      close: () => {
        // A file that shrank while it was read still fills the size its header gave.
        const missing = entry.size - written;
        const pad = (BLOCK - (entry.size % BLOCK)) % BLOCK;
        if (missing + pad > 0) writeAll(this.fd, Buffer.alloc(missing + pad));
      },
    };
  }

  finish(): void {
    writeAll(this.fd, Buffer.alloc(2 * BLOCK));
  }
}
