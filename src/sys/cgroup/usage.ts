import { readFileSync } from 'node:fs';
import { procStatFields } from '../process.js';

/** What a container uses, from its cgroup or, without one, summed over its processes. */
export interface Usage {
  /** CPU time used so far, in microseconds. */
  readonly cpuUsec: number;
  readonly memoryBytes: number;
  /** The memory limit: the cgroup's, else the host's memory. */
  readonly memoryLimit: number;
  readonly pids: number;
  /** Bytes read and written to block devices; null where /proc cannot tell. */
  readonly blockRead: number | null;
  readonly blockWrite: number | null;
  readonly source: 'cgroup' | 'proc';
}

function read(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

function keyed(text: string | null, key: string): number {
  const m = text === null ? null : new RegExp(`^${key} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

/** A `Name:   123 kB` line of /proc/meminfo or /proc/PID/status, in bytes. */
function kilobytes(text: string | null, name: string): number {
  const m = text === null ? null : new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(text);
  return m ? Number(m[1]) * 1024 : 0;
}

export function hostMemory(): number {
  return kilobytes(read('/proc/meminfo'), 'MemTotal');
}

/** cgroup v2's own accounting (memory.current, cpu.stat, pids.current, io.stat). */
export function cgroupUsage(dir: string): Usage {
  const max = read(`${dir}/memory.max`)?.trim();
  let blockRead = 0;
  let blockWrite = 0;
  for (const line of (read(`${dir}/io.stat`) ?? '').split('\n')) {
    blockRead += Number(/\brbytes=(\d+)/.exec(line)?.[1] ?? 0);
    blockWrite += Number(/\bwbytes=(\d+)/.exec(line)?.[1] ?? 0);
  }
  return {
    cpuUsec: keyed(read(`${dir}/cpu.stat`), 'usage_usec'),
    memoryBytes: Number(read(`${dir}/memory.current`)?.trim() ?? 0),
    memoryLimit: max === undefined || max === 'max' ? hostMemory() : Number(max),
    pids: Number(read(`${dir}/pids.current`)?.trim() ?? 0),
    blockRead,
    blockWrite,
    source: 'cgroup',
  };
}

/** USER_HZ: what Linux reports CPU times in, on every architecture. */
const TICKS_PER_SECOND = 100;

/**
 * Without a cgroup of its own: CPU time (utime + stime) and resident memory summed over
 * the container's processes, as /proc/PID/stat gives them to anyone.
 */
export function procUsage(pids: readonly number[]): Usage {
  let ticks = 0;
  let rss = 0;
  let alive = 0;
  for (const pid of pids) {
    const f = procStatFields(pid);
    if (f === null) continue;
    alive++;
    ticks += Number(f[11]) + Number(f[12]);
    rss += kilobytes(read(`/proc/${pid}/status`), 'VmRSS');
  }
  return {
    cpuUsec: (ticks * 1_000_000) / TICKS_PER_SECOND,
    memoryBytes: rss,
    memoryLimit: hostMemory(),
    pids: alive,
    blockRead: null,
    blockWrite: null,
    source: 'proc',
  };
}
