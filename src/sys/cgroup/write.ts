import { mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HostError } from '../../errors.js';
import { cgroupWrites, controllersFor, type CgroupLimits } from './limits.js';

function writeFile(dir: string, file: string, value: string): void {
  try {
    // r+: an interface file the kernel did not make (its controller is off) is an error, not a new file.
    writeFileSync(join(dir, file), value, { flag: 'r+' });
  } catch (err) {
    throw new HostError(`cannot write "${value}" to ${join(dir, file)}: ${(err as Error).message}`, 'check the value, and that the controller is enabled for the cgroup (see nook info)');
  }
}

/** Writes the limits into a cgroup directory (a new container's, or a running one's for update). */
export function writeCgroupLimits(dir: string, limits: CgroupLimits): void {
  for (const { file, value } of cgroupWrites(limits)) writeFile(dir, file, value);
}

/** The directory a container's cgroup gets under a delegated parent. */
export function containerCgroupDir(parent: string, containerId: string): string {
  return join(parent, `nook-${containerId}`);
}

/**
 * Makes the container's cgroup under `parent`, whose children get the controllers the
 * limits need, and writes the limits: everything is in place before the container exists.
 * One left by a start that was killed is reused.
 */
export function makeContainerCgroup(parent: string, containerId: string, limits: CgroupLimits): string {
  const enable = controllersFor(limits).map((c) => `+${c}`).join(' ');
  if (enable) writeFile(parent, 'cgroup.subtree_control', enable);
  const dir = containerCgroupDir(parent, containerId);
  mkdirSync(dir, { recursive: true });
  try {
    writeCgroupLimits(dir, limits);
  } catch (err) {
    removeCgroup(dir);
    throw err;
  }
  return dir;
}

/** Removes an empty cgroup; one still in use (EBUSY) or gone stays as it is. */
export function removeCgroup(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch {
    return false;
  }
}
