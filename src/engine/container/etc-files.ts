import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EtcFiles, NetworkMode } from '../../plan/spec.js';

export function etcFilePaths(dir: string): EtcFiles {
  return { hosts: join(dir, 'hosts'), hostname: join(dir, 'hostname'), resolvConf: join(dir, 'resolv.conf') };
}

function hostFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/**
 * The container's own /etc/hosts, /etc/hostname and /etc/resolv.conf, as podman writes them:
 * localhost and the container's name; the host's name servers when it shares the host's
 * network, none when it has no network.
 */
export function renderEtcFiles(hostname: string, network: NetworkMode): { hosts: string; hostname: string; resolvConf: string } {
  const localhost = '127.0.0.1\tlocalhost localhost.localdomain\n::1\tlocalhost localhost.localdomain ip6-localhost ip6-loopback\n';
  const base = network === 'host' ? hostFile('/etc/hosts') : localhost;
  const hosts = `${base}${base.endsWith('\n') || base === '' ? '' : '\n'}127.0.1.1\t${hostname}\n`;
  const resolvConf = network === 'host' ? hostFile('/etc/resolv.conf') : '# no network (--network none): no name servers\n';
  return { hosts, hostname: `${hostname}\n`, resolvConf };
}

export function writeEtcFiles(paths: EtcFiles, content: { hosts: string; hostname: string; resolvConf: string }): void {
  writeFileSync(paths.hosts, content.hosts, { mode: 0o644 });
  writeFileSync(paths.hostname, content.hostname, { mode: 0o644 });
  writeFileSync(paths.resolvConf, content.resolvConf, { mode: 0o644 });
}
