import { HELPER_NETNS, HELPER_READY_FD, HELPER_USERNS } from './helper.js';
import type { PortMapping, PortProtocol } from './ports.js';

/**
 * Where the container finds pasta's DNS forwarder when the host's resolver is one it cannot
 * reach (a loopback address, or the gateway address that pasta maps to the host).
 */
export const PASTA_DNS_FORWARD = '169.254.1.1';

/** One -t/-u spec per host address: `127.0.0.1/8080:80,8081:81`, or `8080:80` for every address. */
function forwardSpecs(ports: readonly PortMapping[], protocol: PortProtocol): string[] {
  const byAddress = new Map<string, string[]>();
  for (const p of ports) {
    if (p.protocol !== protocol) continue;
    const list = byAddress.get(p.hostIp) ?? [];
    list.push(`${p.hostPort}:${p.containerPort}`);
    byAddress.set(p.hostIp, list);
  }
  return [...byAddress].map(([ip, list]) => (ip === '' ? list.join(',') : `${ip}/${list.join(',')}`));
}

/** `-t none` unless there are ports, or the user's own options forward some (pasta refuses both). */
function forwardFlags(flag: '-t' | '-u' | '-T' | '-U', long: string, specs: readonly string[], options: readonly string[]): string[] {
  if (specs.length > 0) return specs.flatMap((spec) => [flag, spec]);
  return options.some((o) => o === flag || o === long || o.startsWith(`${long}=`)) ? [] : [flag, 'none'];
}

/**
 * pasta attached to the container's namespaces (the fds the runtime passes), configuring its
 * interface as the host's, in the foreground so the monitor owns it, telling readiness by
 * writing its pid to the ready fd, ended by the monitor (not by watching the namespace). Only the published ports are forwarded into the container
 * (-t/-u), and nothing from the container's loopback to the host's (-T/-U none): the host's
 * loopback is reached only at the gateway address, which pasta maps to it.
 */
export function pastaArgv(binary: string, ports: readonly PortMapping[], options: readonly string[], dnsForward: boolean): string[] {
  return [
    binary,
    '--config-net',
    '--quiet',
    '--foreground',
    '--pid', `/proc/self/fd/${HELPER_READY_FD}`,
    '--userns', HELPER_USERNS,
    '--netns', HELPER_NETNS,
    // The monitor ends pasta with the container. pasta's own watch for the namespace going
    // away is an inotify instance whose release costs its exit ~20 ms (a grace period),
    // which nook stop would wait for.
    '--no-netns-quit',
    ...forwardFlags('-t', '--tcp-ports', forwardSpecs(ports, 'tcp'), options),
    ...forwardFlags('-u', '--udp-ports', forwardSpecs(ports, 'udp'), options),
    ...forwardFlags('-T', '--tcp-ns', [], options),
    ...forwardFlags('-U', '--udp-ns', [], options),
    ...(dnsForward ? ['--dns-forward', PASTA_DNS_FORWARD] : []),
    ...options,
  ];
}
