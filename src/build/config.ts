import { posix } from 'node:path';
import { expandPairs, expandWord, expandWords, type Variables } from './expand.js';
import type { Instruction } from './parse.js';

/**
 * What the metadata instructions (ENV, LABEL, CMD, ENTRYPOINT, EXPOSE, VOLUME, USER,
 * WORKDIR, STOPSIGNAL, HEALTHCHECK, ONBUILD, SHELL, MAINTAINER) do to an image config, by
 * Docker's rules. Pure: the build engine runs the steps that make layers.
 */

/** The `config` object of an OCI/Docker image config, as Docker names its fields. */
export interface RunConfigDoc {
  Env?: string[];
  Cmd?: string[] | null;
  Entrypoint?: string[] | null;
  WorkingDir?: string;
  User?: string;
  ExposedPorts?: Record<string, object>;
  Volumes?: Record<string, object>;
  Labels?: Record<string, string>;
  StopSignal?: string;
  Healthcheck?: HealthcheckDoc;
  OnBuild?: string[] | null;
  Shell?: string[];
  [other: string]: unknown;
}

export interface HealthcheckDoc {
  Test: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

export class InstructionError extends Error {}

export const DEFAULT_SHELL = ['/bin/sh', '-c'];

/** A stage's config while it is built, and what Docker tracks beside it. */
export interface StageConfig {
  readonly config: RunConfigDoc;
  /** CMD was set in this stage: a later ENTRYPOINT keeps it. */
  cmdSet: boolean;
  author: string | undefined;
}

export function setEnv(config: RunConfigDoc, key: string, value: string): void {
  const env = (config.Env ?? []).filter((e) => e.slice(0, e.indexOf('=') < 0 ? e.length : e.indexOf('=')) !== key);
  env.push(`${key}=${value}`);
  config.Env = env;
}

export function shellOf(config: RunConfigDoc): string[] {
  return config.Shell && config.Shell.length > 0 ? [...config.Shell] : [...DEFAULT_SHELL];
}

/** CMD, ENTRYPOINT and RUN: the exec form as written, or the shell form run by SHELL. */
export function commandOf(ins: Instruction, config: RunConfigDoc): string[] {
  return ins.json ? [...ins.json] : [...shellOf(config), ins.args];
}

const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** A Go duration (30s, 1m30s, 500ms) in nanoseconds, as image configs keep it. */
export function parseDuration(text: string, flag: string): number {
  if (text === '0') return 0;
  let rest = text;
  let total = 0;
  if (rest === '') throw new InstructionError(`--${flag} needs a duration such as 30s or 1m30s`);
  while (rest !== '') {
    const match = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/.exec(rest);
    if (!match) throw new InstructionError(`--${flag}=${text} is not a duration such as 30s or 1m30s`);
    total += Number(match[1]) * UNIT_NS[match[2]!]!;
    rest = rest.slice(match[0].length);
  }
  return Math.round(total);
}

function healthcheck(ins: Instruction): HealthcheckDoc {
  const words = ins.args.trim();
  if (/^none$/i.test(words)) {
    if (ins.flags.length > 0) throw new InstructionError('HEALTHCHECK NONE takes no options');
    return { Test: ['NONE'] };
  }
  const match = /^cmd\s+([\s\S]*)$/i.exec(words);
  if (!match) throw new InstructionError('HEALTHCHECK needs CMD COMMAND or NONE');
  let json: unknown = null;
  try {
    json = JSON.parse(match[1]!);
  } catch {
    json = null;
  }
  const test = Array.isArray(json) && json.every((v) => typeof v === 'string') ? ['CMD', ...(json as string[])] : ['CMD-SHELL', match[1]!];
  const doc: HealthcheckDoc = { Test: test };
  for (const flag of ins.flags) {
    const value = flag.value ?? '';
    switch (flag.name) {
      case 'interval':
        doc.Interval = parseDuration(value, flag.name);
        break;
      case 'timeout':
        doc.Timeout = parseDuration(value, flag.name);
        break;
      case 'start-period':
        doc.StartPeriod = parseDuration(value, flag.name);
        break;
      case 'start-interval':
        doc.StartInterval = parseDuration(value, flag.name);
        break;
      case 'retries':
        if (!/^\d+$/.test(value)) throw new InstructionError(`--retries=${value} is not a number`);
        doc.Retries = Number(value);
        break;
      default:
        throw new InstructionError(`HEALTHCHECK has no option --${flag.name}`);
    }
  }
  return doc;
}

function port(word: string): string {
  const match = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(word);
  if (!match) throw new InstructionError(`invalid port "${word}": use PORT[/PROTOCOL]`);
  return `${match[1]}${match[2] ? `-${match[2]}` : ''}/${(match[3] ?? 'tcp').toLowerCase()}`;
}

/** A WORKDIR argument against the current one: relative paths continue it. */
export function workdirOf(current: string | undefined, path: string): string {
  return posix.normalize(path.startsWith('/') ? path : posix.join(current || '/', path));
}

/**
 * Applies a metadata instruction to the stage's config. `vars` holds the build args in
 * scope and the environment, for expansion. Returns what the history entry says it did.
 */
export function applyMetadata(ins: Instruction, stage: StageConfig, vars: Variables, escape: string): string {
  const { config } = stage;
  const nop = (text: string): string => `/bin/sh -c #(nop) ${text}`;
  switch (ins.keyword) {
    case 'ENV': {
      const pairs = expandPairs(ins.args, vars, escape, true);
      for (const [k, v] of pairs) setEnv(config, k, v);
      return nop(`ENV ${pairs.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ')}`);
    }
    case 'LABEL': {
      const pairs = expandPairs(ins.args, vars, escape, true);
      config.Labels = { ...(config.Labels ?? {}) };
      for (const [k, v] of pairs) config.Labels[k] = v;
      return nop(`LABEL ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`);
    }
    case 'CMD':
      config.Cmd = commandOf(ins, config);
      stage.cmdSet = true;
      return nop(`CMD ${JSON.stringify(config.Cmd)}`);
    case 'ENTRYPOINT':
      config.Entrypoint = ins.json ? [...ins.json] : (ins.args === '' ? null : [...shellOf(config), ins.args]);
      // Docker: an ENTRYPOINT drops the base image's CMD, not one set in this stage.
      if (!stage.cmdSet) config.Cmd = null;
      return nop(`ENTRYPOINT ${JSON.stringify(config.Entrypoint)}`);
    case 'EXPOSE': {
      const ports = expandWords(ins.args, vars, escape).map(port);
      config.ExposedPorts = { ...(config.ExposedPorts ?? {}) };
      for (const p of ports) config.ExposedPorts[p] = {};
      return nop(`EXPOSE ${ports.join(' ')}`);
    }
    case 'VOLUME': {
      const paths = (ins.json ?? expandWords(ins.args, vars, escape)).map((p) => expandWord(p, vars, escape));
      config.Volumes = { ...(config.Volumes ?? {}) };
      for (const p of paths) {
        if (p.trim() === '') throw new InstructionError('VOLUME names an empty path');
        config.Volumes[p] = {};
      }
      return nop(`VOLUME ${JSON.stringify(paths)}`);
    }
    case 'USER':
      config.User = expandWord(ins.args, vars, escape);
      return nop(`USER ${config.User}`);
    case 'WORKDIR':
      config.WorkingDir = workdirOf(config.WorkingDir, expandWord(ins.args, vars, escape));
      return nop(`WORKDIR ${config.WorkingDir}`);
    case 'STOPSIGNAL':
      config.StopSignal = expandWord(ins.args, vars, escape);
      return nop(`STOPSIGNAL ${config.StopSignal}`);
    case 'HEALTHCHECK':
      config.Healthcheck = healthcheck(ins);
      return nop(`HEALTHCHECK ${ins.args}`);
    case 'ONBUILD': {
      const inner = /^\s*(\S+)/.exec(ins.args)?.[1]?.toUpperCase();
      if (inner === 'ONBUILD' || inner === 'FROM' || inner === 'MAINTAINER') throw new InstructionError(`ONBUILD ${inner} is not allowed`);
      config.OnBuild = [...(config.OnBuild ?? []), ins.args];
      return nop(`ONBUILD ${ins.args}`);
    }
    case 'SHELL':
      if (ins.json === null || ins.json.length === 0) throw new InstructionError('SHELL needs the JSON form, e.g. SHELL ["/bin/bash", "-c"]');
      config.Shell = [...ins.json];
      return nop(`SHELL ${JSON.stringify(ins.json)}`);
    case 'MAINTAINER':
      stage.author = expandWord(ins.args, vars, escape);
      return nop(`MAINTAINER ${stage.author}`);
    default:
      throw new InstructionError(`${ins.keyword} is not a metadata instruction`);
  }
}
