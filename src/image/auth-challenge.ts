/**
 * WWW-Authenticate parsing (RFC 9110 §11.6.1), as registries send it:
 *   Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"
 *   Basic realm="Registry Realm"
 * One header may carry several challenges, and quoted values may contain commas and
 * escaped quotes, so this is a small scanner rather than a split on ",".
 */
export interface Challenge {
  /** Lowercased: `bearer`, `basic`. */
  readonly scheme: string;
  /** Parameter names lowercased; values unquoted. */
  readonly params: Readonly<Record<string, string>>;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/;

export function parseChallenges(header: string): Challenge[] {
  const challenges: Challenge[] = [];
  let rest = header;
  const skip = (re: RegExp) => (rest = rest.replace(re, ''));

  while (true) {
    skip(/^[\s,]+/);
    const scheme = TOKEN.exec(rest)?.[0];
    if (scheme === undefined) break;
    rest = rest.slice(scheme.length);
    const params: Record<string, string> = {};
    while (true) {
      const saved = rest;
      skip(/^[\s,]+/);
      const name = TOKEN.exec(rest)?.[0];
      if (name === undefined) break;
      const afterName = rest.slice(name.length).replace(/^\s*/, '');
      // A token not followed by "=" starts the next challenge.
      if (!afterName.startsWith('=')) {
        rest = saved;
        break;
      }
      rest = afterName.slice(1).replace(/^\s*/, '');
      let value: string;
      if (rest.startsWith('"')) {
        const quoted = /^"((?:[^"\\]|\\.)*)"/.exec(rest);
        if (quoted === null) {
          // Unterminated: take the rest, unescaped, rather than drop the challenge.
          value = rest.slice(1).replace(/\\(.)/g, '$1');
          rest = '';
        } else {
          value = quoted[1]!.replace(/\\(.)/g, '$1');
          rest = rest.slice(quoted[0].length);
        }
      } else {
        value = /^[^\s,]*/.exec(rest)![0];
        rest = rest.slice(value.length);
      }
      params[name.toLowerCase()] = value;
    }
    challenges.push({ scheme: scheme.toLowerCase(), params });
  }
  return challenges;
}
