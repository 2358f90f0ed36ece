/**
 * The limits nook puts on a container's cgroup (cgroup v2's interface files, as in the
 * kernel's Documentation/admin-guide/cgroup-v2.rst), decided once from podman's flags.
 * Pure: what is written where, and the same as systemd unit properties.
 */
export interface CgroupLimits {
  /** --memory: bytes (memory.max). */
  readonly memory: number | null;
  /** --memory-swap: memory plus swap in bytes, 'unlimited' for -1 (podman's meaning). */
  readonly memorySwap: number | 'unlimited' | null;
  /** --memory-reservation: bytes protected from reclaim (memory.low). */
  readonly memoryReservation: number | null;
  /** --cpus: how many CPUs' worth of time per period (cpu.max). */
  readonly cpus: number | null;
  /** --cpu-weight 1-10000, or --cpu-shares converted (cpu.weight). */
  readonly cpuWeight: number | null;
  /** --cpuset-cpus: a list like 0-2,4 (cpuset.cpus). */
  readonly cpusetCpus: string | null;
  /** --pids-limit: most tasks; 'unlimited' for 0 or -1 (pids.max). */
  readonly pids: number | 'unlimited' | null;
}

export const NO_CGROUP_LIMITS: CgroupLimits = {
  memory: null,
  memorySwap: null,
  memoryReservation: null,
  cpus: null,
  cpuWeight: null,
  cpusetCpus: null,
  pids: null,
};

export type Controller = 'memory' | 'cpu' | 'cpuset' | 'pids';

/** One write into the container's cgroup directory. */
export interface CgroupWrite {
  readonly file: string;
  readonly value: string;
  readonly controller: Controller;
}

/** cpu.max's period: the kernel's default, 100 ms. */
export const CPU_PERIOD_US = 100_000;

export function hasCgroupLimits(limits: CgroupLimits): boolean {
  return Object.values(limits).some((v) => v !== null);
}

/** The flags a user gave, by podman's names, for messages. */
export function limitFlags(limits: CgroupLimits): string[] {
  const names: Record<keyof CgroupLimits, string> = {
    memory: '--memory',
    memorySwap: '--memory-swap',
    memoryReservation: '--memory-reservation',
    cpus: '--cpus',
    cpuWeight: '--cpu-weight/--cpu-shares',
    cpusetCpus: '--cpuset-cpus',
    pids: '--pids-limit',
  };
  return (Object.keys(names) as (keyof CgroupLimits)[]).filter((k) => limits[k] !== null).map((k) => names[k]);
}

/**
 * podman's --memory-swap is memory plus swap, and without it a container may swap as much
 * as its memory limit; cgroup v2 limits swap alone (memory.swap.max).
 */
export function swapLimit(limits: CgroupLimits): number | 'max' | null {
  if (limits.memorySwap === 'unlimited') return 'max';
  if (limits.memory === null) return null;
  if (limits.memorySwap === null) return limits.memory;
  return limits.memorySwap - limits.memory;
}

/** podman's conversion of --cpu-shares (2-262144, default 1024) to cpu.weight (1-10000). */
export function sharesToWeight(shares: number): number {
  return Math.floor(1 + ((shares - 2) * 9999) / 262142);
}

/** The files to write, in an order the kernel accepts (cpuset before the rest). */
export function cgroupWrites(limits: CgroupLimits): CgroupWrite[] {
  const writes: CgroupWrite[] = [];
  if (limits.cpusetCpus !== null) writes.push({ file: 'cpuset.cpus', value: limits.cpusetCpus, controller: 'cpuset' });
  if (limits.memoryReservation !== null) writes.push({ file: 'memory.low', value: String(limits.memoryReservation), controller: 'memory' });
  if (limits.memory !== null) writes.push({ file: 'memory.max', value: String(limits.memory), controller: 'memory' });
  const swap = swapLimit(limits);
  if (swap !== null) writes.push({ file: 'memory.swap.max', value: String(swap), controller: 'memory' });
  if (limits.cpus !== null) writes.push({ file: 'cpu.max', value: `${Math.round(limits.cpus * CPU_PERIOD_US)} ${CPU_PERIOD_US}`, controller: 'cpu' });
  if (limits.cpuWeight !== null) writes.push({ file: 'cpu.weight', value: String(limits.cpuWeight), controller: 'cpu' });
  if (limits.pids !== null) writes.push({ file: 'pids.max', value: limits.pids === 'unlimited' ? 'max' : String(limits.pids), controller: 'pids' });
  return writes;
}

/** The controllers the limits need enabled for the container's cgroup. */
export function controllersFor(limits: CgroupLimits): Controller[] {
  return [...new Set(cgroupWrites(limits).map((w) => w.controller))];
}

/** The same limits as systemd unit properties (systemd.resource-control(5)), for a transient scope. */
export function systemdProperties(limits: CgroupLimits): string[] {
  const props: string[] = [];
  if (limits.cpusetCpus !== null) props.push(`AllowedCPUs=${limits.cpusetCpus}`);
  if (limits.memoryReservation !== null) props.push(`MemoryLow=${limits.memoryReservation}`);
  if (limits.memory !== null) props.push(`MemoryMax=${limits.memory}`);
  const swap = swapLimit(limits);
  if (swap !== null) props.push(`MemorySwapMax=${swap === 'max' ? 'infinity' : swap}`);
  // CPUQuota is a percentage of one CPU per period.
  if (limits.cpus !== null) props.push(`CPUQuota=${Math.round(limits.cpus * 100)}%`);
  if (limits.cpuWeight !== null) props.push(`CPUWeight=${limits.cpuWeight}`);
  if (limits.pids !== null) props.push(`TasksMax=${limits.pids === 'unlimited' ? 'infinity' : limits.pids}`);
  return props;
}
