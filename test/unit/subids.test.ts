import { describe, expect, it } from 'vitest';
import { freeStart, overlapsOf, parseSubordinateEntries, usermodFix } from '../../src/sys/subids.js';

const FILE = ['alice:100000:65536', 'bob:165536:65536', '1003:200000:10000', '#carol:1:1', 'junk', 'dave:300000:0', ''].join('\n');

describe('subordinate id files', () => {
  it('reads every owner\'s ranges, skipping comments, junk and empty ranges', () => {
    expect(parseSubordinateEntries(FILE)).toEqual([
      { owner: 'alice', start: 100000, count: 65536 },
      { owner: 'bob', start: 165536, count: 65536 },
      { owner: '1003', start: 200000, count: 10000 },
    ]);
  });

  it("finds other users' ranges that overlap the user's, by name or uid", () => {
    const entries = parseSubordinateEntries(FILE);
    expect(overlapsOf(entries, { name: 'alice', id: 1001 })).toEqual([]);
    expect(overlapsOf(entries, { name: 'bob', id: 1002 })).toEqual([{ owner: '1003', start: 200000, count: 10000 }]);
    expect(overlapsOf(entries, { name: 'erin', id: 1003 })).toEqual([{ owner: 'bob', start: 165536, count: 65536 }]);
  });

  it('proposes a range after every existing one, in whole blocks of 65536', () => {
    const entries = parseSubordinateEntries(FILE);
    expect(freeStart([])).toBe(100000);
    expect(freeStart(entries)).toBe(231072);
    expect(usermodFix('erin', 65536, entries)).toBe('usermod --add-subuids 231072-296607 --add-subgids 231072-296607 erin');
    expect(usermodFix('alice', 4464, entries)).toBe('usermod --add-subuids 231072-296607 --add-subgids 231072-296607 alice');
    expect(usermodFix('alice', 70000, entries)).toBe('usermod --add-subuids 231072-362143 --add-subgids 231072-362143 alice');
  });
});
