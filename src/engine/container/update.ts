import { ContainerError } from '../../errors.js';
import { hasCgroupLimits, type CgroupLimits } from '../../sys/cgroup/limits.js';
import { writeCgroupLimits } from '../../sys/cgroup/write.js';
import { findContainer, type OpenedContainers } from './lookup.js';
import { notEnforcedWarning, predictLimits, readLimitState, runningCgroupDir } from './limits.js';
import type { ContainerIO } from './options.js';
import { containerStatus } from './state.js';

/** The limits given replace the container's; the others stay. */
function merge(old: CgroupLimits, changes: CgroupLimits): CgroupLimits {
  const pick = <K extends keyof CgroupLimits>(key: K): CgroupLimits[K] => (changes[key] !== null ? changes[key] : old[key]);
  return {
    memory: pick('memory'),
    memorySwap: pick('memorySwap'),
    memoryReservation: pick('memoryReservation'),
    cpus: pick('cpus'),
    cpuWeight: pick('cpuWeight'),
    cpusetCpus: pick('cpusetCpus'),
    pids: pick('pids'),
  };
}

/**
 * `nook update`: new cgroup limits for a container. Kept in its record for its next starts,
 * and written into its cgroup at once when it runs with its limits enforced.
 */
export async function updateContainer(opened: OpenedContainers, ref: string, changes: CgroupLimits, io: ContainerIO): Promise<number> {
  if (!hasCgroupLimits(changes)) throw new ContainerError('nothing to update', 'give at least one limit, e.g. --memory 256m or --pids-limit 100');
  const record = findContainer(opened.containers, ref);
  const limits = merge(record.limits.cgroup, changes);
  const status = containerStatus(opened.containers, record.id);
  if (status.state === 'running') {
    const dir = runningCgroupDir(opened.containers, record.id, status.monitorPid);
    if (dir !== null) writeCgroupLimits(dir, limits);
    else {
      // Started without limits, or where they cannot hold: say why, as the start did.
      const state = readLimitState(opened.containers, record.id) ?? predictLimits({ ...record, limits: { ...record.limits, cgroup: limits } });
      if (state !== null && !state.enforced) io.err(notEnforcedWarning(changes, state));
      else io.err(`WARN: ${record.name} was started without a cgroup of its own: the new limits apply from its next start`);
    }
  }
  opened.containers.writeRecord({ ...record, limits: { ...record.limits, cgroup: limits } });
  io.out(record.id);
  return 0;
}
