/**
 * The Containerfile parser: Docker's rules for parser directives (`# syntax`, `# escape`),
 * comments, line continuations, heredocs, `--flag=value` options and the JSON (exec) form.
 * Pure: text in, instructions out; nothing is expanded here (expand.ts does that per
 * instruction, with the variables in scope at that point of the build).
 */

/** A Containerfile that cannot be read as one: names the file and the line. */
export class ContainerfileError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${file}:${line}: ${reason}`);
    this.name = 'ContainerfileError';
  }
}

export interface Heredoc {
  /** The word after `<<` (quotes removed). */
  readonly name: string;
  readonly content: string;
  /** `<<"EOF"` / `<<'EOF'`: no variable expansion in the content. */
  readonly quoted: boolean;
  /** `<<-EOF`: leading tabs were stripped. */
  readonly stripTabs: boolean;
}

export interface Flag {
  readonly name: string;
  /** null for a bare `--flag`. */
  readonly value: string | null;
}

export interface Instruction {
  /** Upper case: FROM, RUN … */
  readonly keyword: string;
  /** The line the instruction starts on, from 1. */
  readonly line: number;
  /** The instruction as written, continuations joined: what the STEP lines show. */
  readonly text: string;
  readonly flags: readonly Flag[];
  /** What follows the keyword and its flags, continuations joined, trimmed. */
  readonly args: string;
  /** The exec form (`["a","b"]`) when args parse as a JSON array of strings. */
  readonly json: readonly string[] | null;
  readonly heredocs: readonly Heredoc[];
}

export interface Containerfile {
  readonly escape: '\\' | '`';
  readonly syntax: string | null;
  readonly instructions: readonly Instruction[];
}

export const KEYWORDS = [
  'ADD', 'ARG', 'CMD', 'COPY', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'FROM', 'HEALTHCHECK', 'LABEL',
  'MAINTAINER', 'ONBUILD', 'RUN', 'SHELL', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR',
] as const;

/** Instructions whose arguments may start with `--name=value` options. */
const FLAGGED = new Set(['ADD', 'COPY', 'FROM', 'RUN', 'HEALTHCHECK']);
/** Instructions that may carry heredocs. */
const HEREDOC_ALLOWED = new Set(['RUN', 'COPY', 'ADD']);

