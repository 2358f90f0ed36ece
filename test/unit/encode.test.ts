import { describe, expect, it } from 'vitest';
import { capabilityMask, DEFAULT_CAPABILITIES } from '../../src/plan/capabilities.js';
import { compilePlan } from '../../src/plan/compile.js';
import { encodePlan, opFields } from '../../src/plan/encode.js';
import { OP_ARITY, type OpName } from '../../src/plan/protocol.js';
import { decodeNetstrings } from '../../src/runtime/report.js';
import { makeSpec, SINGLE_MAP } from './spec-fixture.js';

/** Splits decoded fields into records the way the runtime does: op name, then its arity's fields. */
function records(fields: readonly string[]): string[][] {
  const out: string[][] = [];
  let i = 0;
  while (i < fields.length) {
    const name = fields[i]!;
    expect(Object.keys(OP_ARITY), `op at field ${i}`).toContain(name);
    let arity: number = OP_ARITY[name as OpName];
    if (arity < 0) {
      const argc = Number(fields[i + 1]);
      const envc = Number(fields[i + 2 + argc]);
      arity = 2 + argc + envc;
    }
    expect(i + 1 + arity, `record ${name} is complete`).toBeLessThanOrEqual(fields.length);
    out.push(fields.slice(i, i + 1 + arity));
    i += 1 + arity;
  }
  return out;
}

describe('encodePlan', () => {
  it('encodes a tiny plan to the exact bytes', () => {
    const bytes = encodePlan([{ op: 'pivot-root' }, { op: 'chdir', path: '/' }]);
    expect(bytes.toString('utf8')).toBe('9:nook-plan,1:1,10:pivot-root,5:chdir,1:/,3:end,');
  });

  it('frames every plan with `nook-plan 1` first and `end` last', () => {
    const plan = compilePlan(makeSpec());
    const recs = records(decodeNetstrings(encodePlan(plan))!);
    expect(recs[0]).toEqual(['nook-plan', '1']);
    expect(recs.at(-1)).toEqual(['end']);
    expect(recs.filter((r) => r[0] === 'end')).toHaveLength(1);
    expect(recs.slice(1, -1).map((r) => r[0])).toEqual(plan.map((op) => op.op));
  });

  it('gives every record of a compiled plan its exact arity', () => {
    for (const spec of [makeSpec(), makeSpec({ network: { kind: 'host' }, readOnly: true, noNewPrivs: true, uidMap: SINGLE_MAP(1000), gidMap: SINGLE_MAP(1000) })]) {
      const recs = records(decodeNetstrings(encodePlan(compilePlan(spec)))!);
      for (const [name, ...args] of recs) {
        const arity = OP_ARITY[name as OpName];
        if (arity >= 0) expect(args, name).toHaveLength(arity);
      }
    }
  });

  it('encodes a seccomp program as lowercase hex and a sysctl as path and value', () => {
    const bpf = Uint8Array.from([0x20, 0, 0, 0, 0x04, 0, 0, 0, 0x06, 0, 0, 0, 0, 0, 0xff, 0x7f]);
    expect(opFields({ op: 'seccomp', bpf })).toEqual(['2000000004000000060000000000ff7f']);
    expect(opFields({ op: 'seccomp', bpf: bpf.subarray(8) })).toEqual(['060000000000ff7f']);
    expect(opFields({ op: 'sysctl', path: '/proc/sys/kernel/shmmax', value: '1 2' })).toEqual(['/proc/sys/kernel/shmmax', '1 2']);
  });

  it('measures fields in bytes, not characters', () => {
    const bytes = encodePlan([{ op: 'sethostname', hostname: 'é' }, { op: 'chdir', path: '/日本/🙂' }]);
    // é: 2 bytes; "/日本/🙂": 1 + 3 + 3 + 1 + 4 = 12 bytes.
    expect(bytes.includes(Buffer.from('2:é,'))).toBe(true);
    expect(bytes.includes(Buffer.from('12:/日本/🙂,'))).toBe(true);
    expect(decodeNetstrings(bytes)).toEqual(['nook-plan', '1', 'sethostname', 'é', 'chdir', '/日本/🙂', 'end']);
  });

  it('refuses a NUL byte in any field', () => {
    expect(() => encodePlan([{ op: 'chdir', path: '/a\0b' }])).toThrow(/NUL/);
    expect(() => encodePlan([{ op: 'exec', argv: ['sh'], env: ['A=\0'] }])).toThrow(/NUL/);
  });

  it('encodes an empty field as 0:,', () => {
    expect(encodePlan([{ op: 'remount-ro', path: '/', flags: [] }]).toString()).toContain('10:remount-ro,1:/,0:,');
  });
});

