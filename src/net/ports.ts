import { ipVersion } from './ip.js';
import { UsageError } from '../errors.js';

export type PortProtocol = 'tcp' | 'udp';

/**
 * One published port: the host's `hostIp:hostPort` forwards to the container's
 * `containerPort`. hostIp '' means every address; hostPort 0 (only before create picks one)
 * means a free port of the host's choosing.
 */
export interface PortMapping {
  readonly hostIp: string;
  readonly hostPort: number;
  readonly containerPort: number;
  readonly protocol: PortProtocol;
}

const PUBLISH_HINT = 'use -p [IP:][HOSTPORT:]CONTAINERPORT[/tcp|/udp], ranges as 8000-8010, e.g. -p 127.0.0.1:8080:80';

function parseRange(text: string, what: string, spec: string): [number, number] {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  const first = m ? Number(m[1]) : NaN;
  const last = m?.[2] === undefined ? first : Number(m[2]);
  if (!m || first < 1 || last > 65535 || last < first) throw new UsageError(`invalid ${what} "${text}" in -p ${spec}`, PUBLISH_HINT);
  return [first, last];
}

/** Splits IP:HOSTPORT:CTRPORT where the IP may be [v6] (or a bare v6 address before two colons). */
function splitPublish(body: string): { ip: string; host: string; container: string } {
  if (body.startsWith('[')) {
    const close = body.indexOf(']:');
    if (close < 0) throw new UsageError(`invalid -p ${body}`, PUBLISH_HINT);
    const [host = '', container, extra] = body.slice(close + 2).split(':');
    if (container === undefined || extra !== undefined) throw new UsageError(`invalid -p ${body}`, PUBLISH_HINT);
    return { ip: body.slice(1, close), host, container };
  }
  const parts = body.split(':');
  if (parts.length === 1) return { ip: '', host: '', container: parts[0]! };
  if (parts.length === 2) {
    // Only ip::container leaves the host port out; a bare :container says nothing.
    if (parts[0] === '') throw new UsageError(`invalid -p ${body}: no host port before ":"`, PUBLISH_HINT);
    return { ip: '', host: parts[0]!, container: parts[1]! };
  }
  const container = parts.pop()!;
  const host = parts.pop()!;
  return { ip: parts.join(':'), host, container };
}

/** podman's -p: [IP:][HOSTPORT:]CONTAINERPORT[/PROTOCOL], ports or equal-length ranges. */
export function parsePublish(spec: string): PortMapping[] {
  const slash = spec.lastIndexOf('/');
  const protocol = slash < 0 ? 'tcp' : spec.slice(slash + 1);
  if (protocol !== 'tcp' && protocol !== 'udp') {
    throw new UsageError(`unsupported protocol "${protocol}" in -p ${spec}`, 'nook publishes tcp and udp ports');
  }
  const { ip, host, container } = splitPublish(slash < 0 ? spec : spec.slice(0, slash));
  if (ip !== '' && ipVersion(ip) === 0) throw new UsageError(`invalid host IP "${ip}" in -p ${spec}`, PUBLISH_HINT);
  const [cFirst, cLast] = parseRange(container, 'container port', spec);
  const [hFirst, hLast] = host === '' ? [0, 0] : parseRange(host, 'host port', spec);
  if (host !== '' && hLast - hFirst !== cLast - cFirst && hFirst !== hLast) {
    throw new UsageError(`host and container port ranges of -p ${spec} differ in length`, PUBLISH_HINT);
  }
  if (host !== '' && hFirst === hLast && cFirst !== cLast) {
    throw new UsageError(`-p ${spec} maps a range of container ports to one host port`, 'give a host range of the same length, or leave the host port out');
  }
  const mappings: PortMapping[] = [];
  for (let port = cFirst; port <= cLast; port++) {
    mappings.push({ hostIp: ip, hostPort: host === '' ? 0 : hFirst + (port - cFirst), containerPort: port, protocol });
  }
  return mappings;
}

/** -P: each port the image exposes (`80/tcp`, `53/udp`, `8080`) to a free host port. */
export function exposedPortMappings(exposed: readonly string[]): PortMapping[] {
  return exposed.flatMap((entry) => {
    const [port = '', protocol = 'tcp'] = entry.split('/');
    if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535 || (protocol !== 'tcp' && protocol !== 'udp')) return [];
    return [{ hostIp: '', hostPort: 0, containerPort: Number(port), protocol }];
  });
}

/** -p given twice for the same host address, port and protocol cannot both be bound. */
export function checkNoDuplicates(ports: readonly PortMapping[]): void {
  const seen = new Set<string>();
  for (const p of ports) {
    if (p.hostPort === 0) continue;
    const key = `${p.hostIp}|${p.hostPort}|${p.protocol}`;
    if (seen.has(key)) throw new UsageError(`host port ${p.hostPort}/${p.protocol} is published twice`, 'publish each host port once');
    seen.add(key);
  }
}

/** The host address as podman shows it: 0.0.0.0 for every address, [v6] bracketed. */
export function shownHostIp(ip: string): string {
  if (ip === '') return '0.0.0.0';
  return ip.includes(':') ? `[${ip}]` : ip;
}

/**
 * podman's PORTS column: `127.0.0.1:8080->80/tcp`, runs of consecutive ports on the same
 * address collapsed to `0.0.0.0:8000-8002->80-82/tcp`.
 */
export function describePorts(ports: readonly PortMapping[]): string {
  const runs: { first: PortMapping; count: number }[] = [];
  for (const p of ports) {
    const last = runs.at(-1);
    if (
      last &&
      last.first.hostIp === p.hostIp &&
      last.first.protocol === p.protocol &&
      last.first.hostPort + last.count === p.hostPort &&
      last.first.containerPort + last.count === p.containerPort
    ) {
      last.count++;
    } else {
      runs.push({ first: p, count: 1 });
    }
  }
  return runs
    .map(({ first, count }) => {
      const range = (start: number): string => (count === 1 ? String(start) : `${start}-${start + count - 1}`);
      return `${shownHostIp(first.hostIp)}:${range(first.hostPort)}->${range(first.containerPort)}/${first.protocol}`;
    })
    .join(', ');
}

/** podman inspect's NetworkSettings.Ports and HostConfig.PortBindings: "80/tcp" → bindings. */
export function portBindings(ports: readonly PortMapping[]): Record<string, { HostIp: string; HostPort: string }[]> {
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of ports) (bindings[`${p.containerPort}/${p.protocol}`] ??= []).push({ HostIp: p.hostIp, HostPort: String(p.hostPort) });
  return bindings;
}
