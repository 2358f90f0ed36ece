import { UsageError } from '../../errors.js';
import type { NetworkKind } from '../../net/mode.js';
import type { Sysctl } from '../../plan/spec.js';

/**
 * --sysctl NAME=VALUE, for the kernel parameters that belong to a namespace the container
 * owns (podman's list): they change the container's view only. Every other one is the
 * host's, and refused.
 */
const IPC_PARAMETERS = ['kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced'];
const HINT = 'namespaced parameters only: net.* (with the container\'s own network), kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*, kernel.domainname';

/** `net.ipv4.ip_forward` or `net/ipv4/ip_forward`; the slash form lets a name hold dots (eth0.100). */
function components(name: string): string[] {
  return name.includes('/') ? name.split('/') : name.split('.');
}

function namespaced(dotted: string): boolean {
  return IPC_PARAMETERS.includes(dotted) || dotted.startsWith('fs.mqueue.') || dotted.startsWith('net.') || dotted === 'kernel.domainname';
}

export function parseSysctl(item: string, network: NetworkKind): Sysctl {
  const eq = item.indexOf('=');
  const name = eq < 0 ? item : item.slice(0, eq);
  const parts = components(name);
  if (eq < 0 || parts.some((p) => !/^[A-Za-z0-9_:@+-][A-Za-z0-9_.:@+-]*$/.test(p) || p === '..')) {
    throw new UsageError(`invalid --sysctl "${item}"`, 'use --sysctl NAME=VALUE, e.g. --sysctl net.ipv4.ip_forward=1');
  }
  const dotted = parts.join('.');
  if (!namespaced(dotted)) throw new UsageError(`sysctl ${name} is not namespaced: it would change the host`, HINT);
  if (dotted.startsWith('net.') && (network === 'host' || network === 'container')) {
    const owner = network === 'host' ? "the host's" : "another container's";
    throw new UsageError(`sysctl ${name} cannot be set with --network ${network}: the network namespace is ${owner}`, HINT);
  }
  const value = item.slice(eq + 1);
  if (/[\n\0]/.test(value)) throw new UsageError(`invalid value for sysctl ${name}`, 'give the value on one line');
  return { path: `/proc/sys/${parts.join('/')}`, value };
}
