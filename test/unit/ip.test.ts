import { isIP } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ipVersion } from '../../src/net/ip.js';

describe('ipVersion', () => {
  it('tells the families node:net tells', () => {
    const cases: [string, 0 | 4 | 6][] = [
      ['127.0.0.1', 4], ['255.255.255.255', 4], ['0.0.0.0', 4], ['256.1.1.1', 0], ['01.2.3.4', 0], ['1.2.3', 0], ['1.2.3.4.', 0],
      ['::', 6], ['::1', 6], ['fe80::1%eth0', 6], ['2001:db8::8a2e:370:7334', 6], ['1:2:3:4:5:6:7:8', 6], ['::ffff:192.0.2.1', 6],
      ['1:2:3:4:5:6:7:8:9', 0], ['1::2::3', 0], [':1::', 0], ['1:2:3:4:5:6:7::8', 0], ['12345::', 0], ['1.2.3.4::', 0], ['', 0], ['host-gateway', 0],
    ];
    for (const [text, version] of cases) {
      expect([text, ipVersion(text)]).toEqual([text, version]);
      expect([text, isIP(text)]).toEqual([text, version]);
    }
  });

  it('agrees with node:net on strings made of address parts', () => {
    const parts = ['0', '1', 'f', 'F', 'g', ':', ':', '.', '255', '256', '01', '%', 'eth0', '::', '1.2.3.4', 'ffff', '12345'];
    let seed = 1;
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return Math.floor((seed / 2 ** 31) * n);
    };
    const differ: string[] = [];
    let addresses = 0;
    for (let i = 0; i < 100_000; i++) {
      let text = '';
      for (let j = next(10); j >= 0; j--) text += parts[next(parts.length)];
      if (isIP(text) !== 0) addresses++;
      if (isIP(text) !== ipVersion(text)) differ.push(text);
    }
    expect(differ).toEqual([]);
    expect(addresses).toBeGreaterThan(1000);
  });
});
