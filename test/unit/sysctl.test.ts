import { describe, expect, it } from 'vitest';
import { parseSysctl } from '../../src/engine/container/sysctl.js';
import { UsageError } from '../../src/errors.js';

describe('--sysctl', () => {
  it('maps namespaced parameters to their /proc/sys file, with dots or slashes', () => {
    expect(parseSysctl('net.ipv4.ip_forward=1', 'none')).toEqual({ path: '/proc/sys/net/ipv4/ip_forward', value: '1' });
    expect(parseSysctl('net/ipv4/conf/eth0.100/forwarding=0', 'none')).toEqual({ path: '/proc/sys/net/ipv4/conf/eth0.100/forwarding', value: '0' });
    expect(parseSysctl('kernel.shmmax=68719476736', 'host')).toEqual({ path: '/proc/sys/kernel/shmmax', value: '68719476736' });
    expect(parseSysctl('kernel.sem=250 32000 32 128', 'none').value).toBe('250 32000 32 128');
    expect(parseSysctl('fs.mqueue.msg_max=20', 'none').path).toBe('/proc/sys/fs/mqueue/msg_max');
    expect(parseSysctl('kernel.domainname=example', 'none').path).toBe('/proc/sys/kernel/domainname');
  });

  it("refuses the host's parameters, net.* with the host network, and malformed items", () => {
    for (const [item, network] of [
      ['kernel.core_pattern=x', 'none'], ['vm.swappiness=1', 'none'], ['kernel.hostname=x', 'none'], ['fs.file-max=1', 'none'],
      ['net.ipv4.ip_forward=1', 'host'], ['net.ipv4.ip_forward', 'none'], ['net/../kernel/core_pattern=x', 'none'],
      ['net..ipv4=1', 'none'], ['=1', 'none'], ['net.ipv4.ip_forward=1\n2', 'none'],
    ] as const) {
      expect(() => parseSysctl(item, network), item).toThrow(UsageError);
    }
  });
});
