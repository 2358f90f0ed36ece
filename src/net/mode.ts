import { UsageError } from '../errors.js';

/** slirp4netns's settings that podman users pass as `slirp4netns:KEY=VALUE,…`. */
export interface SlirpOptions {
  /** The container may reach the host's 127.0.0.1 at the gateway address (10.0.2.2). */
  readonly allowHostLoopback: boolean;
  /** The slirp network, `10.0.2.0/24` by default: gateway .2, DNS .3, the container .100. */
  readonly cidr: string;
  readonly enableIpv6: boolean;
  readonly mtu: number;
  /** Host addresses that outgoing connections are bound to. */
  readonly outboundAddr: string | null;
  readonly outboundAddr6: string | null;
}

export const DEFAULT_SLIRP_OPTIONS: SlirpOptions = {
  allowHostLoopback: false,
  cidr: '10.0.2.0/24',
  enableIpv6: true,
  mtu: 65520,
  outboundAddr: null,
  outboundAddr6: null,
};

/** How a container is networked, as decided at create (the default resolved). */
export type NetworkMode =
  /** A network namespace of its own, reached through pasta; `options` go to pasta as given. */
  | { readonly kind: 'pasta'; readonly options: readonly string[] }
  | { readonly kind: 'slirp4netns'; readonly options: SlirpOptions }
  /** A network namespace of its own with only `lo`. */
  | { readonly kind: 'none' }
  | { readonly kind: 'host' }
  /** Another container's network namespace (its id). */
  | { readonly kind: 'container'; readonly container: string };

export type NetworkKind = NetworkMode['kind'];

/** What --network asked for: a mode, another container by name, or nothing (the default). */
export type NetworkRequest =
  | { readonly kind: 'default' }
  | Exclude<NetworkMode, { kind: 'container' }>
  | { readonly kind: 'container'; readonly ref: string };

const NETWORK_HINT = 'use --network pasta, slirp4netns, none, host or container:NAME';

/** pasta options nook sets itself: another value would cut the container off its network. */
const PASTA_RESERVED = ['--netns', '--userns', '--pid', '-P', '--netns-only', '--no-netns-quit', '-f', '--foreground', '-D', '--dns', '--dns-forward'];

function parsePastaOptions(text: string): string[] {
  const options = text === '' ? [] : text.split(',');
  for (const option of options) {
    const name = option.split('=')[0]!;
    if (PASTA_RESERVED.includes(name)) {
      throw new UsageError(`pasta option ${name} is set by nook`, 'give --dns for name servers; nook attaches pasta to the container itself');
    }
    if (option === '') throw new UsageError('empty pasta option in --network pasta:…', 'separate pasta options with commas: pasta:-t,8080,--map-gw');
  }
  return options;
}

function parseBoolean(key: string, value: string): boolean {
  if (value === 'true' || value === 'false') return value === 'true';
  throw new UsageError(`slirp4netns option ${key} takes true or false, not "${value}"`);
}

function parseSlirpOptions(text: string): SlirpOptions {
  let options = DEFAULT_SLIRP_OPTIONS;
  for (const item of text === '' ? [] : text.split(',')) {
    const eq = item.indexOf('=');
    const key = eq < 0 ? item : item.slice(0, eq);
    const value = item.slice(eq + 1);
    switch (key) {
      case 'allow_host_loopback':
        options = { ...options, allowHostLoopback: parseBoolean(key, value) };
        break;
      case 'enable_ipv6':
        options = { ...options, enableIpv6: parseBoolean(key, value) };
        break;
      case 'cidr':
        if (!/^(\d{1,3}\.){3}\d{1,3}\/(\d|1\d|2[0-4])$/.test(value)) throw new UsageError(`invalid slirp4netns cidr "${value}"`, 'e.g. cidr=10.0.3.0/24 (a prefix of at most 24 bits)');
        options = { ...options, cidr: value };
        break;
      case 'mtu':
        if (!/^\d+$/.test(value) || Number(value) < 1280 || Number(value) > 65521) throw new UsageError(`invalid slirp4netns mtu "${value}"`, 'give an MTU from 1280 to 65521');
        options = { ...options, mtu: Number(value) };
        break;
      case 'outbound_addr':
        options = { ...options, outboundAddr: value };
        break;
      case 'outbound_addr6':
        options = { ...options, outboundAddr6: value };
        break;
      case 'port_handler':
        // nook's ports always go through slirp4netns's own API; rootlesskit's handler is podman's.
        if (value !== 'slirp4netns') throw new UsageError(`slirp4netns port_handler=${value} is not supported`, 'nook publishes ports through slirp4netns itself (port_handler=slirp4netns)');
        break;
      default:
        throw new UsageError(`unknown slirp4netns option "${key}"`, 'known: allow_host_loopback, cidr, enable_ipv6, mtu, outbound_addr, outbound_addr6, port_handler');
    }
  }
  return options;
}

/** podman's --network values that nook supports. */
export function parseNetwork(value: string): NetworkRequest {
  const colon = value.indexOf(':');
  const name = colon < 0 ? value : value.slice(0, colon);
  const rest = colon < 0 ? '' : value.slice(colon + 1);
  switch (name) {
    case 'pasta':
      return { kind: 'pasta', options: parsePastaOptions(rest) };
    case 'slirp4netns':
      return { kind: 'slirp4netns', options: parseSlirpOptions(rest) };
    case 'none':
    case 'host':
      if (colon >= 0) break;
      return { kind: name };
    case 'container':
      if (rest === '') throw new UsageError('--network container: needs a container', 'use --network container:NAME or container:ID');
      return { kind: 'container', ref: rest };
  }
  throw new UsageError(`network mode "${value}" is not supported`, NETWORK_HINT);
}

/** Whether the container has a network namespace of its own, where its net.* sysctls apply. */
export function ownsNetworkNamespace(kind: NetworkKind): boolean {
  return kind === 'pasta' || kind === 'slirp4netns' || kind === 'none';
}

/** Whether the mode has a user-mode stack, and so published ports and a way out. */
export function hasUserModeStack(kind: NetworkKind): kind is 'pasta' | 'slirp4netns' {
  return kind === 'pasta' || kind === 'slirp4netns';
}
