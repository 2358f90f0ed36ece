/**
 * COPY's source wildcards, as Go's filepath.Match reads them one path component at a
 * time: `*` any run of characters, `?` one, `[…]` a class (`[!…]` negated). Pure.
 */

export function hasWildcard(path: string): boolean {
  return /[*?[]/.test(path);
}

/** A regex matching one path component (a name) against `part`. */
export function componentRegex(part: string): RegExp {
  let out = '^';
  for (let i = 0; i < part.length; i++) {
    const ch = part[i]!;
    if (ch === '*') out += '.*';
    else if (ch === '?') out += '.';
    else if (ch === '[') {
      const end = part.indexOf(']', i + 2);
      if (end < 0) out += '\\[';
      else {
        let cls = part.slice(i + 1, end);
        if (cls.startsWith('!')) cls = `^${cls.slice(1)}`;
        out += `[${cls}]`;
        i = end;
      }
    } else out += /[.+^${}()|\\]/.test(ch) ? `\\${ch}` : ch;
  }
  return new RegExp(`${out}$`);
}
