import { describe, expect, it } from 'vitest';
import { buildIdRanges, parseSubordinateFile } from '../../src/sys/idmap.js';

const SUBUID = [
  '# managed by useradd',
  'alice:100000:65536',
  'bob:165536:65536',
  '1000:300000:10',
  'garbage',
  'alice:notanumber:5',
  'alice:500000:0',
  'alice:-5:10',
  '  alice:400000:20  \r',
  '#alice:900000:10',
  '',
].join('\n');

describe('parseSubordinateFile', () => {
  it('returns the ranges listed under the user name and the numeric id, in file order', () => {
    expect(parseSubordinateFile(SUBUID, { name: 'alice', id: 1000 })).toEqual([
      { start: 100000, count: 65536 },
      { start: 300000, count: 10 },
      { start: 400000, count: 20 },
    ]);
  });

  it('matches a numeric owner by id alone', () => {
    expect(parseSubordinateFile(SUBUID, { name: 'carol', id: 1000 })).toEqual([{ start: 300000, count: 10 }]);
  });

  it("ignores other users' ranges", () => {
    expect(parseSubordinateFile(SUBUID, { name: 'bob', id: 1001 })).toEqual([{ start: 165536, count: 65536 }]);
    expect(parseSubordinateFile(SUBUID, { name: 'mallory', id: 4242 })).toEqual([]);
  });

  it('does not take a name prefix or a commented line as a match', () => {
    expect(parseSubordinateFile('alice2:1:5\n#alice:1:5\n', { name: 'alice', id: 1000 })).toEqual([]);
  });

  it('skips ranges whose numbers are empty, hex or exponents', () => {
    const text = ['dave::65536', 'dave:0x10:65536', 'dave:1e5:65536', 'dave:100000:0x10', 'dave:200000:65536'].join('\n');
    expect(parseSubordinateFile(text, { name: 'dave', id: 1001 })).toEqual([{ start: 200000, count: 65536 }]);
  });

  it('handles an empty file', () => {
    expect(parseSubordinateFile('', { name: 'alice', id: 1000 })).toEqual([]);
  });
});

describe('buildIdRanges', () => {
  const total = (ranges: readonly { count: number }[]): number => ranges.reduce((n, r) => n + r.count, 0);

  it('maps root to the own id and the whole subordinate range after it, as podman', () => {
    expect(buildIdRanges(1000, [{ start: 100000, count: 65536 }])).toEqual([
      { inside: 0, outside: 1000, count: 1 },
      { inside: 1, outside: 100000, count: 65536 },
    ]);
  });

  it('maps every range, in file order, however many ids they hold', () => {
    const ranges = buildIdRanges(1000, [
      { start: 100000, count: 30000 },
      { start: 200000, count: 1_000_000 },
      { start: 1_300_000, count: 10 },
    ]);
    expect(ranges).toEqual([
      { inside: 0, outside: 1000, count: 1 },
      { inside: 1, outside: 100000, count: 30000 },
      { inside: 30001, outside: 200000, count: 1_000_000 },
      { inside: 1_030_001, outside: 1_300_000, count: 10 },
    ]);
    expect(total(ranges)).toBe(1 + 30000 + 1_000_000 + 10);
  });

  it('leaves out a range that overlaps one already mapped (the kernel refuses overlaps)', () => {
    expect(buildIdRanges(1000, [{ start: 100000, count: 65536 }, { start: 100000, count: 65536 }, { start: 150000, count: 10 }, { start: 500, count: 501 }])).toEqual([
      { inside: 0, outside: 1000, count: 1 },
      { inside: 1, outside: 100000, count: 65536 },
    ]);
  });

  it('stops below (uid_t)-1 and at the kernel limit of 340 lines', () => {
    const capped = buildIdRanges(0, [{ start: 100000, count: 0xffffffff }, { start: 1, count: 999 }]);
    expect(capped).toEqual([
      { inside: 0, outside: 0, count: 1 },
      { inside: 1, outside: 100000, count: 0xfffffffe },
    ]);
    const many = buildIdRanges(1000, Array.from({ length: 400 }, (_, i) => ({ start: 100000 + i * 10, count: 10 })));
    expect(many).toHaveLength(340);
  });

  it('maps only root without subordinate ranges', () => {
    expect(buildIdRanges(1000, [])).toEqual([{ inside: 0, outside: 1000, count: 1 }]);
  });
});
