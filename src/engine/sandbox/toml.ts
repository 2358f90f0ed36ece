import { parse } from 'smol-toml';

/** TOML's parser, in a module of its own: loaded only when a sandbox.toml exists. */
export function parseToml(text: string): unknown {
  return parse(text);
}
