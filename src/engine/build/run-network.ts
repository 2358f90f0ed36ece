import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Instruction } from '../../build/parse.js';
import { isLoopbackAddress, NO_DNS_SETTINGS, parseResolvConf, renderResolvConf } from '../../net/dns.js';
import { LOCALHOST_LINES, renderHosts } from '../../net/hosts.js';
import { PASTA_DNS_FORWARD, pastaArgv } from '../../net/pasta.js';
import type { NetworkHelper } from '../../plan/ops.js';
import type { NetworkSetup } from '../../plan/spec.js';
import { defaultRoute } from '../../sys/route.js';
import type { EtcContent } from '../container/etc-files.js';
import { helperBinary } from '../network/default.js';
import { BuildError } from './errors.js';
import type { BuildNetwork } from './options.js';
import type { Build } from './stage.js';

/** A RUN step's network: its --network, else the build's. */
export function networkOf(build: Build, ins: Instruction): BuildNetwork {
  const flag = ins.flags.find((f) => f.name === 'network')?.value;
  if (flag === undefined || flag === null || flag === 'default') return build.network;
  if (flag === 'none' || flag === 'host' || flag === 'pasta') return flag;
  throw new BuildError(`RUN --network=${flag} is not supported`, 'use pasta, none or host');
}

function hostFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/**
 * A RUN container's network and its /etc/hosts and resolv.conf, as nook run sets them up for
 * the same network (without published ports: a step serves nothing).
 */
export function runNetwork(network: BuildNetwork, hostname: string, stepDir: string): { setup: NetworkSetup; etc: EtcContent } {
  const hosts = (base: string, ownAddress: string | null, hostAddress: string | null): string => renderHosts({ base, addHosts: [], ownAddress, names: [hostname], hostAddress });
  const hostDns = parseResolvConf(hostFile('/etc/resolv.conf'));
  switch (network) {
    case 'none':
      return { setup: { kind: 'none' }, etc: { hosts: hosts(LOCALHOST_LINES, null, null), hostname: `${hostname}\n`, resolvConf: renderResolvConf(NO_DNS_SETTINGS, 'no network (--network none): no name servers') } };
    case 'host':
      return { setup: { kind: 'host' }, etc: { hosts: hosts(hostFile('/etc/hosts'), null, null), hostname: `${hostname}\n`, resolvConf: renderResolvConf(hostDns) } };
    case 'pasta': {
      const route = defaultRoute();
      // As nook run: a host name server pasta's namespace cannot reach is asked through pasta's forwarder.
      const forward = hostDns.servers.length === 0 || hostDns.servers.some((s) => isLoopbackAddress(s) || s === route?.gateway);
      const dns = forward ? { ...hostDns, servers: [PASTA_DNS_FORWARD] } : hostDns;
      const helper: NetworkHelper = { start: 'clone', argv: pastaArgv(helperBinary('pasta'), [], [], forward), log: join(stepDir, 'network.log'), apiSocket: null, requests: [] };
      return { setup: { kind: 'helper', helper }, etc: { hosts: hosts(LOCALHOST_LINES, route?.address ?? null, route?.gateway ?? null), hostname: `${hostname}\n`, resolvConf: renderResolvConf(dns) } };
    }
  }
}

