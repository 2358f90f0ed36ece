import { createHash } from 'node:crypto';
import { close, open, writev } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { DigestMismatchError } from '../errors.js';
import type { Digest } from './digest.js';

/** Bytes received and not yet written at which the download is paused, and resumed below half of it. */
const QUEUE_LIMIT = 8 * 1024 * 1024;

/**
 * A blob arriving from a stream (a download) into a temp file next to its place in the
 * store: hashed on the way, and verified against its digest and size before receive()
 * resolves. commit() renames it into place; until then the store does not have it, and
 * discard() removes it. The temp file has a stable name while it is written, so another
 * process can follow it (see receive's `onWritten`).
 *
 * The loop is plain events and fs.writev rather than a stream pipeline: a pull is CPU-bound
 * and the blob's 70 MB went through three stream layers (meter, hash, file) before.
 */
export class IncomingBlob {
  private opened = false;

  constructor(
    private readonly digest: Digest,
    /** The blob's place in the store. */
    private readonly path: string,
    readonly temp: string,
    /** Names the blob in errors (e.g. "blob sha256:… of docker.io/library/alpine"). */
    private readonly what: string,
    /** The manifest's size: it also bounds the download, so a registry sending more is cut off. */
    private readonly size: number | undefined,
  ) {}

  /**
   * Writes `source` to the temp file, in order, and verifies it. `onWritten` is told how many
   * bytes of the blob are in the file each time that grows. On failure the source is
   * destroyed and the temp file removed.
   */
  async receive(source: Readable, onWritten?: (bytes: number) => void): Promise<void> {
    try {
      await this.pump(source, onWritten);
    } catch (err) {
      await this.discard();
      throw err;
    }
  }

  /**
   * The listeners go on at once, so that nothing the source says is missed; what arrives
   * before the file is open waits in the queue.
   */
  private pump(source: Readable, onWritten: ((bytes: number) => void) | undefined): Promise<void> {
    const hash = createHash('sha256');
    const size = this.size;
    let fd: number | null = null;
    let received = 0;
    let written = 0;
    let queue: Buffer[] = [];
    let queued = 0;
    let writing = false;
    let ended = false;
    let failure: Error | null = null;
    let settled = false;
    return new Promise<void>((resolve, reject) => {
      const verify = (): void => {
        const actual = `sha256:${hash.digest('hex')}`;
        if (actual !== this.digest || (size !== undefined && received !== size)) {
          return reject(new DigestMismatchError(`${this.what} does not match its digest: received ${received} bytes hashing to ${actual}`, 'the registry serves corrupt data; nothing was stored'));
        }
        resolve();
      };
      const settle = (err: Error | null): void => {
        if (settled) return;
        settled = true;
        if (fd === null) return err ? reject(err) : verify();
        close(fd, (closeErr) => {
          const first = err ?? closeErr;
          if (first) return reject(first);
          verify();
        });
      };
      const fail = (err: Error): void => {
        if (failure !== null) return;
        failure = err;
        source.destroy();
        // An in-flight write or open finishes first: the file is closed after it.
        if (!writing) settle(err);
      };
      const flush = (): void => {
        if (writing) return;
        if (failure !== null) return settle(failure);
        if (fd === null) return;
        if (queue.length === 0) {
          if (ended) settle(null);
          return;
        }
        const batch = queue;
        queue = [];
        writing = true;
        writev(fd, batch, (err, bytes) => {
          writing = false;
          if (err) {
            failure ??= err;
            source.destroy();
          }
          if (failure !== null) return settle(failure);
          written += bytes;
          queued -= bytes;
          // A short write (a full disk) leaves the rest to be written first.
          const rest = unwritten(batch, bytes);
          if (rest.length > 0) queue = [...rest, ...queue];
          onWritten?.(written);
          if (queued < QUEUE_LIMIT / 2 && source.isPaused() && !ended) source.resume();
          flush();
        });
      };
      source.on('data', (chunk: Buffer) => {
        if (failure !== null) return;
        received += chunk.length;
        if (size !== undefined && received > size) {
          fail(new DigestMismatchError(`${this.what} is larger than the ${size} bytes its manifest declares`, 'the registry serves corrupt data; nothing was stored'));
          return;
        }
        hash.update(chunk);
        queue.push(chunk);
        queued += chunk.length;
        if (queued >= QUEUE_LIMIT) source.pause();
        flush();
      });
      source.on('end', () => {
        ended = true;
        flush();
      });
      // Once the whole blob is in, the digest has the last word (a caller may still stop the source).
      source.on('error', (err) => {
        if (!ended) fail(err);
      });
      // Destroyed without an error (the caller stopped it): not the whole blob.
      source.on('close', () => {
        if (!ended) fail(new Error('the download was stopped'));
      });
      writing = true;
      open(this.temp, 'wx', 0o644, (err, opened) => {
        writing = false;
        if (err) {
          failure ??= err;
          source.destroy();
        } else {
          fd = opened;
          this.opened = true;
        }
        flush();
      });
    });
  }

  /** Moves the verified blob into place. */
  async commit(): Promise<void> {
    await rename(this.temp, this.path);
  }

  /** Removes the temp file, if there is one. */
  async discard(): Promise<void> {
    if (this.opened) await unlink(this.temp).catch(() => undefined);
  }
}

/** What of `batch` is left after its first `bytes` were written. */
function unwritten(batch: readonly Buffer[], bytes: number): Buffer[] {
  const rest: Buffer[] = [];
  for (const buffer of batch) {
    if (bytes >= buffer.length) {
      bytes -= buffer.length;
      continue;
    }
    rest.push(buffer.subarray(bytes));
    bytes = 0;
  }
  return rest;
}
