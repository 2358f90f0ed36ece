import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { overrideDns, parseResolvConf, renderResolvConf } from '../../src/net/dns.js';
import { LOCALHOST_LINES, parseAddHost, renderHosts } from '../../src/net/hosts.js';
import { DEFAULT_SLIRP_OPTIONS, parseNetwork } from '../../src/net/mode.js';
import { PASTA_DNS_FORWARD, pastaArgv } from '../../src/net/pasta.js';
import { describePorts, exposedPortMappings, parsePublish, portBindings, type PortMapping } from '../../src/net/ports.js';
import { hostForwardRequests, slirpAddresses, slirpArgv } from '../../src/net/slirp.js';
import { compileExecPlan, compilePlan } from '../../src/plan/compile.js';
import { encodePlan } from '../../src/plan/encode.js';
import { explainPlan } from '../../src/plan/explain.js';
import type { NetworkHelper, Op } from '../../src/plan/ops.js';
import { makeSpec } from './spec-fixture.js';

const tcp = (hostIp: string, hostPort: number, containerPort: number): PortMapping => ({ hostIp, hostPort, containerPort, protocol: 'tcp' });

describe('-p', () => {
  it('reads podman forms: port, host:container, ip:host:container, ip::container, [v6], ranges, udp', () => {
    expect(parsePublish('80')).toEqual([tcp('', 0, 80)]);
    expect(parsePublish('8080:80')).toEqual([tcp('', 8080, 80)]);
    expect(parsePublish('127.0.0.1:8080:80/tcp')).toEqual([tcp('127.0.0.1', 8080, 80)]);
    expect(parsePublish('127.0.0.1::80')).toEqual([tcp('127.0.0.1', 0, 80)]);
    expect(parsePublish('[::1]:8080:80')).toEqual([tcp('::1', 8080, 80)]);
    expect(parsePublish('53/udp')).toEqual([{ hostIp: '', hostPort: 0, containerPort: 53, protocol: 'udp' }]);
    expect(parsePublish('8000-8001:80-81')).toEqual([tcp('', 8000, 80), tcp('', 8001, 81)]);
    expect(parsePublish('80-81')).toEqual([tcp('', 0, 80), tcp('', 0, 81)]);
  });

  it('refuses what cannot be published, with a UsageError and a hint', () => {
    for (const spec of ['', ':80', '80:', '0', '65536', '80:70000', '8000-8002:80-81', '8000:80-81', '90-80', 'x:1:2', '1.2.3:80:80', '80/sctp', '[::1:80:80']) {
      let err: unknown;
      try {
        parsePublish(spec);
      } catch (e) {
        err = e;
      }
      expect(err, spec).toBeInstanceOf(UsageError);
      expect((err as UsageError).hint, spec).toBeTruthy();
    }
  });

  it("reads -P's exposed ports, skipping malformed ones", () => {
    expect(exposedPortMappings(['80/tcp', '53/udp', '8080', 'x/tcp', '70000/tcp', '9/sctp'])).toEqual([
      tcp('', 0, 80),
      { hostIp: '', hostPort: 0, containerPort: 53, protocol: 'udp' },
      tcp('', 0, 8080),
    ]);
  });

  it("shows ports as podman's ps and inspect do", () => {
    const ports = [tcp('', 8000, 80), tcp('', 8001, 81), tcp('127.0.0.1', 9000, 90), { hostIp: '::1', hostPort: 53, containerPort: 53, protocol: 'udp' as const }];
    expect(describePorts(ports)).toBe('0.0.0.0:8000-8001->80-81/tcp, 127.0.0.1:9000->90/tcp, [::1]:53->53/udp');
    expect(portBindings(ports)).toEqual({
      '80/tcp': [{ HostIp: '', HostPort: '8000' }],
      '81/tcp': [{ HostIp: '', HostPort: '8001' }],
      '90/tcp': [{ HostIp: '127.0.0.1', HostPort: '9000' }],
      '53/udp': [{ HostIp: '::1', HostPort: '53' }],
    });
  });
});

