import { isIP } from 'node:net';
import { UsageError } from '../../errors.js';
import type { NetworkConfig, NetworkOptions } from '../../net/config.js';
import { DEFAULT_SLIRP_OPTIONS, hasUserModeStack, type NetworkMode } from '../../net/mode.js';
import { checkNoDuplicates, exposedPortMappings, type PortMapping } from '../../net/ports.js';
import type { ContainerStore } from '../../store/containers.js';
import { findContainer } from '../container/lookup.js';
import { defaultNetwork, helperBinary } from './default.js';
import { pickHostPorts } from './host-ports.js';

export interface ResolveIO {
  readonly warn: (line: string) => void;
}

function resolveMode(options: NetworkOptions, containers: ContainerStore, io: ResolveIO): NetworkMode {
  const asked = options.mode;
  switch (asked.kind) {
    case 'default': {
      const chosen = defaultNetwork();
      if (chosen.warning !== null) io.warn(chosen.warning);
      if (chosen.kind === 'pasta') return { kind: 'pasta', options: [] };
      if (chosen.kind === 'slirp4netns') return { kind: 'slirp4netns', options: DEFAULT_SLIRP_OPTIONS };
      return { kind: 'none' };
    }
    case 'pasta':
    case 'slirp4netns':
      // Asked for by name: a missing one is an error, not a fallback.
      helperBinary(asked.kind);
      return asked;
    case 'container':
      return { kind: 'container', container: findContainer(containers, asked.ref).id };
    default:
      return asked;
  }
}

/** -p first; -P adds the image's exposed ports that -p did not publish already. */
function requestedPorts(options: NetworkOptions, exposed: readonly string[]): PortMapping[] {
  const published = new Set(options.publish.map((p) => `${p.containerPort}/${p.protocol}`));
  const all = options.publishAll ? exposedPortMappings(exposed).filter((p) => !published.has(`${p.containerPort}/${p.protocol}`)) : [];
  return [...options.publish, ...all];
}

function checkDns(options: NetworkOptions): void {
  for (const server of options.dns.servers) {
    if (isIP(server) === 0) throw new UsageError(`invalid --dns "${server}"`, 'give the name server as an IP address, e.g. --dns 192.0.2.53');
  }
  if (options.noHosts && options.addHosts.length > 0) {
    throw new UsageError('--no-hosts and --add-host conflict', 'with --no-hosts nook leaves /etc/hosts alone: drop one of them');
  }
}

/**
 * The container's network as create fixes it: the default mode chosen, another container
 * found, host ports picked where -p and -P left them open.
 */
export async function resolveNetwork(options: NetworkOptions, exposed: readonly string[], containers: ContainerStore, io: ResolveIO): Promise<NetworkConfig> {
  checkDns(options);
  const mode = resolveMode(options, containers, io);
  let ports = requestedPorts(options, exposed);
  if (ports.length > 0 && !hasUserModeStack(mode.kind)) {
    if (options.publish.length > 0) {
      throw new UsageError(`ports cannot be published with --network ${mode.kind}`, 'publish ports with the default network, pasta or slirp4netns');
    }
    io.warn(`WARN: -P publishes nothing with --network ${mode.kind}`);
    ports = [];
  }
  if (mode.kind === 'slirp4netns' && ports.some((p) => p.hostIp.includes(':'))) {
    throw new UsageError('slirp4netns publishes ports on IPv4 host addresses only', 'give an IPv4 address in -p, or use --network pasta');
  }
  checkNoDuplicates(ports);
  return { mode, ports: await pickHostPorts(ports), dns: options.dns, addHosts: options.addHosts, noHosts: options.noHosts };
}
