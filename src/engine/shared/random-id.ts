import { closeSync, openSync, readSync } from 'node:fs';

/** 64 hex digits, as podman's ids. Read from /dev/urandom: loading node:crypto costs ~3 ms. */
export function randomId(): string {
  const fd = openSync('/dev/urandom', 'r');
  try {
    const bytes = Buffer.alloc(32);
    readSync(fd, bytes, 0, 32, null);
    return bytes.toString('hex');
  } finally {
    closeSync(fd);
  }
}
