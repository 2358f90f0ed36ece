import { UsageError } from '../errors.js';

/**
 * A seccomp profile in the Docker / OCI JSON format (moby's profiles/seccomp/default.json,
 * containers-common's seccomp.json), as far as nook implements it: the fields that decide
 * what the filter does. Fields with no effect on the filter (comment) are ignored.
 */
export const ACTIONS = [
  'SCMP_ACT_KILL', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_TRAP',
  'SCMP_ACT_ERRNO', 'SCMP_ACT_TRACE', 'SCMP_ACT_ALLOW', 'SCMP_ACT_LOG',
] as const;
export type SeccompAction = (typeof ACTIONS)[number];

export const OPERATORS = [
  'SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ',
] as const;
export type SeccompOperator = (typeof OPERATORS)[number];

/** A condition on one system call argument; MASKED_EQ means (arg & value) == valueTwo. */
export interface SeccompArg {
  readonly index: number;
  readonly value: number;
  readonly valueTwo: number;
  readonly op: SeccompOperator;
}

/** When a rule applies: every listed capability held, the host's architecture listed, … */
export interface SeccompFilter {
  readonly caps?: readonly string[];
  readonly arches?: readonly string[];
  readonly minKernel?: string;
}

export interface SeccompRule {
  readonly names: readonly string[];
  readonly action: SeccompAction;
  readonly errnoRet?: number;
  readonly args?: readonly SeccompArg[];
  readonly includes?: SeccompFilter;
  readonly excludes?: SeccompFilter;
}

export interface SeccompProfile {
  readonly defaultAction: SeccompAction;
  readonly defaultErrnoRet?: number;
  /** SCMP_ARCH_* names; empty: the host's own, plus archMap's sub-architectures. */
  readonly architectures?: readonly string[];
  readonly archMap?: readonly { readonly architecture: string; readonly subArchitectures: readonly string[] }[];
  readonly syscalls: readonly SeccompRule[];
}

type Json = Record<string, unknown>;

class ProfileReader {
  constructor(private readonly source: string) {}

  fail(where: string, what: string): never {
    throw new UsageError(
      `seccomp profile ${this.source}: ${where}: ${what}`,
      'give a Docker/OCI seccomp profile (defaultAction, architectures, syscalls[].names/action/args), or --security-opt seccomp=unconfined',
    );
  }

  object(value: unknown, where: string): Json {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(where, 'is not an object');
    return value as Json;
  }

  strings(value: unknown, where: string): string[] {
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) this.fail(where, 'is not a list of strings');
    return value as string[];
  }

  /** JSON numbers above 2^53 have already lost digits: refused rather than rounded. */
  integer(value: unknown, where: string, max = Number.MAX_SAFE_INTEGER): number {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > max) {
      this.fail(where, `is not an integer from 0 to ${max}`);
    }
    return value;
  }

  action(value: unknown, where: string): SeccompAction {
    if (value === 'SCMP_ACT_NOTIFY') this.fail(where, 'SCMP_ACT_NOTIFY needs a listener, which nook does not run');
    if (!ACTIONS.includes(value as SeccompAction)) this.fail(where, `unknown action ${JSON.stringify(value)}`);
    return value as SeccompAction;
  }

  errno(value: unknown, where: string): number | undefined {
    return value === undefined ? undefined : this.integer(value, where, 4095);
  }

  filter(value: unknown, where: string): SeccompFilter | undefined {
    if (value === undefined) return undefined;
    const o = this.object(value, where);
    return {
      ...(o.caps === undefined ? {} : { caps: this.strings(o.caps, `${where}.caps`) }),
      ...(o.arches === undefined ? {} : { arches: this.strings(o.arches, `${where}.arches`) }),
      ...(o.minKernel === undefined || o.minKernel === '' ? {} : { minKernel: this.kernelVersion(o.minKernel, `${where}.minKernel`) }),
    };
  }

  kernelVersion(value: unknown, where: string): string {
    if (typeof value !== 'string' || !/^\d+\.\d+$/.test(value)) this.fail(where, 'is not a kernel version like "5.8"');
    return value;
  }

  arg(value: unknown, where: string): SeccompArg {
    const o = this.object(value, where);
    if (!OPERATORS.includes(o.op as SeccompOperator)) this.fail(`${where}.op`, `unknown operator ${JSON.stringify(o.op)}`);
    return {
      index: this.integer(o.index, `${where}.index`, 5),
      value: this.integer(o.value, `${where}.value`),
      valueTwo: o.valueTwo === undefined ? 0 : this.integer(o.valueTwo, `${where}.valueTwo`),
      op: o.op as SeccompOperator,
    };
  }

  rule(value: unknown, where: string): SeccompRule {
    const o = this.object(value, where);
    // "name" is the format's older, single-call spelling.
    const names = o.names !== undefined ? this.strings(o.names, `${where}.names`) : typeof o.name === 'string' ? [o.name] : this.fail(where, 'has no names');
    const args = o.args === undefined || o.args === null ? [] : o.args;
    if (!Array.isArray(args)) this.fail(`${where}.args`, 'is not a list');
    const errnoRet = this.errno(o.errnoRet, `${where}.errnoRet`);
    const includes = this.filter(o.includes, `${where}.includes`);
    const excludes = this.filter(o.excludes, `${where}.excludes`);
    return {
      names,
      action: this.action(o.action, `${where}.action`),
      args: args.map((a, i) => this.arg(a, `${where}.args[${i}]`)),
      ...(errnoRet === undefined ? {} : { errnoRet }),
      ...(includes === undefined ? {} : { includes }),
      ...(excludes === undefined ? {} : { excludes }),
    };
  }

  profile(value: unknown): SeccompProfile {
    const o = this.object(value, 'the profile');
    if (o.listenerPath !== undefined && o.listenerPath !== '') this.fail('listenerPath', 'seccomp notify listeners are not supported');
    const syscalls = o.syscalls === undefined || o.syscalls === null ? [] : o.syscalls;
    if (!Array.isArray(syscalls)) this.fail('syscalls', 'is not a list');
    const archMap = o.archMap === undefined || o.archMap === null ? [] : o.archMap;
    if (!Array.isArray(archMap)) this.fail('archMap', 'is not a list');
    const defaultErrnoRet = this.errno(o.defaultErrnoRet, 'defaultErrnoRet');
    return {
      defaultAction: this.action(o.defaultAction, 'defaultAction'),
      ...(defaultErrnoRet === undefined ? {} : { defaultErrnoRet }),
      architectures: o.architectures === undefined || o.architectures === null ? [] : this.strings(o.architectures, 'architectures'),
      archMap: archMap.map((entry, i) => {
        const e = this.object(entry, `archMap[${i}]`);
        if (typeof e.architecture !== 'string') this.fail(`archMap[${i}].architecture`, 'is not a string');
        return { architecture: e.architecture, subArchitectures: this.strings(e.subArchitectures ?? [], `archMap[${i}].subArchitectures`) };
      }),
      syscalls: syscalls.map((rule, i) => this.rule(rule, `syscalls[${i}]`)),
    };
  }
}

/** Reads a profile's JSON text; `source` names it in errors (the file's path). */
export function parseProfile(text: string, source: string): SeccompProfile {
  const reader = new ProfileReader(source);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    reader.fail('JSON', (err as Error).message);
  }
  return reader.profile(json);
}
