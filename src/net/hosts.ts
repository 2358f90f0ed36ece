import { ipVersion } from './ip.js';
import { UsageError } from '../errors.js';

/** One --add-host line: `NAME:IP`, IP `host-gateway` for the address the host is reached at. */
export interface HostEntry {
  readonly name: string;
  readonly ip: string;
}

/** The name by which a container reaches the host (podman's; docker's as an alias). */
export const HOST_NAMES = ['host.containers.internal', 'host.docker.internal'];

const HOST_GATEWAY = 'host-gateway';

export function parseAddHost(value: string): HostEntry {
  const colon = value.indexOf(':');
  const name = value.slice(0, colon);
  const ip = value.slice(colon + 1).replace(/^\[(.*)\]$/, '$1');
  if (colon < 1 || !/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(name) || (ip !== HOST_GATEWAY && ipVersion(ip) === 0)) {
    throw new UsageError(`invalid --add-host "${value}"`, 'use --add-host NAME:IP, e.g. --add-host db:10.0.0.5 or NAME:host-gateway');
  }
  return { name, ip };
}

/** What the container's /etc/hosts says beyond localhost. */
export interface HostsContent {
  /** The lines to start from: localhost, or the host's own file (--network host). */
  readonly base: string;
  readonly addHosts: readonly HostEntry[];
  /** The container's own address, or null for 127.0.1.1 (no address of its own). */
  readonly ownAddress: string | null;
  readonly names: readonly string[];
  /** Where the host is reached from the container, or null when it is not. */
  readonly hostAddress: string | null;
}

export const LOCALHOST_LINES = '127.0.0.1\tlocalhost localhost.localdomain\n::1\tlocalhost localhost.localdomain ip6-localhost ip6-loopback\n';

/** podman's order: the base, --add-host entries, the container's names, the host's name. */
export function renderHosts(c: HostsContent): string {
  const base = c.base === '' || c.base.endsWith('\n') ? c.base : `${c.base}\n`;
  const gateway = (ip: string): string | null => (ip === HOST_GATEWAY ? c.hostAddress : ip);
  const added = c.addHosts.flatMap((h) => {
    const ip = gateway(h.ip);
    return ip === null ? [] : [`${ip}\t${h.name}\n`];
  });
  const own = `${c.ownAddress ?? '127.0.1.1'}\t${[...new Set(c.names)].join(' ')}\n`;
  const host = c.hostAddress === null ? '' : `${c.hostAddress}\t${HOST_NAMES.join(' ')}\n`;
  return `${base}${added.join('')}${own}${host}`;
}
