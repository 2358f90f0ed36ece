import type { ContainerRecord } from '../../store/containers.js';
import { cgroupUsage, procUsage, type Usage } from '../../sys/cgroup/usage.js';
import { processTree } from '../../sys/process.js';
import { formatTable, humanSize } from '../shared/human.js';
import { sleep } from '../shared/sleep.js';
import { runningCgroupDir } from './limits.js';
import { findContainer, type OpenedContainers } from './lookup.js';
import type { ContainerIO, StatsOptions } from './options.js';
import { containerStatus } from './state.js';

interface Sample {
  readonly record: ContainerRecord;
  readonly usage: Usage;
  /** When it was read, and when the container started (ms since the epoch). */
  readonly at: number;
  readonly startedAt: number;
}

function sample(opened: OpenedContainers, record: ContainerRecord): Sample | null {
  const status = containerStatus(opened.containers, record.id);
  if (status.state !== 'running') return null;
  const dir = runningCgroupDir(opened.containers, record.id, status.monitorPid);
  const usage = dir !== null ? cgroupUsage(dir) : procUsage(processTree(status.pid));
  return { record, usage, at: Date.now(), startedAt: status.startedAt.getTime() };
}

/** CPU % of one CPU: over the interval since the previous sample, or since the start. */
function cpuPercent(now: Sample, before: Sample | undefined): number {
  const [cpu, wall] = before
    ? [now.usage.cpuUsec - before.usage.cpuUsec, (now.at - before.at) * 1000]
    : [now.usage.cpuUsec, (now.at - now.startedAt) * 1000];
  return wall > 0 ? (cpu / wall) * 100 : 0;
}

const percent = (n: number): string => `${n.toFixed(2)}%`;

/** One container's numbers, as --format json prints them (bytes, microseconds, percent). */
interface StatsRow {
  readonly id: string;
  readonly name: string;
  readonly cpu_percent: number;
  readonly cpu_time_usec: number;
  readonly mem_usage: number;
  readonly mem_limit: number;
  readonly mem_percent: number;
  readonly block_input: number | null;
  readonly block_output: number | null;
  readonly pids: number;
  /** Where the numbers come from: the container's own cgroup, or its processes in /proc. */
  readonly source: Usage['source'];
}

function row(s: Sample, before: Sample | undefined): StatsRow {
  const { usage } = s;
  return {
    id: s.record.id.slice(0, 12),
    name: s.record.name,
    cpu_percent: Number(cpuPercent(s, before).toFixed(2)),
    cpu_time_usec: Math.round(usage.cpuUsec),
    mem_usage: usage.memoryBytes,
    mem_limit: usage.memoryLimit,
    mem_percent: Number((usage.memoryLimit > 0 ? (usage.memoryBytes / usage.memoryLimit) * 100 : 0).toFixed(2)),
    block_input: usage.blockRead,
    block_output: usage.blockWrite,
    pids: usage.pids,
    source: usage.source,
  };
}

function print(rows: readonly StatsRow[], format: StatsOptions['format'], io: ContainerIO): void {
  if (format === 'json') {
    io.out(JSON.stringify(rows, null, 2));
    return;
  }
  const block = (r: StatsRow): string => (r.block_input === null ? '-- / --' : `${humanSize(r.block_input)} / ${humanSize(r.block_output ?? 0)}`);
  const table = [
    ['ID', 'NAME', 'CPU %', 'MEM USAGE / LIMIT', 'MEM %', 'NET IO', 'BLOCK IO', 'PIDS', 'CPU TIME'],
    ...rows.map((r) => [r.id, r.name, percent(r.cpu_percent), `${humanSize(r.mem_usage)} / ${humanSize(r.mem_limit)}`, percent(r.mem_percent), '-- / --', block(r), String(r.pids), `${(r.cpu_time_usec / 1e6).toFixed(2)}s`]),
  ];
  for (const line of formatTable(table)) io.out(line.trimEnd());
}

/**
 * `nook stats`: what running containers use, from their cgroup where they have one of their
 * own, else summed over their processes from /proc. Streams until interrupted, or no
 * container named is running any more.
 */
export async function showStats(opened: OpenedContainers, options: StatsOptions, io: ContainerIO): Promise<number> {
  const named = options.containers.map((ref) => findContainer(opened.containers, ref));
  let previous = new Map<string, Sample>();
  for (;;) {
    const records = named.length > 0 ? named : opened.containers.list();
    const samples = records.flatMap((r) => sample(opened, r) ?? []);
    print(samples.map((s) => row(s, previous.get(s.record.id))), options.format, io);
    if (!options.stream || (named.length > 0 && samples.length === 0)) return 0;
    previous = new Map(samples.map((s) => [s.record.id, s]));
    await sleep(options.interval * 1000);
  }
}
