import { describe, expect, it } from 'vitest';
import { CAPABILITIES, capabilityMask, capabilityNames, DEFAULT_CAPABILITIES, mergeCapabilities, parseCapabilityName } from '../../src/plan/capabilities.js';

describe('capabilities', () => {
  it("numbers capabilities as linux/capability.h does", () => {
    expect(CAPABILITIES.indexOf('CHOWN')).toBe(0);
    expect(CAPABILITIES.indexOf('NET_BIND_SERVICE')).toBe(10);
    expect(CAPABILITIES.indexOf('SYS_CHROOT')).toBe(18);
    expect(CAPABILITIES.indexOf('SYS_ADMIN')).toBe(21);
    expect(CAPABILITIES.indexOf('SETFCAP')).toBe(31);
    expect(CAPABILITIES.indexOf('CHECKPOINT_RESTORE')).toBe(40);
    expect(new Set(CAPABILITIES).size).toBe(CAPABILITIES.length);
  });

  it("gives podman's default set the mask 0x800405fb", () => {
    expect(capabilityMask(DEFAULT_CAPABILITIES)).toBe(0x800405fbn);
  });

  it('maps a mask back to the same names', () => {
    expect(new Set(capabilityNames(capabilityMask(DEFAULT_CAPABILITIES)))).toEqual(new Set(DEFAULT_CAPABILITIES));
    expect(capabilityNames((1n << BigInt(CAPABILITIES.length)) - 1n)).toEqual([...CAPABILITIES]);
    expect(capabilityNames(0n)).toEqual([]);
    expect(capabilityNames(1n << 21n)).toEqual(['SYS_ADMIN']);
  });

  it('round-trips every single capability', () => {
    for (const cap of CAPABILITIES) expect(capabilityNames(capabilityMask([cap]))).toEqual([cap]);
  });

  it('ignores duplicates and bits above the last capability', () => {
    expect(capabilityMask(['KILL', 'KILL'])).toBe(1n << 5n);
    expect(capabilityNames((1n << 63n) | 1n)).toEqual(['CHOWN']);
  });

  it('reads names with or without CAP_, in any case, and all', () => {
    expect(parseCapabilityName('net_admin')).toBe('NET_ADMIN');
    expect(parseCapabilityName('CAP_NET_RAW')).toBe('NET_RAW');
    expect(parseCapabilityName('cap_Sys_Admin')).toBe('SYS_ADMIN');
    expect(parseCapabilityName('all')).toBe('ALL');
    expect(parseCapabilityName('CAP_ALL')).toBe('ALL');
    expect(parseCapabilityName('bogus')).toBeNull();
    expect(parseCapabilityName('')).toBeNull();
  });

  it("merges --cap-add and --cap-drop as podman does", () => {
    expect(mergeCapabilities(DEFAULT_CAPABILITIES, [], [])).toEqual({ caps: CAPABILITIES.filter((c) => DEFAULT_CAPABILITIES.includes(c)) });
    expect(mergeCapabilities(DEFAULT_CAPABILITIES, [], ['ALL'])).toEqual({ caps: [] });
    expect(mergeCapabilities(DEFAULT_CAPABILITIES, ['NET_ADMIN'], ['ALL'])).toEqual({ caps: ['NET_ADMIN'] });
    expect(mergeCapabilities(DEFAULT_CAPABILITIES, ['ALL'], ['SYS_ADMIN'])).toEqual({ caps: CAPABILITIES.filter((c) => c !== 'SYS_ADMIN') });
    const added = mergeCapabilities(DEFAULT_CAPABILITIES, ['NET_RAW'], ['CHOWN']);
    expect('caps' in added && capabilityMask(added.caps)).toBe((0x800405fbn | (1n << 13n)) & ~1n);
  });

  it('reports a capability both added and dropped', () => {
    expect(mergeCapabilities(DEFAULT_CAPABILITIES, ['NET_RAW'], ['NET_RAW'])).toEqual({ clash: 'NET_RAW' });
    expect(mergeCapabilities(DEFAULT_CAPABILITIES, ['ALL'], ['ALL'])).toEqual({ clash: 'ALL' });
  });
});
