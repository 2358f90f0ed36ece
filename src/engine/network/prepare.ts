import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ContainerError, HostError } from '../../errors.js';
import type { NetworkConfig } from '../../net/config.js';
import { isLoopbackAddress, overrideDns, parseResolvConf, renderResolvConf, type DnsSettings } from '../../net/dns.js';
import { LOCALHOST_LINES, renderHosts } from '../../net/hosts.js';
import { PASTA_DNS_FORWARD, pastaArgv } from '../../net/pasta.js';
import { hostForwardRequests, slirpAddresses, slirpArgv } from '../../net/slirp.js';
import type { NetworkHelper } from '../../plan/ops.js';
import type { NetworkSetup, Sysctl } from '../../plan/spec.js';
import type { ContainerRecord, ContainerStore } from '../../store/containers.js';
import type { ContainerIdMaps } from '../../sys/idmap.js';
import { defaultRoute, type DefaultRoute } from '../../sys/route.js';
import { containerStatus } from '../container/state.js';
import { helperBinary } from './default.js';
import { assertPortsFree } from './host-ports.js';

/** In a container's dir: what its network helper printed (the last line explains a failure). */
export const NETWORK_LOG = 'network.log';

/** What the network is built for: a container (its record), or a sandbox. */
export type NetworkOwner = Pick<ContainerRecord, 'id' | 'name' | 'hostname' | 'network'>;

/** What a start needs to build the container's network, decided afresh each time. */
export interface PreparedNetwork {
  readonly setup: NetworkSetup;
  /** The container's /etc/hosts, or null to leave the image's (--no-hosts). */
  readonly hosts: string | null;
  readonly resolvConf: string;
  /** Parameters of the container's own network namespace, before the user's --sysctl. */
  readonly sysctls: readonly Sysctl[];
}

export interface PrepareOptions {
  /** Where per-user sockets go (slirp4netns's API socket). */
  readonly runtimeDir: string;
  /** Where the helper's output goes (a container's NETWORK_LOG). */
  readonly logPath: string;
  /** --explain: nothing is bound or checked. */
  readonly dryRun: boolean;
}

function readHostFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/**
 * An unprivileged user in the container may bind port 80 and ping (ICMP echo sockets for
 * every group the container has), as podman sets them: the namespace is the container's.
 */
export function ownNamespaceSysctls(idMaps: ContainerIdMaps): Sysctl[] {
  const lastGid = Math.max(0, ...idMaps.gid.ranges.map((r) => r.inside + r.count - 1));
  return [
    { path: '/proc/sys/net/ipv4/ip_unprivileged_port_start', value: '0' },
    { path: '/proc/sys/net/ipv4/ping_group_range', value: `0 ${lastGid}` },
  ];
}

/**
 * pasta gives the container the host's address and gateway, and maps the gateway to the
 * host: a host name server that is loopback, or the gateway itself, would answer nothing
 * there, so the container asks pasta's forwarder instead.
 */
function pastaDns(host: DnsSettings, route: DefaultRoute | null, user: DnsSettings): { dns: DnsSettings; forward: boolean } {
  if (user.servers.length > 0) return { dns: overrideDns(host, user), forward: false };
  const unreachable = host.servers.length === 0 || host.servers.some((s) => isLoopbackAddress(s) || s === route?.gateway);
  const base = unreachable ? { ...host, servers: [PASTA_DNS_FORWARD] } : host;
  return { dns: overrideDns(base, user), forward: unreachable };
}

function slirpApiSocket(owner: NetworkOwner, runtimeDir: string): string {
  const path = join(runtimeDir, `slirp-${owner.id.slice(0, 16)}.sock`);
  // sockaddr_un's limit.
  if (Buffer.byteLength(path) > 107) {
    throw new HostError(`the slirp4netns API socket path ${path} is too long`, 'set XDG_RUNTIME_DIR to a shorter directory, or use --network pasta');
  }
  return path;
}

/** The running process whose namespaces another container shares: an --init container's command, whose PID 1 stays closed. */
function sharedPid(containers: ContainerStore, id: string, name: string): { pid: number; record: ContainerRecord } {
  const record = containers.read(id);
  const status = containerStatus(containers, id);
  if (record === null || status.state !== 'running') {
    throw new ContainerError(`--network container:${name}: that container is not running`, `start it first (nook start ${name})`);
  }
  if (!record.init) return { pid: status.pid, record };
  const children = readHostFile(`/proc/${status.pid}/task/${status.pid}/children`).trim().split(/\s+/);
  const child = Number(children[0]);
  if (!Number.isInteger(child) || child <= 0) throw new ContainerError(`--network container:${name}: its command is not running`, 'see nook ps');
  return { pid: child, record };
}

