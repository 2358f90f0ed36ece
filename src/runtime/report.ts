import { getSystemErrorMap } from 'node:util';

/** The runtime's failure record from fd 4 (docs/protocol.md, Reports). */
export interface RuntimeReport {
  /** Index of the failing op in the plan, -1 before the first op. */
  readonly opIndex: number;
  readonly opName: string;
  readonly errno: number;
  readonly detail: string;
}

/** Splits `<len>:<bytes>,` fields; returns null on anything malformed. */
export function decodeNetstrings(data: Buffer): string[] | null {
  const fields: string[] = [];
  let pos = 0;
  while (pos < data.length) {
    const colon = data.indexOf(0x3a, pos);
    if (colon < 0) return null;
    const lenText = data.subarray(pos, colon).toString('ascii');
    if (!/^[0-9]{1,8}$/.test(lenText)) return null;
    const end = colon + 1 + Number(lenText);
    if (end >= data.length || data[end] !== 0x2c) return null;
    fields.push(data.subarray(colon + 1, end).toString('utf8'));
    pos = end + 1;
  }
  return fields;
}

export function decodeReport(data: Buffer): RuntimeReport | null {
  if (data.length === 0) return null;
  const fields = decodeNetstrings(data);
  if (fields === null || fields.length < 5 || fields[0] !== 'error') {
    return { opIndex: -1, opName: 'runtime', errno: 0, detail: `unreadable report from nook-runtime: ${JSON.stringify(data.toString('utf8').slice(0, 200))}` };
  }
  return { opIndex: Number(fields[1]), opName: fields[2]!, errno: Number(fields[3]), detail: fields[4]! };
}

export function errnoMessage(errno: number): string {
  const entry = getSystemErrorMap().get(-errno);
  return entry ? `${entry[1]} (${entry[0]})` : `errno ${errno}`;
}
