import { HELPER_NETNS, HELPER_READY_FD, HELPER_USERNS } from './helper.js';
import type { SlirpOptions } from './mode.js';
import type { PortMapping } from './ports.js';

/** The addresses slirp4netns gives its network: gateway .2 (the host), DNS .3, the container .100. */
export interface SlirpAddresses {
  readonly gateway: string;
  readonly dns: string;
  readonly container: string;
}

export function slirpAddresses(cidr: string): SlirpAddresses {
  const [base = ''] = cidr.split('/');
  const octets = base.split('.').map(Number);
  const at = (n: number): string => [...octets.slice(0, 3), (octets[3]! & ~0xff) + n].join('.');
  return { gateway: at(2), dns: at(3), container: at(100) };
}

/**
 * slirp4netns attached to the container's namespaces by path (the fds the runtime passes),
 * configuring tap0, with its seccomp filter, telling readiness on the ready fd, and an API
 * socket for the published ports. Its sandbox (--enable-sandbox) needs the container's pid
 * instead, which would make the container wait for it before its setup ops.
 */
export function slirpArgv(binary: string, options: SlirpOptions, apiSocket: string | null): string[] {
  return [
    binary,
    '--configure',
    `--mtu=${options.mtu}`,
    ...(options.allowHostLoopback ? [] : ['--disable-host-loopback']),
    ...(options.enableIpv6 ? ['--enable-ipv6'] : []),
    `--cidr=${options.cidr}`,
    ...(options.outboundAddr ? [`--outbound-addr=${options.outboundAddr}`] : []),
    ...(options.outboundAddr6 ? [`--outbound-addr6=${options.outboundAddr6}`] : []),
    '--enable-seccomp',
    `--ready-fd=${HELPER_READY_FD}`,
    ...(apiSocket ? ['--api-socket', apiSocket] : []),
    '--netns-type=path',
    `--userns-path=${HELPER_USERNS}`,
    HELPER_NETNS,
    'tap0',
  ];
}

/** slirp4netns API requests that publish the ports (one JSON object per connection). */
export function hostForwardRequests(ports: readonly PortMapping[], options: SlirpOptions): string[] {
  const guest = slirpAddresses(options.cidr).container;
  return ports.map((p) =>
    JSON.stringify({
      execute: 'add_hostfwd',
      arguments: { proto: p.protocol, host_addr: p.hostIp === '' ? '0.0.0.0' : p.hostIp, host_port: p.hostPort, guest_addr: guest, guest_port: p.containerPort },
    }),
  );
}
