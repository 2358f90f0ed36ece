import { Option, type Command } from 'commander';
import type { NetworkOptions } from '../net/config.js';
import { parseAddHost } from '../net/hosts.js';
import { parseNetwork } from '../net/mode.js';
import { parsePublish } from '../net/ports.js';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** The network flags of run and create, podman's names (--net as --network's alias). */
export function addNetworkOptions(cmd: Command): Command {
  return cmd
    .option('--network <mode>', 'pasta (the default where installed), slirp4netns[:OPTS], none, host or container:NAME')
    .addOption(new Option('--net <mode>', 'alias of --network').hideHelp())
    .option('-p, --publish <[ip:][hostPort:]containerPort[/proto]>', 'publish a container port on the host, ranges as 8000-8010 (repeatable)', collect, [])
    .option('-P, --publish-all', "publish every port the image exposes on a free host port", false)
    .option('--dns <ip>', 'a name server for the container (repeatable)', collect, [])
    .option('--dns-search <domain>', 'a DNS search domain for the container (repeatable; "." for none)', collect, [])
    .option('--dns-option <option>', 'a resolv.conf option for the container (repeatable)', collect, [])
    .addOption(new Option('--dns-opt <option>', 'alias of --dns-option').hideHelp().argParser(collect).default([]))
    .option('--add-host <name:ip>', 'add a line to /etc/hosts; ip "host-gateway" is the host (repeatable)', collect, [])
    .option('--no-hosts', 'leave the image\'s /etc/hosts as it is');
}

export function parseNetworkFlags(o: Record<string, unknown>): NetworkOptions {
  const mode = (o.network ?? o.net) as string | undefined;
  return {
    mode: mode === undefined ? { kind: 'default' } : parseNetwork(mode),
    publish: (o.publish as string[]).flatMap(parsePublish),
    publishAll: o.publishAll as boolean,
    dns: { servers: o.dns as string[], search: o.dnsSearch as string[], options: [...(o.dnsOption as string[]), ...(o.dnsOpt as string[])] },
    addHosts: (o.addHost as string[]).map(parseAddHost),
    noHosts: o.hosts === false,
  };
}