describe('--network', () => {
  it('reads the modes and their options', () => {
    expect(parseNetwork('pasta')).toEqual({ kind: 'pasta', options: [] });
    expect(parseNetwork('pasta:--no-map-gw,-4')).toEqual({ kind: 'pasta', options: ['--no-map-gw', '-4'] });
    expect(parseNetwork('slirp4netns')).toEqual({ kind: 'slirp4netns', options: DEFAULT_SLIRP_OPTIONS });
    expect(parseNetwork('slirp4netns:allow_host_loopback=true,cidr=10.0.3.0/24,enable_ipv6=false,port_handler=slirp4netns')).toEqual({
      kind: 'slirp4netns',
      options: { ...DEFAULT_SLIRP_OPTIONS, allowHostLoopback: true, cidr: '10.0.3.0/24', enableIpv6: false },
    });
    expect(parseNetwork('none')).toEqual({ kind: 'none' });
    expect(parseNetwork('host')).toEqual({ kind: 'host' });
    expect(parseNetwork('container:web')).toEqual({ kind: 'container', ref: 'web' });
  });

  it('refuses unknown modes and options that would cut the container off', () => {
    for (const value of ['bridge', 'none:x', 'container:', 'pasta:--netns=/x', 'pasta:-f', 'pasta:,', 'slirp4netns:bogus=1', 'slirp4netns:allow_host_loopback=yes', 'slirp4netns:cidr=10.0.2.0/30']) {
      expect(() => parseNetwork(value), value).toThrow(UsageError);
    }
  });
});

describe('pasta and slirp4netns command lines', () => {
  it("attaches pasta to the fds the runtime passes, forwarding only the published ports", () => {
    const argv = pastaArgv('/usr/bin/pasta', [tcp('127.0.0.1', 8080, 80), tcp('127.0.0.1', 8081, 81), tcp('', 9000, 90), { hostIp: '', hostPort: 53, containerPort: 5353, protocol: 'udp' }], ['--mtu', '1500'], true);
    expect(argv).toEqual([
      '/usr/bin/pasta', '--config-net', '--quiet', '--foreground', '--pid', '/proc/self/fd/5', '--userns', '/proc/self/fd/3', '--netns', '/proc/self/fd/4', '--no-netns-quit',
      '-t', '127.0.0.1/8080:80,8081:81', '-t', '9000:90', '-u', '53:5353', '-T', 'none', '-U', 'none', '--dns-forward', PASTA_DNS_FORWARD, '--mtu', '1500',
    ]);
    expect(pastaArgv('/p', [], [], false)).toEqual(expect.arrayContaining(['-t', 'none', '-u', 'none']));
    expect(pastaArgv('/p', [], [], false)).not.toContain('--dns-forward');
  });

  it('runs slirp4netns on the fds, podman\'s settings, and publishes through its API', () => {
    expect(slirpArgv('/usr/bin/slirp4netns', DEFAULT_SLIRP_OPTIONS, '/run/s.sock')).toEqual([
      '/usr/bin/slirp4netns', '--configure', '--mtu=65520', '--disable-host-loopback', '--enable-ipv6', '--cidr=10.0.2.0/24', '--enable-seccomp',
      '--ready-fd=5', '--api-socket', '/run/s.sock', '--netns-type=path', '--userns-path=/proc/self/fd/3', '/proc/self/fd/4', 'tap0',
    ]);
    expect(slirpArgv('/s', { ...DEFAULT_SLIRP_OPTIONS, allowHostLoopback: true, enableIpv6: false }, null)).not.toEqual(expect.arrayContaining(['--disable-host-loopback']));
    expect(slirpAddresses('10.0.3.0/24')).toEqual({ gateway: '10.0.3.2', dns: '10.0.3.3', container: '10.0.3.100' });
    expect(hostForwardRequests([tcp('', 8080, 80)], DEFAULT_SLIRP_OPTIONS).map((r) => JSON.parse(r))).toEqual([
      { execute: 'add_hostfwd', arguments: { proto: 'tcp', host_addr: '0.0.0.0', host_port: 8080, guest_addr: '10.0.2.100', guest_port: 80 } },
    ]);
  });
});

describe('/etc/hosts and resolv.conf', () => {
  it("lists localhost, --add-host, the container's names and the host, in podman's order", () => {
    const hosts = renderHosts({ base: LOCALHOST_LINES, addHosts: [{ name: 'db', ip: '192.0.2.9' }, { name: 'gw', ip: 'host-gateway' }], ownAddress: '10.0.2.100', names: ['abc', 'web'], hostAddress: '10.0.2.2' });
    expect(hosts).toBe(`${LOCALHOST_LINES}192.0.2.9\tdb\n10.0.2.2\tgw\n10.0.2.100\tabc web\n10.0.2.2\thost.containers.internal host.docker.internal\n`);
    expect(renderHosts({ base: 'x', addHosts: [], ownAddress: null, names: ['h', 'h'], hostAddress: null })).toBe('x\n127.0.1.1\th\n');
    expect(parseAddHost('db:[::1]')).toEqual({ name: 'db', ip: '::1' });
    expect(parseAddHost('db:2001:db8::1')).toEqual({ name: 'db', ip: '2001:db8::1' });
  });

  it("reads the host's resolv.conf and lets --dns, --dns-search and --dns-option replace its parts", () => {
    const host = parseResolvConf('# comment\nnameserver 127.0.0.53\nnameserver ::1 # trailing\nsearch a.test b.test\noptions edns0 trust-ad\n');
    expect(host).toEqual({ servers: ['127.0.0.53', '::1'], search: ['a.test', 'b.test'], options: ['edns0', 'trust-ad'] });
    expect(renderResolvConf(overrideDns(host, { servers: ['192.0.2.53'], search: [], options: ['ndots:2'] }))).toBe('search a.test b.test\nnameserver 192.0.2.53\noptions ndots:2\n');
    expect(overrideDns(host, { servers: [], search: ['.'], options: [] }).search).toEqual([]);
  });
});

