/**
 * Variable expansion in Containerfile words, by Docker's rules (its shell lexer, not a
 * shell): `$VAR`, `${VAR}`, `${VAR:-word}`, `${VAR-word}`, `${VAR:+word}`, `${VAR+word}`,
 * `${VAR:?message}`; single quotes keep everything literal; in double quotes the escape
 * character only escapes `"`, `$` and itself; outside quotes it makes the next character
 * literal (`\$HOME` stays `$HOME`). Unset variables expand to nothing. Pure.
 */

export class ExpansionError extends Error {}

/** Variables in scope: build args and ENV, later ones win. */
export type Variables = ReadonlyMap<string, string>;

const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;

class Lexer {
  private pos = 0;

  constructor(
    private readonly text: string,
    private readonly vars: Variables,
    private readonly escape: string,
  ) {}

  private peek(): string | undefined {
    return this.text[this.pos];
  }

  /**
   * Reads words up to the end (or a character in `stopOn`, unquoted), splitting on
   * unquoted whitespace when `split`. Returns the words and whether any text was seen.
   */
  words(split: boolean, stopOn = ''): string[] {
    const words: string[] = [];
    let word = '';
    let inWord = false;
    for (;;) {
      const ch = this.peek();
      if (ch === undefined || stopOn.includes(ch)) break;
      if (split && /\s/.test(ch)) {
        this.pos++;
        if (inWord) words.push(word);
        word = '';
        inWord = false;
        continue;
      }
      inWord = true;
      if (ch === this.escape) {
        this.pos++;
        const next = this.peek();
        if (next === undefined) {
          word += ch;
          break;
        }
        word += next;
        this.pos++;
      } else if (ch === "'") {
        word += this.singleQuoted();
      } else if (ch === '"') {
        word += this.doubleQuoted();
      } else if (ch === '$') {
        const value = this.variable();
        if (!split) {
          word += value;
          continue;
        }
        // An unquoted expansion is split into words too, as Docker's lexer does.
        const [head, ...tail] = value.split(/[ \t\n]+/);
        word += head;
        for (const piece of tail) {
          if (word !== '') words.push(word);
          word = piece;
        }
        inWord = word !== '' || tail.length === 0;
      } else {
        word += ch;
        this.pos++;
      }
    }
    if (inWord || (!split && words.length === 0)) words.push(word);
    return words;
  }

  private singleQuoted(): string {
    this.pos++;
    const end = this.text.indexOf("'", this.pos);
    if (end < 0) throw new ExpansionError('unexpected end of text: a single quote is not closed');
    const value = this.text.slice(this.pos, end);
    this.pos = end + 1;
    return value;
  }

  private doubleQuoted(): string {
    this.pos++;
    let value = '';
    for (;;) {
      const ch = this.peek();
      if (ch === undefined) throw new ExpansionError('unexpected end of text: a double quote is not closed');
      this.pos++;
      if (ch === '"') return value;
      if (ch === this.escape) {
        const next = this.peek();
        if (next === '"' || next === '$' || next === this.escape) {
          value += next;
          this.pos++;
        } else {
          value += ch;
        }
      } else if (ch === '$') {
        this.pos--;
        value += this.variable();
      } else {
        value += ch;
      }
    }
  }

  private name(): string {
    let name = '';
    while (this.peek() !== undefined && NAME_CHAR.test(this.peek()!)) name += this.text[this.pos++];
    return name;
  }

  /** At a `$`: its expansion (a lone `$` stays itself). */
  private variable(): string {
    this.pos++;
    const ch = this.peek();
    if (ch === '{') {
      this.pos++;
      const name = this.name();
      if (name === '') throw new ExpansionError('bad substitution: ${} needs a variable name');
      const op = this.peek();
      if (op === '}') {
        this.pos++;
        return this.vars.get(name) ?? '';
      }
      let modifier = '';
      if (op === ':') {
        modifier = ':';
        this.pos++;
      }
      const kind = this.peek();
      if (kind !== '-' && kind !== '+' && kind !== '?') throw new ExpansionError(`unsupported modifier "${modifier}${kind ?? ''}" in \${${name}…}`);
      this.pos++;
      const word = this.words(false, '}').join('');
      if (this.peek() !== '}') throw new ExpansionError(`\${${name}…} is not closed with }`);
      this.pos++;
      const value = this.vars.get(name);
      const set = modifier === ':' ? value !== undefined && value !== '' : value !== undefined;
      if (kind === '-') return set ? value! : word;
      if (kind === '+') return set ? word : '';
      if (!set) throw new ExpansionError(`${name}: ${word || 'is not set'}`);
      return value!;
    }
    if (ch !== undefined && NAME_START.test(ch)) return this.vars.get(this.name()) ?? '';
    return '$';
  }
}

/** One word: quotes removed, variables expanded, whitespace kept. */
export function expandWord(text: string, vars: Variables, escape = '\\'): string {
  return new Lexer(text, vars, escape).words(false).join('');
}

/** Words separated by unquoted whitespace, each expanded (COPY sources, EXPOSE ports, ENV pairs). */
export function expandWords(text: string, vars: Variables, escape = '\\'): string[] {
  return new Lexer(text, vars, escape).words(true);
}

/**
 * `KEY=VALUE …` pairs (ENV, LABEL, ARG), or the old `KEY VALUE WITH SPACES` form (ENV and
 * LABEL only) when the first word has no `=`.
 */
export function expandPairs(text: string, vars: Variables, escape: string, legacy: boolean): [string, string][] {
  const firstWord = /^\S+/.exec(text)?.[0] ?? '';
  if (legacy && !firstWord.includes('=')) {
    const key = firstWord;
    const rest = text.slice(firstWord.length).trim();
    if (rest === '') throw new ExpansionError(`${key} needs a value: KEY=VALUE or KEY VALUE`);
    return [[key, expandWord(rest, vars, escape)]];
  }
  return expandWords(text, vars, escape).map((word) => {
    const eq = word.indexOf('=');
    if (eq <= 0) {
      if (legacy) throw new ExpansionError(`"${word}" is not KEY=VALUE`);
      return [word, ''];
    }
    return [word.slice(0, eq), word.slice(eq + 1)];
  });
}

/**
 * ARG's words: `NAME` or `NAME=default`. The name is never expanded; the default is.
 * A NAME with no `=` is returned with a null default.
 */
export function parseArgs(text: string, vars: Variables, escape: string): [string, string | null][] {
  return expandWords(text, vars, escape).map((word) => {
    const eq = word.indexOf('=');
    return eq < 0 ? [word, null] : [word.slice(0, eq), word.slice(eq + 1)];
  });
}