describe('opFields', () => {
  it('prefixes exec argv and env with their counts', () => {
    expect(opFields({ op: 'exec', argv: ['sh', '-c', 'echo hi'], env: ['A=1'] })).toEqual(['3', 'sh', '-c', 'echo hi', '1', 'A=1']);
    expect(opFields({ op: 'exec', argv: ['true'], env: [] })).toEqual(['1', 'true', '0']);
  });

  it('writes mkdir modes as four octal digits', () => {
    expect(opFields({ op: 'mkdir', path: '/tmp', mode: 0o1777 })).toEqual(['/tmp', '1777']);
    expect(opFields({ op: 'mkdir', path: '/proc', mode: 0o755 })).toEqual(['/proc', '0755']);
  });

  it('writes capability masks in hex', () => {
    const caps = capabilityMask(DEFAULT_CAPABILITIES);
    expect(opFields({ op: 'cap-bounding', caps })).toEqual(['800405fb']);
    expect(opFields({ op: 'cap-set', caps: 0n })).toEqual(['0']);
  });

  it('writes id maps as helper and space-separated triples, an absent helper as empty', () => {
    expect(opFields({ op: 'uid-map', map: makeSpec().uidMap })).toEqual(['/usr/bin/newuidmap', '0 1000 1 1 100000 65536']);
    expect(opFields({ op: 'gid-map', map: SINGLE_MAP(1000) })).toEqual(['', '0 1000 1']);
  });

  it('joins lists with commas', () => {
    expect(opFields({ op: 'namespaces', namespaces: ['user', 'mount', 'pid'] })).toEqual(['user,mount,pid']);
    expect(opFields({ op: 'user', uid: 1000, gid: 100, groups: [10, 29] })).toEqual(['1000', '100', '10,29']);
    expect(opFields({ op: 'user', uid: 0, gid: 0, groups: [] })).toEqual(['0', '0', '']);
    expect(opFields({ op: 'bind', source: '/s', path: '/p', flags: ['rec', 'ro'] })).toEqual(['/s', '/p', 'rec,ro']);
    expect(opFields({ op: 'mount', fstype: 'tmpfs', source: 'tmpfs', path: '/run', flags: ['nosuid', 'nodev'], data: 'mode=755' })).toEqual([
      'tmpfs', 'tmpfs', '/run', 'nosuid,nodev', 'mode=755',
    ]);
  });
});

describe('encodePlan overlay-rootfs', () => {
  it('joins the layers with colons, topmost first', () => {
    const overlay = { lowerDirs: ['/l/top', '/l/bottom'], upperDir: '/u', workDir: '/w', target: '/m' };
    expect(opFields({ op: 'overlay-rootfs', overlay })).toEqual(['/l/top:/l/bottom', '/u', '/w', '/m']);
  });

  it('refuses a layer path that would break the field or overlay options', () => {
    const overlay = { lowerDirs: ['/l/a:b'], upperDir: '/u', workDir: '/w', target: '/m' };
    expect(() => opFields({ op: 'overlay-rootfs', overlay })).toThrow(/contains ':' or ','/);
  });
});
