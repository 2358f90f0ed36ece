import type { LeanInvocation } from '../engine/container/lean-commands.js';
import { parseCount, parseFormat, parsePsFilter } from './values.js';

// The lean path: commands run often, in loops and scripts (ps, stop, rm), read without
// commander, whose setup costs more than the command itself. It takes only the plainest
// command lines and gives the invocation the full parser (program.ts) gives for them; any
// other line (help, `--`, an option it does not know, a missing argument) is null, and
// the full parser runs it, with its messages and exit codes.

/** How a command's options are spelled: `-x` and `--long`, each a flag or taking a value. */
interface OptionSpec {
  readonly short?: string;
  readonly long: string;
  readonly takesValue: boolean;
  /** Given more than once: every value kept (commander's collect), not refused. */
  readonly repeatable?: boolean;
}

interface ParsedLine {
  /** By long name: true for a flag, the values for an option that takes one. */
  readonly options: ReadonlyMap<string, true | readonly string[]>;
  readonly operands: readonly string[];
}

const NOT_LEAN = null;

/**
 * Options and operands in any order, as commander takes them. A value is the next word, or
 * follows `=`; one that starts with "-", an empty one, short flags run together with a
 * value (`-ft5`), a repeated option and anything unknown make the line not lean.
 */
function parseLine(args: readonly string[], specs: readonly OptionSpec[]): ParsedLine | null {
  const options = new Map<string, true | string[]>();
  const operands: string[] = [];
  const set = (spec: OptionSpec, value: string | null): boolean => {
    const had = options.get(spec.long);
    if (value === null) {
      if (had !== undefined) return false;
      options.set(spec.long, true);
      return true;
    }
    if (value === '' || value.startsWith('-')) return false;
    if (had === undefined) options.set(spec.long, [value]);
    else if (spec.repeatable && had !== true) had.push(value);
    else return false;
    return true;
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('-')) {
      operands.push(arg);
      continue;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      const spec = specs.find((s) => s.long === name);
      if (spec === undefined) return NOT_LEAN;
      if (!spec.takesValue) {
        if (eq >= 0 || !set(spec, null)) return NOT_LEAN;
      } else if (!set(spec, eq >= 0 ? arg.slice(eq + 1) : (args[++i] ?? ''))) return NOT_LEAN;
      continue;
    }
    const letters = arg.slice(1);
    if (letters === '') return NOT_LEAN;
    const cluster = [...letters].map((letter) => specs.find((s) => s.short === letter));
    if (cluster.some((spec) => spec === undefined)) return NOT_LEAN;
    if (cluster.length === 1 && cluster[0]!.takesValue) {
      if (!set(cluster[0]!, args[++i] ?? '')) return NOT_LEAN;
      continue;
    }
    for (const spec of cluster) if (spec!.takesValue || !set(spec!, null)) return NOT_LEAN;
  }
  return { options, operands };
}

const flag = (line: ParsedLine, long: string): boolean => line.options.get(long) === true;
const values = (line: ParsedLine, long: string): readonly string[] => {
  const v = line.options.get(long);
  return v === undefined || v === true ? [] : v;
};
const timeout = (line: ParsedLine): number | undefined => {
  const [time] = values(line, 'time');
  return time === undefined ? undefined : parseCount(time, '--time');
};

const PS: readonly OptionSpec[] = [
  { short: 'a', long: 'all', takesValue: false },
  { short: 'q', long: 'quiet', takesValue: false },
  { long: 'no-trunc', takesValue: false },
  { long: 'format', takesValue: true },
  { short: 'f', long: 'filter', takesValue: true, repeatable: true },
];
const STOP: readonly OptionSpec[] = [{ short: 't', long: 'time', takesValue: true }];
const RM: readonly OptionSpec[] = [
  { short: 'f', long: 'force', takesValue: false },
  { short: 't', long: 'time', takesValue: true },
  { short: 'v', long: 'volumes', takesValue: false },
];

/**
 * The invocation for `argv` (the arguments after `nook`), or null when the full parser must
 * read it. Throws the UsageError the full parser would for a bad value (`stop -t x C`).
 */
export function leanInvocation(argv: readonly string[]): LeanInvocation | null {
  const [command, ...args] = argv;
  switch (command) {
    case 'ps': {
      const line = parseLine(args, PS);
      if (line === null || line.operands.length > 0) return null;
      const [format] = values(line, 'format');
      return {
        command: 'ps',
        options: {
          all: flag(line, 'all'),
          quiet: flag(line, 'quiet'),
          format: parseFormat(format),
          noTrunc: flag(line, 'no-trunc'),
          filters: values(line, 'filter').map(parsePsFilter),
        },
      };
    }
    case 'stop': {
      const line = parseLine(args, STOP);
      if (line === null || line.operands.length === 0) return null;
      return { command: 'stop', containers: line.operands, timeout: timeout(line) };
    }
    case 'rm': {
      const line = parseLine(args, RM);
      if (line === null || line.operands.length === 0) return null;
      return { command: 'rm', containers: line.operands, force: flag(line, 'force'), volumes: flag(line, 'volumes'), timeout: timeout(line) };
    }
    default:
      return null;
  }
}
