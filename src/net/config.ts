import type { DnsSettings } from './dns.js';
import type { HostEntry } from './hosts.js';
import type { NetworkMode, NetworkRequest } from './mode.js';
import type { PortMapping } from './ports.js';

/** The network flags of create and run, as parsed. */
export interface NetworkOptions {
  readonly mode: NetworkRequest;
  /** -p: hostPort 0 where create picks a free one. */
  readonly publish: readonly PortMapping[];
  /** -P: the image's exposed ports too, each to a free host port. */
  readonly publishAll: boolean;
  readonly dns: DnsSettings;
  readonly addHosts: readonly HostEntry[];
  /** --no-hosts: the image's /etc/hosts stays as it is. */
  readonly noHosts: boolean;
}

/** A container's network as create decided it (its record keeps this). */
export interface NetworkConfig {
  readonly mode: NetworkMode;
  /** Every host port fixed: the ones -p left open and -P's are picked at create. */
  readonly ports: readonly PortMapping[];
  readonly dns: DnsSettings;
  readonly addHosts: readonly HostEntry[];
  readonly noHosts: boolean;
}

/** podman's name for the mode, as inspect and ps show it. */
export function networkModeName(mode: NetworkMode): string {
  return mode.kind === 'container' ? `container:${mode.container}` : mode.kind;
}