const DIRECTIVE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.*?)\s*$/;
const HEREDOC = /<<(-?)(["']?)([A-Za-z_][A-Za-z0-9_]*)\2/g;

interface Directives {
  escape: '\\' | '`';
  syntax: string | null;
  /** Index of the first line after the directives. */
  bodyStart: number;
}

function readDirectives(lines: readonly string[], file: string): Directives {
  const result: Directives = { escape: '\\', syntax: null, bodyStart: 0 };
  const seen = new Set<string>();
  for (let i = 0; i < lines.length; i++) {
    const match = DIRECTIVE.exec(lines[i]!);
    if (!match) return { ...result, bodyStart: i };
    const name = match[1]!.toLowerCase();
    const value = match[2]!;
    if (name !== 'escape' && name !== 'syntax' && name !== 'check') return { ...result, bodyStart: i };
    if (seen.has(name)) throw new ContainerfileError(file, i + 1, `the parser directive "${name}" is given twice`);
    seen.add(name);
    if (name === 'escape') {
      if (value !== '\\' && value !== '`') throw new ContainerfileError(file, i + 1, `invalid escape character "${value}": use \\ or \``);
      result.escape = value;
    } else if (name === 'syntax') {
      result.syntax = value;
    }
    result.bodyStart = i + 1;
  }
  return result;
}

function isComment(line: string): boolean {
  return /^\s*#/.test(line);
}

/** The line without its continuation marker, or null when it does not continue. */
function continued(line: string, escape: string): string | null {
  const trimmed = line.replace(/[ \t]+$/, '');
  if (!trimmed.endsWith(escape)) return null;
  // An escaped escape (`\\`) at the end is a literal one, not a continuation.
  let count = 0;
  for (let i = trimmed.length - 1; i >= 0 && trimmed[i] === escape; i--) count++;
  return count % 2 === 1 ? trimmed.slice(0, -1) : null;
}

function parseFlags(rest: string, keyword: string): { flags: Flag[]; args: string } {
  const flags: Flag[] = [];
  let args = rest;
  if (!FLAGGED.has(keyword)) return { flags, args };
  for (;;) {
    const match = /^--([A-Za-z][A-Za-z0-9-]*)(?:=((?:"[^"]*"|'[^']*'|\S)*))?(?:\s+|$)/.exec(args);
    if (!match) break;
    flags.push({ name: match[1]!, value: match[2] === undefined ? null : unquoteFlag(match[2]) });
    args = args.slice(match[0].length);
  }
  return { flags, args };
}

function unquoteFlag(value: string): string {
  return value.replace(/"([^"]*)"|'([^']*)'/g, (_m, a: string | undefined, b: string | undefined) => a ?? b ?? '');
}

function parseJson(args: string): string[] | null {
  if (!args.startsWith('[')) return null;
  try {
    const value: unknown = JSON.parse(args);
    return Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : null;
  } catch {
    return null;
  }
}

/**
 * Parses a Containerfile. `file` names it in errors. ONBUILD's inner instruction stays text
 * in args: it is parsed when the image is used in a FROM (parseInstructionLine).
 */
export function parseContainerfile(text: string, file: string): Containerfile {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const directives = readDirectives(lines, file);
  const { escape } = directives;
  const instructions: Instruction[] = [];
  let i = directives.bodyStart;
  while (i < lines.length) {
    const first = lines[i]!;
    if (first.trim() === '' || isComment(first)) {
      i++;
      continue;
    }
    const start = i + 1;
    // Join continuation lines; comment and empty lines inside one are dropped, as Docker does.
    let logical = '';
    let line: string | null = first;
    i++;
    for (;;) {
      const body = continued(line, escape);
      if (body === null) {
        logical += line;
        break;
      }
      logical += body;
      while (i < lines.length && (isComment(lines[i]!) || lines[i]!.trim() === '')) i++;
      if (i >= lines.length) break;
      line = lines[i]!;
      i++;
    }
    const match = /^\s*([A-Za-z]+)(?:\s+([\s\S]*))?$/.exec(logical);
    if (!match) throw new ContainerfileError(file, start, `cannot parse "${logical.trim()}" as an instruction`);
    const keyword = match[1]!.toUpperCase();
    if (!(KEYWORDS as readonly string[]).includes(keyword)) throw new ContainerfileError(file, start, `unknown instruction: ${match[1]}`);
    const rest = (match[2] ?? '').trim();
    const { flags, args } = parseFlags(rest, keyword);
    const heredocs: Heredoc[] = [];
    if (HEREDOC_ALLOWED.has(keyword)) {
      for (const h of args.matchAll(HEREDOC)) {
        const stripTabs = h[1] === '-';
        const name = h[3]!;
        const body: string[] = [];
        for (;;) {
          if (i >= lines.length) throw new ContainerfileError(file, start, `the heredoc <<${name} is not terminated by a line "${name}"`);
          const l = lines[i]!;
          i++;
          const content = stripTabs ? l.replace(/^\t+/, '') : l;
          if (content === name) break;
          body.push(content);
        }
        heredocs.push({ name, content: body.length === 0 ? '' : `${body.join('\n')}\n`, quoted: h[2] !== '', stripTabs });
      }
    }
    if (args === '' && keyword !== 'HEALTHCHECK') throw new ContainerfileError(file, start, `${keyword} requires at least one argument`);
    instructions.push({ keyword, line: start, text: `${keyword} ${rest}`.trim(), flags, args, json: parseJson(args), heredocs });
  }
  return { escape, syntax: directives.syntax, instructions };
}

/** An ONBUILD trigger (one instruction line) parsed as an instruction of the file that uses it. */
export function parseInstructionLine(line: string, file: string): Instruction {
  const parsed = parseContainerfile(line, file).instructions;
  if (parsed.length !== 1) throw new ContainerfileError(file, 1, `"${line}" is not one instruction`);
  return parsed[0]!;
}
