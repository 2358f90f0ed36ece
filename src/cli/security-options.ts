import { posix } from 'node:path';
import type { SeccompChoice, SecurityOptions } from '../plan/security-options.js';
import { UsageError } from '../errors.js';
import { parseCapabilityName, type Capability } from '../plan/capabilities.js';

/** The --security-opt, --cap-add/--cap-drop, --privileged and --sysctl flags of run, as given. */
export interface SecurityFlags {
  readonly securityOpt: readonly string[];
  readonly capAdd: readonly string[];
  readonly capDrop: readonly string[];
  readonly privileged: boolean;
  readonly sysctl: readonly string[];
}

const SECURITY_OPT_HINT = 'supported: no-new-privileges[=true|false], seccomp=unconfined|PROFILE.json, mask=/PATH[:/PATH…], unmask=ALL|/PATH[:/PATH…]';

function capabilities(names: readonly string[], flag: string): (Capability | 'ALL')[] {
  return names.flatMap((list) => list.split(',')).map((name) => {
    const cap = parseCapabilityName(name.trim());
    if (cap === null) throw new UsageError(`unknown capability "${name}" in ${flag}`, 'use a name from capabilities(7), with or without CAP_, or "all"');
    return cap;
  });
}

/** A container path in normal form, as the plan wants it. */
function containerPaths(list: string, opt: string): string[] {
  return list.split(':').map((path) => {
    const normal = posix.normalize(path).replace(/(.)\/+$/, '$1');
    if (!path.startsWith('/') || normal === '/') {
      throw new UsageError(`invalid path "${path}" in --security-opt ${opt}`, 'give absolute paths inside the container, separated by ":"');
    }
    return normal;
  });
}

function noNewPrivs(value: string | undefined, opt: string): boolean {
  if (value === undefined || value === 'true') return true;
  if (value === 'false') return false;
  throw new UsageError(`unsupported --security-opt "${opt}"`, SECURITY_OPT_HINT);
}

function seccomp(value: string | undefined, opt: string): SeccompChoice {
  if (!value) throw new UsageError(`--security-opt "${opt}" names no profile`, SECURITY_OPT_HINT);
  return value === 'unconfined' ? { kind: 'unconfined' } : { kind: 'profile', path: value };
}

/** podman's spellings: KEY=VALUE, or KEY:VALUE for no-new-privileges. */
export function parseSecurityFlags(flags: SecurityFlags): SecurityOptions {
  let nnp = false;
  let choice: SeccompChoice = { kind: 'default' };
  const mask: string[] = [];
  let unmask: string[] | 'ALL' = [];
  for (const opt of flags.securityOpt) {
    const sep = opt.search(/[=:]/);
    const key = sep < 0 ? opt : opt.slice(0, sep);
    const value = sep < 0 ? undefined : opt.slice(sep + 1);
    if (key === 'no-new-privileges') nnp = noNewPrivs(value, opt);
    else if (key === 'seccomp' && opt[sep] === '=') choice = seccomp(value, opt);
    else if (key === 'mask' && value) mask.push(...containerPaths(value, opt));
    else if (key === 'unmask' && value === 'ALL') unmask = 'ALL';
    else if (key === 'unmask' && value) unmask = unmask === 'ALL' ? unmask : [...unmask, ...containerPaths(value, opt)];
    else throw new UsageError(`unsupported --security-opt "${opt}"`, SECURITY_OPT_HINT);
  }
  return {
    privileged: flags.privileged,
    capAdd: capabilities(flags.capAdd, '--cap-add'),
    capDrop: capabilities(flags.capDrop, '--cap-drop'),
    noNewPrivs: nnp,
    seccomp: choice,
    mask,
    unmask,
    sysctls: flags.sysctl,
  };
}
