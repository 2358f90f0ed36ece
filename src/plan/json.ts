import type { Op } from './ops.js';

/** JSON.stringify's replacer for ops: capability masks as hex, a seccomp program as hex bytes (as on the wire). */
function opValue(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString(16);
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex');
  return value;
}

/** A plan (and what goes with it) as JSON text, for tools: `--explain --format json`. */
export function planJson(document: { readonly ops: readonly Op[] } & Record<string, unknown>): string {
  return JSON.stringify(document, opValue, 2);
}