describe('the plan of a networked container', () => {
  const helper: NetworkHelper = { start: 'clone', argv: ['/usr/bin/pasta', '--config-net'], log: '/c/network.log', apiSocket: null, requests: [] };
  const plan = compilePlan(makeSpec({ network: { kind: 'helper', helper } }));
  const index = (p: readonly Op[], name: Op['op']): number => p.findIndex((op) => op.op === name);

  it('has its own net namespace, the helper record, loopback up, and waits for the helper just before close-fds and exec', () => {
    expect(plan[0]).toEqual({ op: 'namespaces', namespaces: ['user', 'mount', 'pid', 'uts', 'ipc', 'net', 'cgroup'] });
    expect(plan).toContainEqual({ op: 'network', helper });
    expect(index(plan, 'network')).toBeLessThan(index(plan, 'rootfs'));
    expect(plan).toContainEqual({ op: 'loopback-up' });
    expect(index(plan, 'await-network')).toBe(index(plan, 'close-fds') - 1);
    expect(plan.filter((op) => op.op === 'await-network')).toHaveLength(1);
    expect(plan).toContainEqual(expect.objectContaining({ op: 'mount', fstype: 'sysfs' }));
  });

  it("shares another container's user and net namespaces: neither is listed, sysfs is its own to mount", () => {
    const shared = compilePlan(makeSpec({ network: { kind: 'shared', pid: 42 } }));
    expect(shared[0]).toEqual({ op: 'namespaces', namespaces: ['mount', 'pid', 'uts', 'ipc', 'cgroup'] });
    expect(shared).toContainEqual({ op: 'share-net', pid: 42 });
    expect(shared.some((op) => op.op === 'await-network' || op.op === 'loopback-up' || op.op === 'network')).toBe(false);
    expect(shared).toContainEqual(expect.objectContaining({ op: 'mount', fstype: 'sysfs' }));
  });

  it('leaves /etc/hosts to the image with --no-hosts', () => {
    const spec = makeSpec();
    const noHosts = compilePlan({ ...spec, etcFiles: { ...spec.etcFiles, hosts: null } });
    expect(noHosts.some((op) => op.op === 'bind' && op.path === '/etc/hosts')).toBe(false);
    expect(noHosts.some((op) => op.op === 'bind' && op.path === '/etc/resolv.conf')).toBe(true);
  });

  it('encodes the network record as start, log, socket, argv and requests', () => {
    const encoded = encodePlan([{ op: 'network', helper: { start: 'id-maps', argv: ['/s', '-c'], log: '/l', apiSocket: '/a.sock', requests: ['{"x":1}'] } }]).toString();
    expect(encoded).toContain('7:network,7:id-maps,2:/l,7:/a.sock,1:2,2:/s,2:-c,1:1,7:{"x":1},');
    expect(encodePlan([{ op: 'share-net', pid: 42 }, { op: 'await-network' }]).toString()).toContain('9:share-net,2:42,13:await-network,');
  });

  it('explains the helper as the command the monitor runs', () => {
    expect(explainPlan(plan).find((line) => line.startsWith('/usr/bin/pasta'))).toMatch(/^\/usr\/bin\/pasta --config-net &/);
  });

  it('exec joins the net namespace unless it is the host\'s', () => {
    const exec = (hostNetwork: boolean) => compileExecPlan({ pid: 1, startTime: 1, hostNetwork, workdir: '/', user: { uid: 0, gid: 0, groups: [] }, capabilities: 0n, noNewPrivs: false, seccomp: [], tty: false, process: { rlimits: [], oomScoreAdj: null }, argv: ['true'], env: [] });
    expect(exec(false)[0]).toMatchObject({ op: 'join', namespaces: expect.arrayContaining(['net']) });
    expect(exec(true)[0]).toMatchObject({ op: 'join', namespaces: expect.not.arrayContaining(['net']) });
  });
});
