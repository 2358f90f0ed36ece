import { posix } from 'node:path';

/**
 * `.containerignore` / `.dockerignore` by Docker's rules: one pattern a line, `#` lines
 * are comments, `!` makes an exception; patterns are cleaned paths relative to the context
 * (a leading `/` means the same), `*` and `?` do not cross `/`, `**` matches any number of
 * directories, `[…]` is a class and `\` escapes. A path is excluded when the last pattern
 * that matches it or one of its parent directories is not an exception. Pure.
 */

interface Pattern {
  readonly exception: boolean;
  readonly regex: RegExp;
}

function toRegex(pattern: string): RegExp {
  let out = '^';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '*') {
      if (pattern[i + 1] === '*') {
        i++;
        // `**/` also matches no directory at all.
        if (pattern[i + 1] === '/') {
          i++;
          out += '(?:.*/)?';
        } else {
          out += '.*';
        }
      } else {
        out += '[^/]*';
      }
    } else if (ch === '?') {
      out += '[^/]';
    } else if (ch === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) {
        out += '\\[';
        continue;
      }
      let cls = pattern.slice(i + 1, end);
      if (cls.startsWith('!') || cls.startsWith('^')) cls = `^${cls.slice(1)}`;
      out += `[${cls.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else if (ch === '\\' && i + 1 < pattern.length) {
      i++;
      out += escapeRegex(pattern[i]!);
    } else {
      out += escapeRegex(ch);
    }
  }
  return new RegExp(`${out}$`);
}

function escapeRegex(ch: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(ch) ? `\\${ch}` : ch;
}

function clean(pattern: string): string {
  const normal = posix.normalize(pattern).replace(/^\/+/, '').replace(/\/+$/, '');
  return normal === '' ? '.' : normal;
}

export class IgnoreMatcher {
  private readonly patterns: readonly Pattern[];

  constructor(lines: readonly string[]) {
    this.patterns = lines.flatMap((raw): Pattern[] => {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) return [];
      const exception = line.startsWith('!');
      const text = clean(exception ? line.slice(1).trim() : line);
      return [{ exception, regex: toRegex(text) }];
    });
  }

  static parse(text: string): IgnoreMatcher {
    return new IgnoreMatcher(text.split(/\r?\n/));
  }

  /** Whether `path` (relative to the context, `/`-separated) is left out of the build. */
  excludes(path: string): boolean {
    const rel = clean(path);
    if (rel === '.') return false;
    const parts = rel.split('/');
    let excluded = false;
    for (const pattern of this.patterns) {
      if (pattern.exception !== excluded) continue;
      // The pattern matches the path itself or one of its parent directories.
      for (let n = 1; n <= parts.length; n++) {
        if (pattern.regex.test(parts.slice(0, n).join('/'))) {
          excluded = !pattern.exception;
          break;
        }
      }
    }
    return excluded;
  }
}
