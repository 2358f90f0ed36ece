import { gzipSync } from 'node:zlib';

/**
 * A tar writer for test layers, so tests can craft exactly the entries a hostile or odd
 * image would hold (absolute names, '..', links out, whiteouts), which well-behaved tar
 * tools refuse to write.
 */
export type TarEntry =
  | { readonly type: 'file'; readonly path: string; readonly body?: string; readonly mode?: number; readonly uid?: number; readonly gid?: number }
  | { readonly type: 'dir'; readonly path: string; readonly mode?: number; readonly uid?: number; readonly gid?: number }
  | { readonly type: 'symlink'; readonly path: string; readonly target: string }
  | { readonly type: 'hardlink'; readonly path: string; readonly target: string };

const TYPE_FLAG = { file: '0', hardlink: '1', symlink: '2', dir: '5' } as const;

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function header(entry: TarEntry, size: number): Buffer {
  const block = Buffer.alloc(512);
  const write = (text: string, offset: number, width: number): void => {
    block.write(text.slice(0, width), offset, width, 'utf8');
  };
  const defaultMode = entry.type === 'dir' ? 0o755 : entry.type === 'symlink' ? 0o777 : 0o644;
  const owned = entry.type === 'file' || entry.type === 'dir' ? entry : { uid: 0, gid: 0, mode: defaultMode };
  write(entry.path, 0, 100);
  write(octal(owned.mode ?? defaultMode, 8), 100, 8);
  write(octal(owned.uid ?? 0, 8), 108, 8);
  write(octal(owned.gid ?? 0, 8), 116, 8);
  write(octal(size, 12), 124, 12);
  write(octal(1_700_000_000, 12), 136, 12);
  write('        ', 148, 8);
  write(TYPE_FLAG[entry.type], 156, 1);
  if (entry.type === 'symlink' || entry.type === 'hardlink') write(entry.target, 157, 100);
  write('ustar\u000000', 257, 8);
  let sum = 0;
  for (const byte of block) sum += byte;
  write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  return block;
}

export function tarball(entries: readonly TarEntry[], options: { gzip?: boolean } = {}): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const body = Buffer.from(entry.type === 'file' ? (entry.body ?? '') : '');
    parts.push(header(entry, body.length), body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  const tar = Buffer.concat(parts);
  return options.gzip === false ? tar : gzipSync(tar);
}
