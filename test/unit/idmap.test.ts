import { describe, expect, it } from 'vitest';
import { buildIdRanges, CONTAINER_ID_COUNT, parseSubordinateFile } from '../../src/sys/idmap.js';

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

  it('maps root to the own id and 1..65536 to a single subordinate range of 65536', () => {
    expect(buildIdRanges(1000, [{ start: 100000, count: 65536 }])).toEqual([
      { inside: 0, outside: 1000, count: 1 },
      { inside: 1, outside: 100000, count: 65536 },
    ]);
  });

  it('fills the container ids from every range, in order, beyond 65536 (as podman)', () => {
    const ranges = buildIdRanges(1000, [
      { start: 100000, count: 30000 },
      { start: 200000, count: 30000 },
      { start: 300000, count: 30000 },
      { start: 400000, count: 10 },
    ]);
    expect(ranges).toEqual([
      { inside: 0, outside: 1000, count: 1 },
      { inside: 1, outside: 100000, count: 30000 },
      { inside: 30001, outside: 200000, count: 30000 },
      { inside: 60001, outside: 300000, count: 30000 },
      { inside: 90001, outside: 400000, count: 10 },
    ]);
    expect(total(ranges)).toBeGreaterThan(CONTAINER_ID_COUNT);
  });

  it('uses less than 65536 ids when the ranges are small', () => {
    const ranges = buildIdRanges(1000, [{ start: 100000, count: 10 }, { start: 200000, count: 5 }]);
    expect(ranges).toEqual([
      { inside: 0, outside: 1000, count: 1 },
      { inside: 1, outside: 100000, count: 10 },
      { inside: 11, outside: 200000, count: 5 },
    ]);
  });

  it('maps only root without subordinate ranges', () => {
    expect(buildIdRanges(1000, [])).toEqual([{ inside: 0, outside: 1000, count: 1 }]);
  });
});