/**
 * Decides how the runtime builds the container's network for this start: the helper's
 * command, the namespace to share, /etc/hosts and resolv.conf, the namespace's sysctls. A
 * published host port that is taken fails here, naming it, before anything starts.
 */
export async function prepareNetwork(record: NetworkOwner, containers: ContainerStore, idMaps: ContainerIdMaps, options: PrepareOptions): Promise<PreparedNetwork> {
  const net: NetworkConfig = record.network;
  const mode = net.mode;
  const names = [record.hostname, record.name];
  const hosts = (ownAddress: string | null, hostAddress: string | null, base = LOCALHOST_LINES): string | null =>
    net.noHosts ? null : renderHosts({ base, addHosts: net.addHosts, ownAddress, names, hostAddress });
  const hostDns = parseResolvConf(readHostFile('/etc/resolv.conf'));
  if (!options.dryRun && net.ports.length > 0) await assertPortsFree(net.ports);
  switch (mode.kind) {
    case 'none':
      return {
        setup: { kind: 'none' },
        hosts: hosts(null, null),
        resolvConf: renderResolvConf(overrideDns({ servers: [], search: [], options: [] }, net.dns), net.dns.servers.length > 0 ? null : 'no network (--network none): no name servers'),
        sysctls: ownNamespaceSysctls(idMaps),
      };
    case 'host':
      return {
        setup: { kind: 'host' },
        hosts: hosts(null, null, readHostFile('/etc/hosts')),
        resolvConf: renderResolvConf(overrideDns(hostDns, net.dns)),
        sysctls: [],
      };
    case 'pasta': {
      const route = defaultRoute();
      const { dns, forward } = pastaDns(hostDns, route, net.dns);
      const helper: NetworkHelper = {
        start: 'clone',
        argv: pastaArgv(helperBinary('pasta'), net.ports, mode.options, forward),
        log: options.logPath,
        apiSocket: null,
        requests: [],
      };
      const mapsGateway = !mode.options.includes('--no-map-gw');
      return {
        setup: { kind: 'helper', helper },
        hosts: hosts(route?.address ?? null, mapsGateway ? (route?.gateway ?? null) : null),
        resolvConf: renderResolvConf(dns),
        sysctls: ownNamespaceSysctls(idMaps),
      };
    }
    case 'slirp4netns': {
      const addresses = slirpAddresses(mode.options.cidr);
      const apiSocket = net.ports.length > 0 ? slirpApiSocket(record, options.runtimeDir) : null;
      const helper: NetworkHelper = {
        start: 'id-maps',
        argv: slirpArgv(helperBinary('slirp4netns'), mode.options, apiSocket),
        log: options.logPath,
        apiSocket,
        requests: hostForwardRequests(net.ports, mode.options),
      };
      // Without allow_host_loopback the host is reached at its own address, as podman does.
      const hostAddress = mode.options.allowHostLoopback ? addresses.gateway : (defaultRoute()?.address ?? null);
      return {
        setup: { kind: 'helper', helper },
        hosts: hosts(addresses.container, hostAddress),
        resolvConf: renderResolvConf(overrideDns({ ...hostDns, servers: [addresses.dns] }, net.dns)),
        sysctls: ownNamespaceSysctls(idMaps),
      };
    }
    case 'container': {
      const shared = sharedPid(containers, mode.container, mode.container.slice(0, 12));
      const userdata = (file: string): string => readHostFile(containers.path(shared.record.id, 'userdata', file));
      const theirs = userdata('hosts');
      return {
        setup: { kind: 'shared', pid: shared.pid },
        hosts: net.noHosts ? null : renderHosts({ base: theirs === '' ? LOCALHOST_LINES : theirs, addHosts: net.addHosts, ownAddress: null, names, hostAddress: null }),
        resolvConf: renderResolvConf(overrideDns(parseResolvConf(userdata('resolv.conf')), net.dns)),
        sysctls: [],
      };
    }
  }
}
