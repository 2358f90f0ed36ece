import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';

/** The host's IPv4 default route: what pasta copies into a container. */
export interface DefaultRoute {
  readonly gateway: string;
  readonly iface: string;
  /** The interface's first IPv4 address, or null. */
  readonly address: string | null;
}

/** /proc/net/route holds addresses as little-endian hex. */
function hexToIpv4(hex: string): string {
  const n = Number.parseInt(hex, 16);
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff].join('.');
}

export function defaultRoute(): DefaultRoute | null {
  let table: string;
  try {
    table = readFileSync('/proc/net/route', 'utf8');
  } catch {
    return null;
  }
  for (const line of table.split('\n').slice(1)) {
    const [iface, destination, gateway, , , , metric, mask] = line.trim().split(/\s+/);
    if (!iface || destination !== '00000000' || mask !== '00000000' || metric === undefined || gateway === '00000000') continue;
    const address = networkInterfaces()[iface]?.find((a) => a.family === 'IPv4')?.address ?? null;
    return { gateway: hexToIpv4(gateway!), iface, address };
  }
  return null;
}
