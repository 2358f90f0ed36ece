import { readFileSync } from 'node:fs';
import { ContainerError } from '../../errors.js';
import type { IdMap } from '../../plan/ops.js';
import { parsePasswd } from '../../rootfs/users.js';
import { ContainerStore } from '../../store/containers.js';
import { storeRoot } from '../../store/paths.js';
import { containerIdMaps } from '../../sys/idmap.js';
import { procStatFields, processTree } from '../../sys/process.js';
import { findContainer } from './lookup.js';
import { containerStatus } from './state.js';
import { rootFiles } from './exec.js';
import { formatTable } from '../shared/human.js';

function statusField(status: string, field: string): string {
  return new RegExp(`^${field}:\\s*(.*)$`, 'm').exec(status)?.[1] ?? '';
}

/** A host id as the container sees it, through its id map. */
function inside(map: IdMap, host: number): number | null {
  const range = map.ranges.find((r) => host >= r.outside && host < r.outside + r.count);
  return range ? range.inside + host - range.outside : null;
}

/**
 * `nook top`: the container's processes as it sees them (its PIDs, its users), read from the
 * host's /proc: nothing runs in the container, which may have no ps.
 */
export async function topContainer(ref: string, io: { out: (line: string) => void }): Promise<number> {
  const containers = new ContainerStore(storeRoot());
  const record = findContainer(containers, ref);
  const status = containerStatus(containers, record.id);
  if (status.state !== 'running') throw new ContainerError(`top can only be used on running containers: ${record.name} is ${status.state}`, `start it first: nook start ${ref}`);
  const maps = containerIdMaps();
  const names = new Map(parsePasswd(rootFiles(record)('/etc/passwd')).map((e) => [e.uid, e.name]));
  const nsPid = new Map<number, string>();
  const rows: string[][] = [];
  for (const pid of processTree(status.pid)) {
    let procStatus: string;
    let cmdline: string;
    try {
      procStatus = readFileSync(`/proc/${pid}/status`, 'utf8');
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    } catch {
      continue;
    }
    nsPid.set(pid, statusField(procStatus, 'NSpid').split(/\s+/).pop() ?? '?');
    const uid = inside(maps.uid, Number(statusField(procStatus, 'Uid').split(/\s+/)[0]));
    const ppid = Number(statusField(procStatus, 'PPid'));
    // --init's PID 1 is the runtime itself, never exec'd: its command line is a host path.
    const name = statusField(procStatus, 'Name');
    const command = name === 'nook-init' ? name : cmdline || `[${name}]`;
    rows.push([uid === null ? '?' : (names.get(uid) ?? String(uid)), nsPid.get(pid)!, nsPid.get(ppid) ?? '0', command]);
  }
  // Checked after the rows are read: if the pid still names the PID 1 that started at the
  // recorded time, every row was of its tree; a PID 1 that ended and whose pid another
  // process took must not have that process's tree listed as the container's.
  if (status.pidStartTime === null || Number(procStatFields(status.pid)?.[19]) !== status.pidStartTime) {
    throw new ContainerError(`top can only be used on running containers: ${record.name} is not running any more`, `see "nook ps -a"`);
  }
  for (const line of formatTable([['USER', 'PID', 'PPID', 'COMMAND'], ...rows])) io.out(line.trimEnd());
  return 0;
}
