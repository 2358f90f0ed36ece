import { closeSync, openSync, readSync } from 'node:fs';
import type { LogsOptions } from './options.js';
import { ContainerError } from '../../errors.js';
import { sleep } from '../shared/sleep.js';
import { ContainerStore } from '../../store/containers.js';
import { storeRoot } from '../../store/paths.js';
import { findContainer } from './lookup.js';
import { containerStatus, LOG_FILE } from './state.js';

/** One line of the output, put back together from the log's F and P records. */
export interface LogLine {
  readonly time: string;
  readonly stream: 'stdout' | 'stderr';
  readonly text: string;
  /** false: the output stopped without a newline (the container's last partial line). */
  readonly complete: boolean;
}

/**
 * Parses podman's k8s-file log (`TIME STREAM F|P CONTENT`, docs/protocol.md): P records
 * are pieces of a line that an F record of the same stream completes. Returns the lines
 * and how many bytes of `text` they used (a record cut off at the end waits for more).
 */
export function parseLog(text: string, pending: Map<string, LogLine> = new Map()): { lines: LogLine[]; used: number } {
  const lines: LogLine[] = [];
  let used = 0;
  for (;;) {
    const end = text.indexOf('\n', used);
    if (end < 0) break;
    const record = text.slice(used, end);
    used = end + 1;
    const m = /^(\S+) (stdout|stderr) ([FP]) ?(.*)$/s.exec(record);
    if (!m) continue;
    const [, time, stream, tag, content] = m as unknown as [string, string, 'stdout' | 'stderr', 'F' | 'P', string];
    const before = pending.get(stream);
    const line = { time: before?.time ?? time, stream, text: (before?.text ?? '') + content, complete: tag === 'F' };
    if (tag === 'F') {
      pending.delete(stream);
      lines.push(line);
    } else {
      pending.set(stream, line);
    }
  }
  return { lines, used };
}

function write(stream: 'stdout' | 'stderr', text: string): void {
  (stream === 'stdout' ? process.stdout : process.stderr).write(text);
}

/** `nook logs`: what the container wrote, as the monitor logged it; -f follows until it stops. */
export async function showLogs(options: LogsOptions): Promise<number> {
  const containers = new ContainerStore(storeRoot());
  const record = findContainer(containers, options.container);
  const inWindow = (line: LogLine): boolean => {
    const time = Date.parse(line.time);
    return (options.since === null || time >= options.since) && (options.until === null || time < options.until);
  };
  const emit = (line: LogLine): void => {
    if (inWindow(line)) write(line.stream, `${options.timestamps ? `${line.time} ` : ''}${line.text}${line.complete ? '\n' : ''}`);
  };
  let fd: number;
  try {
    fd = openSync(containers.path(record.id, LOG_FILE), 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    if (record.autoRemove && !options.follow) throw new ContainerError(`container ${record.name} keeps no log`, 'a container run in the foreground with --rm writes only to the terminal');
    return 0;
  }
  try {
    const log = new LogReader(fd);
    // Read a chunk at a time: a log can be far larger than memory. --tail keeps only the
    // last lines it has seen.
    const tail: LogLine[] = [];
    for (let lines = log.next(); lines.length > 0 || !log.atEnd; lines = log.next()) {
      for (const line of lines) {
        if (!inWindow(line)) continue;
        if (options.tail === null) emit(line);
        else if (options.tail > 0) {
          tail.push(line);
          if (tail.length > options.tail) tail.shift();
        }
      }
    }
    for (const line of tail) emit(line);
    if (options.follow) {
      for (;;) {
        const running = containerStatus(containers, record.id).state === 'running';
        for (let lines = log.next(); lines.length > 0 || !log.atEnd; lines = log.next()) for (const line of lines) emit(line);
        if (!running) break;
        await sleep(100);
      }
    }
    // The partial line at the very end is output too: it is all there is of it.
    for (const line of log.unfinished()) emit(line);
    return 0;
  } finally {
    closeSync(fd);
  }
}

const CHUNK = 64 * 1024;

/** Reads a log a chunk at a time from where it left off, as it grows. */
class LogReader {
  private readonly pending = new Map<string, LogLine>();
  /** Whether the last read found nothing more in the file. */
  atEnd = false;
  private offset = 0;
  private carry = '';
  private readonly buffer = Buffer.alloc(CHUNK);

  constructor(private readonly fd: number) {}

  /** The lines completed by the next chunk; none (and atEnd) at the end of the file. */
  next(): LogLine[] {
    const n = readSync(this.fd, this.buffer, 0, CHUNK, this.offset);
    this.atEnd = n === 0;
    if (n === 0) return [];
    this.offset += n;
    // A chunk may end inside a UTF-8 sequence: keep the bytes of an incomplete last record.
    const text = this.carry + this.buffer.subarray(0, n).toString('latin1');
    const { lines, used } = parseLog(text, this.pending);
    this.carry = text.slice(used);
    return lines.map(decoded);
  }

  /** The lines the log has begun but not ended (no F record yet). */
  unfinished(): LogLine[] {
    return [...this.pending.values()].map(decoded);
  }
}

/** Records are split as bytes (latin1), so no UTF-8 sequence is cut; each line is decoded whole. */
const decoded = (line: LogLine): LogLine => ({ ...line, text: Buffer.from(line.text, 'latin1').toString('utf8') });
