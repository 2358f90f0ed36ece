import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
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
    const pending = new Map<string, LogLine>();
    let offset = 0;
    let carry = '';
    const readMore = (): LogLine[] => {
      const size = fstatSync(fd).size;
      if (size <= offset) return [];
      const buffer = Buffer.alloc(size - offset);
      const n = readSync(fd, buffer, 0, buffer.length, offset);
      offset += n;
      const text = carry + buffer.subarray(0, n).toString('utf8');
      const { lines, used } = parseLog(text, pending);
      carry = text.slice(used);
      return lines;
    };
    const first = readMore().filter(inWindow);
    // The partial line at the very end is output too: it is all there is of it.
    const tailed = options.tail === null ? first : first.slice(Math.max(0, first.length - options.tail));
    for (const line of tailed) emit(line);
    if (!options.follow) {
      for (const line of pending.values()) emit(line);
      return 0;
    }
    for (;;) {
      const running = containerStatus(containers, record.id).state === 'running';
      for (const line of readMore()) emit(line);
      if (!running) break;
      await sleep(100);
    }
    for (const line of pending.values()) emit(line);
    return 0;
  } finally {
    closeSync(fd);
  }
}
