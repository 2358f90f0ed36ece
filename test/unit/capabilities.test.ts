import { describe, expect, it } from 'vitest';
import { CAPABILITIES, capabilityMask, capabilityNames, DEFAULT_CAPABILITIES } from '../../src/plan/capabilities.js';

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
});
