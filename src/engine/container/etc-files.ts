import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EtcFiles } from '../../plan/spec.js';

/** The container's own /etc files, in its dir's userdata; hosts only when nook writes one. */
export function etcFilePaths(dir: string, hosts: boolean): EtcFiles {
  return { hosts: hosts ? join(dir, 'hosts') : null, hostname: join(dir, 'hostname'), resolvConf: join(dir, 'resolv.conf') };
}

export interface EtcContent {
  readonly hosts: string | null;
  readonly hostname: string;
  readonly resolvConf: string;
}

export function writeEtcFiles(paths: EtcFiles, content: EtcContent): void {
  if (paths.hosts !== null && content.hosts !== null) writeFileSync(paths.hosts, content.hosts, { mode: 0o644 });
  writeFileSync(paths.hostname, content.hostname, { mode: 0o644 });
  writeFileSync(paths.resolvConf, content.resolvConf, { mode: 0o644 });
}
