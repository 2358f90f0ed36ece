import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { RLIMIT_NAMES, type Rlimit, type RlimitName, type RlimitValue } from '../plan/ops.js';
import { sharesToWeight, type CgroupLimits } from '../sys/cgroup/limits.js';
import type { ContainerLimits } from '../store/containers.js';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** The resource flags of run, create and update, as commander hands them over. */
export interface LimitFlags {
  readonly memory?: string;
  readonly memorySwap?: string;
  readonly memoryReservation?: string;
  readonly cpus?: string;
  readonly cpuShares?: string;
  readonly cpuWeight?: string;
  readonly cpusetCpus?: string;
  readonly pidsLimit?: string;
}

export interface ProcessFlags {
  readonly ulimit: readonly string[];
  readonly oomScoreAdj?: string;
}

/** --memory, --cpus …: the cgroup limits, for run, create and update. */
export function addCgroupLimitOptions(cmd: Command): Command {
  return cmd
    .option('-m, --memory <bytes>', 'memory limit, e.g. 64m or 1g (cgroup v2)')
    .option('--memory-swap <bytes>', 'memory plus swap limit; -1: unlimited swap')
    .option('--memory-reservation <bytes>', 'memory protected from reclaim (a soft limit)')
    .option('--cpus <number>', 'how many CPUs\' worth of time, e.g. 1.5')
    .option('-c, --cpu-shares <shares>', 'relative CPU weight, 2-262144 (1024: the default)')
    .option('--cpu-weight <weight>', 'relative CPU weight, 1-10000 (100: the default)')
    .option('--cpuset-cpus <cpus>', 'CPUs to run on, e.g. 0-2,4')
    .option('--pids-limit <n>', 'most processes and threads; 0 or -1: unlimited');
}

/** --ulimit and --oom-score-adj: set on the container's processes by the runtime. */
export function addProcessLimitOptions(cmd: Command): Command {
  return cmd
    .option('--ulimit <name=soft[:hard]>', 'a resource limit, e.g. nofile=1024:2048 (repeatable; -1: unlimited)', collect, [])
    .option('--oom-score-adj <n>', 'the OOM killer\'s score adjustment, -1000 to 1000 (rootless: only raised)');
}

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** podman's sizes: a number with an optional binary unit (64m, 1.5g, 512MiB, 100kb). */
export function parseSize(value: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?) ?([kmgtp]?)(?:i?b)?$/i.exec(value.trim());
  const bytes = m ? Math.floor(Number(m[1]) * UNITS[m[2]!.toLowerCase()]!) : NaN;
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new UsageError(`invalid ${flag} "${value}"`, 'give a size such as 64m, 512k or 1g');
  return bytes;
}

function parseInteger(value: string, flag: string, min: number, max: number, hint: string): number {
  const n = Number(value);
  if (!/^-?\d+$/.test(value) || n < min || n > max) throw new UsageError(`invalid ${flag} "${value}"`, hint);
  return n;
}

function parseCpus(value: string): number {
  const cpus = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || cpus < 0.01) throw new UsageError(`invalid --cpus "${value}"`, 'give a number of CPUs of at least 0.01, e.g. 0.5 or 2');
  return cpus;
}

function parseCpuset(value: string): string {
  if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(value)) throw new UsageError(`invalid --cpuset-cpus "${value}"`, 'give CPU numbers and ranges, e.g. 0-2,4');
  return value;
}

export function parseCgroupLimits(flags: LimitFlags): CgroupLimits {
  const memory = flags.memory === undefined ? null : parseSize(flags.memory, '--memory');
  let memorySwap: CgroupLimits['memorySwap'] = null;
  if (flags.memorySwap !== undefined) {
    memorySwap = flags.memorySwap === '-1' ? 'unlimited' : parseSize(flags.memorySwap, '--memory-swap');
    if (memory === null) throw new UsageError('--memory-swap needs --memory', 'give the memory limit too: --memory 64m --memory-swap 128m');
    if (memorySwap !== 'unlimited' && memorySwap < memory) throw new UsageError('--memory-swap is smaller than --memory', '--memory-swap is memory plus swap: give at least the --memory value, or -1 for unlimited swap');
  }
  if (flags.cpuShares !== undefined && flags.cpuWeight !== undefined) throw new UsageError('--cpu-shares and --cpu-weight set the same thing', 'give one of them');
  const cpuWeight =
    flags.cpuWeight !== undefined
      ? parseInteger(flags.cpuWeight, '--cpu-weight', 1, 10000, 'give a weight from 1 to 10000')
      : flags.cpuShares !== undefined
        ? sharesToWeight(parseInteger(flags.cpuShares, '--cpu-shares', 2, 262144, 'give shares from 2 to 262144'))
        : null;
  const pids = flags.pidsLimit === undefined ? null : parseInteger(flags.pidsLimit, '--pids-limit', -1, 2 ** 31 - 1, 'give a number of processes, or 0 or -1 for unlimited');
  return {
    memory,
    memorySwap,
    memoryReservation: flags.memoryReservation === undefined ? null : parseSize(flags.memoryReservation, '--memory-reservation'),
    cpus: flags.cpus === undefined ? null : parseCpus(flags.cpus),
    cpuWeight,
    cpusetCpus: flags.cpusetCpus === undefined ? null : parseCpuset(flags.cpusetCpus),
    pids: pids === null ? null : pids <= 0 ? 'unlimited' : pids,
  };
}

function parseRlimitValue(value: string, whole: string): RlimitValue {
  if (value === '-1' || value === 'unlimited') return 'unlimited';
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new UsageError(`invalid --ulimit "${whole}"`, 'limits are whole numbers, or -1 for unlimited');
  return n;
}

/** podman's --ulimit NAME=SOFT[:HARD]; a later one for the same name wins. */
export function parseUlimit(value: string): Rlimit {
  const m = /^([a-z]+)=([^:]+)(?::(.+))?$/.exec(value);
  if (!m || !(RLIMIT_NAMES as readonly string[]).includes(m[1]!)) {
    throw new UsageError(`invalid --ulimit "${value}"`, `give NAME=SOFT[:HARD] with NAME one of ${RLIMIT_NAMES.join(', ')}`);
  }
  const soft = parseRlimitValue(m[2]!, value);
  const hard = m[3] === undefined ? soft : parseRlimitValue(m[3], value);
  if (hard !== 'unlimited' && (soft === 'unlimited' || soft > hard)) throw new UsageError(`invalid --ulimit "${value}": the soft limit is above the hard one`, 'give SOFT no larger than HARD');
  return { name: m[1] as RlimitName, soft, hard };
}

export function parseContainerLimits(flags: LimitFlags & ProcessFlags): ContainerLimits {
  const rlimits = new Map(flags.ulimit.map((u) => parseUlimit(u)).map((r) => [r.name, r] as const));
  return {
    cgroup: parseCgroupLimits(flags),
    process: {
      rlimits: [...rlimits.values()],
      oomScoreAdj: flags.oomScoreAdj === undefined ? null : parseInteger(flags.oomScoreAdj, '--oom-score-adj', -1000, 1000, 'give a number from -1000 to 1000'),
    },
  };
}
