import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OP_ARITY, PROTOCOL_VERSION } from '../../src/plan/protocol.js';

/** The C side of the op table (docs/protocol.md): the NOOK_OPS X-macro in native/src/protocol.h. */
const HEADER = join(import.meta.dirname, '..', '..', 'native', 'src', 'protocol.h');

interface COp {
  readonly ident: string;
  readonly name: string;
  readonly arity: number;
}

function readHeader(): string {
  if (!existsSync(HEADER)) throw new Error(`${HEADER} is missing: the C op table must exist for this check`);
  return readFileSync(HEADER, 'utf8');
}

/** The X(...) entries of `#define NOOK_OPS(X)`, which runs to the first line without a trailing backslash. */
function parseOps(header: string): COp[] {
  const lines = header.split('\n');
  const start = lines.findIndex((l) => /^\s*#\s*define\s+NOOK_OPS\s*\(\s*X\s*\)/.test(l));
  if (start < 0) throw new Error('protocol.h has no "#define NOOK_OPS(X)"');
  let body = '';
  for (let i = start; i < lines.length; i++) {
    const line = lines[i]!;
    body += `${line.replace(/\\\s*$/, '')}\n`;
    if (!/\\\s*$/.test(line)) break;
  }
  body = body.replace(/\/\*[\s\S]*?\*\//g, '');
  return [...body.matchAll(/\bX\(\s*(NOOK_OP_\w+)\s*,\s*"([^"]*)"\s*,\s*(-?\d+)\s*\)/g)].map((m) => ({
    ident: m[1]!,
    name: m[2]!,
    arity: Number(m[3]),
  }));
}

describe('the op table agrees between native/src/protocol.h and src/plan/protocol.ts', () => {
  it('has the same ops with the same arities', () => {
    const ops = parseOps(readHeader());
    expect(ops.length).toBeGreaterThan(0);
    const cTable = Object.fromEntries(ops.map((op) => [op.name, op.arity]));
    expect(cTable).toEqual(OP_ARITY);
  });

  it('names every op and every enum constant once', () => {
    const ops = parseOps(readHeader());
    expect(new Set(ops.map((op) => op.name)).size).toBe(ops.length);
    expect(new Set(ops.map((op) => op.ident)).size).toBe(ops.length);
  });

  it('has the same protocol version', () => {
    const m = /^\s*#\s*define\s+NOOK_PROTOCOL_VERSION\s+"?([^"\s]+)"?/m.exec(readHeader());
    expect(m, 'protocol.h defines NOOK_PROTOCOL_VERSION').not.toBeNull();
    expect(m![1]).toBe(PROTOCOL_VERSION);
  });
});
