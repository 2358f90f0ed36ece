import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../../errors.js';
import type { SandboxNetwork } from './options.js';

/** A named set of sandbox options; the command line adds to its lists and overrides the rest. */
export interface SandboxProfile {
  readonly rw: readonly string[];
  readonly ro: readonly string[];
  readonly hide: readonly string[];
  readonly network?: SandboxNetwork;
  readonly allowHosts: readonly string[];
  readonly env: readonly string[];
  readonly keepEnv?: boolean;
  readonly timeoutSeconds?: number;
  readonly memory?: string;
}

export const EMPTY_PROFILE: SandboxProfile = { rw: [], ro: [], hide: [], allowHosts: [], env: [] };

/**
 * The package registries' own hosts (over HTTPS), for builds that fetch dependencies.
 * Code hosts (github.com …) are left out on purpose: a script that may push there can send
 * anything out. A profile of your own adds them.
 */
export const REGISTRY_HOSTS: readonly string[] = [
  'registry.npmjs.org', 'registry.yarnpkg.com',
  'pypi.org', 'files.pythonhosted.org',
  'crates.io', 'index.crates.io', 'static.crates.io',
  'proxy.golang.org', 'sum.golang.org',
  'repo.maven.apache.org', 'repo1.maven.org',
  'rubygems.org', 'index.rubygems.org',
];

/** Profiles every nook has; a profile of the same name in the config file replaces one. */
export const BUILTIN_PROFILES: Readonly<Record<string, SandboxProfile>> = {
  /** A build step: the current directory writable, the package registries reachable. */
  build: { ...EMPTY_PROFILE, rw: ['.'], allowHosts: REGISTRY_HOSTS },
};

const KEYS = ['rw', 'ro', 'hide', 'network', 'allow-host', 'env', 'keep-env', 'timeout', 'memory'] as const;
const NETWORKS: readonly SandboxNetwork[] = ['none', 'pasta', 'slirp4netns', 'host'];

function profileError(file: string, name: string, problem: string): UsageError {
  return new UsageError(`sandbox profile "${name}" in ${file}: ${problem}`, 'see docs/sandbox.md, "Profiles", for the keys a profile takes');
}

function stringList(value: unknown, key: string, file: string, name: string): string[] {
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string')) {
    throw profileError(file, name, `"${key}" must be a list of strings`);
  }
  return value;
}

/** Checks one profile table of a config file, key by key: an unknown key is an error, not ignored. */
function parseProfile(raw: unknown, file: string, name: string): SandboxProfile {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw profileError(file, name, 'must be a table of options');
  const table = raw as Record<string, unknown>;
  const unknown = Object.keys(table).find((key) => !(KEYS as readonly string[]).includes(key));
  if (unknown !== undefined) throw profileError(file, name, `unknown key "${unknown}" (keys: ${KEYS.join(', ')})`);
  const list = (key: string): string[] => (table[key] === undefined ? [] : stringList(table[key], key, file, name));
  const { network, timeout, memory } = table;
  if (network !== undefined && !NETWORKS.includes(network as SandboxNetwork)) throw profileError(file, name, `"network" must be one of ${NETWORKS.join(', ')}`);
  if (table['keep-env'] !== undefined && typeof table['keep-env'] !== 'boolean') throw profileError(file, name, '"keep-env" must be true or false');
  if (timeout !== undefined && (typeof timeout !== 'number' || !(timeout > 0))) throw profileError(file, name, '"timeout" must be a number of seconds above 0');
  if (memory !== undefined && typeof memory !== 'string') throw profileError(file, name, '"memory" must be a string such as "512m"');
  return {
    rw: list('rw'),
    ro: list('ro'),
    hide: list('hide'),
    allowHosts: list('allow-host'),
    env: list('env'),
    ...(network === undefined ? {} : { network: network as SandboxNetwork }),
    ...(table['keep-env'] === undefined ? {} : { keepEnv: table['keep-env'] as boolean }),
    ...(timeout === undefined ? {} : { timeoutSeconds: timeout as number }),
    ...(memory === undefined ? {} : { memory: memory as string }),
  };
}

/** The config file's text, parsed, or null when there is no such file. */
function readConfig(file: string, parse: (text: string) => unknown): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`, 'make the file readable, or remove it');
  }
  try {
    return parse(text);
  } catch (err) {
    throw new UsageError(`${file} is not valid: ${(err as Error).message.split('\n')[0]}`, 'fix its syntax (docs/sandbox.md, "Profiles")');
  }
}

/** The `profile` tables of one config file, or null when it does not exist. */
function fileProfiles(file: string, parse: (text: string) => unknown): Record<string, unknown> | null {
  const config = readConfig(file, parse);
  if (config === null) return null;
  const profiles = (config as { profile?: unknown }).profile;
  if (profiles === undefined) return {};
  if (typeof profiles !== 'object' || profiles === null || Array.isArray(profiles)) {
    throw new UsageError(`${file}: "profile" must be a table of profiles`, 'write each profile as [profile.NAME] (TOML) or "profile": {"NAME": {…}} (JSON)');
  }
  return profiles as Record<string, unknown>;
}

/**
 * The profile NAME: from $XDG_CONFIG_HOME/nook/sandbox.toml, else sandbox.json beside it,
 * else a built-in. The TOML parser is loaded only when that file exists.
 */
export async function loadProfile(name: string, configDir: string): Promise<SandboxProfile> {
  const toml = join(configDir, 'sandbox.toml');
  const json = join(configDir, 'sandbox.json');
  const parseToml = existsSync(toml) ? (await import('./toml.js')).parseToml : null;
  const fromToml = parseToml === null ? null : fileProfiles(toml, parseToml);
  const fromJson = fromToml === null ? fileProfiles(json, (text) => JSON.parse(text) as unknown) : null;
  const [file, profiles] = fromToml !== null ? [toml, fromToml] : [json, fromJson ?? {}];
  if (Object.hasOwn(profiles, name)) return parseProfile(profiles[name], file, name);
  const builtin = BUILTIN_PROFILES[name];
  if (builtin !== undefined) return builtin;
  const known = [...new Set([...Object.keys(profiles), ...Object.keys(BUILTIN_PROFILES)])].sort();
  throw new UsageError(`no sandbox profile "${name}"`, `choose one of ${known.join(', ')}, or add [profile.${name}] to ${toml}`);
}
