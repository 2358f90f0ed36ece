import { readFileSync } from 'node:fs';
import { release } from 'node:os';
import { join, resolve } from 'node:path';
import { HostError, UsageError } from '../../errors.js';
import { CAPABILITIES, capabilityMask, DEFAULT_CAPABILITIES, mergeCapabilities, type Capability } from '../../plan/capabilities.js';
import { MASKED_PATHS, READONLY_PATHS } from '../../plan/hardening.js';
import type { RecordedSecurity, SecurityOptions } from '../../plan/security-options.js';
import type { NetworkKind } from '../../net/mode.js';
import type { Sysctl } from '../../plan/spec.js';
import { cachedFilterProgram, cacheEntryName } from '../../seccomp/cache.js';
import { DEFAULT_FILTERS } from '../../seccomp/default-profile.js';
import { parseProfile } from '../../seccomp/profile.js';
import { hostArch, resolveProfile } from '../../seccomp/resolve.js';
import { parseSysctl } from './sysctl.js';

/** The security half of a ContainerSpec. */
export interface ContainerSecurity {
  readonly capabilities: bigint;
  readonly noNewPrivs: boolean;
  /** Installed in this order; empty: no filter. */
  readonly seccomp: readonly Uint8Array[];
  readonly readonlyPaths: readonly string[];
  readonly maskedPaths: readonly string[];
  readonly sysctls: readonly Sysctl[];
}

export interface FilterCacheOptions {
  readonly dir: string;
  /** false for --explain: read the cache, leave nothing behind. */
  readonly write: boolean;
}

function capabilities(opts: SecurityOptions): Capability[] {
  // Rootless --privileged: every capability, all of them confined to the user namespace.
  if (opts.privileged) return [...CAPABILITIES];
  const merged = mergeCapabilities(DEFAULT_CAPABILITIES, opts.capAdd, opts.capDrop);
  if ('clash' in merged) {
    throw new UsageError(`capability ${merged.clash} is both added and dropped`, 'name it in --cap-add or in --cap-drop, not both');
  }
  return merged.caps;
}

function kernelPaths(opts: SecurityOptions): { readonlyPaths: string[]; maskedPaths: string[] } {
  if (opts.privileged || opts.unmask === 'ALL') return { readonlyPaths: [], maskedPaths: [...opts.mask] };
  const kept = (path: string): boolean => !opts.unmask.includes(path);
  return {
    readonlyPaths: READONLY_PATHS.filter(kept),
    maskedPaths: [...new Set([...MASKED_PATHS.filter(kept), ...opts.mask])],
  };
}

/**
 * Reads and checks a profile the user named, for the record: a bad one is refused at create,
 * and the text kept is what every later start and exec of the container compiles.
 */
export function recordSecurity(opts: SecurityOptions): RecordedSecurity {
  if (opts.seccomp.kind !== 'profile') return { ...opts, seccomp: opts.seccomp };
  const { path } = opts.seccomp;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read seccomp profile ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'give the path of a JSON profile, or seccomp=unconfined');
  }
  parseProfile(text, path);
  return { ...opts, seccomp: { kind: 'profile', path, text } };
}

async function seccompFilters(opts: RecordedSecurity, caps: readonly Capability[], cache: FilterCacheOptions): Promise<Uint8Array[]> {
  const choice = opts.seccomp;
  // --privileged turns the default filters off; a profile named explicitly still applies.
  if (choice.kind === 'unconfined' || (opts.privileged && choice.kind === 'default')) return [];
  const arch = hostArch(process.arch);
  if (arch === null) {
    throw new HostError(`nook has no seccomp support for ${process.arch} yet`, 'run with --security-opt seccomp=unconfined');
  }
  const profiles = choice.kind === 'default' ? DEFAULT_FILTERS : [{ name: resolve(choice.path), profile: parseProfile(choice.text, choice.path) }];
  const programs: Uint8Array[] = [];
  for (const { name, profile } of profiles) {
    const filter = resolveProfile(profile, { arch, caps: caps.map((c) => `CAP_${c}`), kernel: release() });
    programs.push(await cachedFilterProgram(filter, cacheEntryName(name, capabilityMask(caps)), join(cache.dir, 'seccomp'), cache.write));
  }
  return programs;
}

/** Decides capabilities, seccomp filters, kernel paths and sysctls for one container. */
export async function containerSecurity(opts: RecordedSecurity, network: NetworkKind, cache: FilterCacheOptions): Promise<ContainerSecurity> {
  const caps = capabilities(opts);
  const sysctls = opts.sysctls.map((item) => parseSysctl(item, network));
  return {
    capabilities: capabilityMask(caps),
    noNewPrivs: opts.noNewPrivs,
    seccomp: await seccompFilters(opts, caps, cache),
    ...kernelPaths(opts),
    sysctls,
  };
}
