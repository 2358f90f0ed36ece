import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, get, type Server } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostPlatform } from '../../src/image/platform.js';
import { defaultRoute } from '../../src/sys/route.js';
import { nook, show, waitFor, removeAllContainers, busyboxWorkspace, nookOk } from '../helpers/nook.js';
import { processEnded } from '../helpers/process.js';
import { OciLayout } from '../helpers/oci-image.js';
import { subordinateRange } from '../helpers/subids.js';
import { buildTrySyscall } from '../helpers/try-syscall.js';
import { buildUdpEcho } from '../helpers/udp-echo.js';

// Every test sends traffic only to this machine: 127.0.0.1, or the containers' own
// namespaces. Nothing here asks an outside address or name server anything.

let tmp: { path: string; cleanup: () => void };
let env: NodeJS.ProcessEnv;
let rootfs: string;
let webImage: string;
const PAGE = 'served from the container\n';
const IMAGE_HOSTS = '10.9.9.9\timage-host\n';

beforeAll(async () => {
  ({ tmp, env, rootfs } = busyboxWorkspace('network'));
  mkdirSync(join(rootfs, 'www'));
  writeFileSync(join(rootfs, 'www', 'index.html'), PAGE);
  writeFileSync(join(rootfs, 'etc', 'hosts'), IMAGE_HOSTS);
  copyFileSync(buildTrySyscall(tmp.path), join(rootfs, 'bin', 'try-syscall'));
  copyFileSync(buildUdpEcho(tmp.path), join(rootfs, 'bin', 'udp-echo'));
  // An image that exposes ports, for -P.
  const layout = new OciLayout(join(tmp.path, 'layout'));
  const platform = { os: 'linux', architecture: hostPlatform().architecture };
  const web = layout.image([rootfs], platform, { Env: ['PATH=/bin'], ExposedPorts: { '80/tcp': {}, '53/udp': {} }, Cmd: ['httpd', '-f', '-p', '80', '-h', '/www'] });
  layout.ref('web', web.manifest);
  const archive = join(tmp.path, 'web.tar');
  execFileSync('tar', ['-C', join(tmp.path, 'layout'), '-cf', archive, '.']);
  const loaded = await ok(['load', '-i', archive]);
  webImage = /Loaded image: (\S+)/.exec(loaded)![1]!;
});

afterAll(async () => {
  await removeAllContainers(env);
  await nook(['unshare', 'rm', '-rf', tmp.path], { env });
  tmp.cleanup();
});

async function ok(args: readonly string[]): Promise<string> {
  return (await nookOk(args, { env })).stdout;
}

async function sh(script: string, flags: readonly string[] = []): Promise<string> {
  return ok(['run', '--rm', ...flags, '--rootfs', rootfs, 'sh', '-c', script]);
}

/** A port free on 127.0.0.1 right now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function httpGet(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/', timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve(body));
    }).on('error', reject);
  });
}

/** GETs until the server in the container answers (it starts listening after the container does). */
async function getWhenServing(port: number): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await httpGet(port);
    } catch (err) {
      if (attempt >= 100) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

async function hostServer(host: string, body: string): Promise<{ server: Server; port: number }> {
  const server = createHttpServer((_req, res) => res.end(body));
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

async function inspect(name: string, format: string): Promise<string> {
  return (await ok(['inspect', '-f', format, name])).trim();
}


/** The network helper the container's monitor runs, by pid. */
function helperOf(monitorPid: number): { pid: number; comm: string } {
  const children = readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((entry) => {
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        return ppid === monitorPid && /^(passt|pasta|slirp4netns)/.test(comm) ? [{ pid: Number(entry), comm }] : [];
      } catch {
        return [];
      }
    });
  expect(children, `helpers of monitor ${monitorPid}`).toHaveLength(1);
  return children[0]!;
}

async function runWeb(name: string, port: number, flags: readonly string[] = []): Promise<void> {
  await ok(['run', '-d', '--name', name, ...flags, '-p', `127.0.0.1:${port}:80`, '--rootfs', rootfs, 'httpd', '-f', '-p', '80', '-h', '/www']);
}

describe('published ports', () => {
  it('serves a container port on a host port with the default network (pasta)', async () => {
    const port = await freePort();
    await runWeb('web-pasta', port);
    expect(await getWhenServing(port)).toBe(PAGE);
    expect(await inspect('web-pasta', '{{.HostConfig.NetworkMode}}')).toBe('pasta');
    expect(await ok(['port', 'web-pasta'])).toBe(`80/tcp -> 127.0.0.1:${port}\n`);
    expect(await ok(['port', 'web-pasta', '80'])).toBe(`127.0.0.1:${port}\n`);
    expect(await ok(['ps', '--filter', 'name=^web-pasta$', '--format', '{{.Ports}}'])).toBe(`127.0.0.1:${port}->80/tcp\n`);
    const shown = JSON.parse(await ok(['inspect', 'web-pasta'])) as [{ HostConfig: { PortBindings: unknown }; NetworkSettings: { Ports: unknown } }];
    expect(shown[0].HostConfig.PortBindings).toEqual({ '80/tcp': [{ HostIp: '127.0.0.1', HostPort: String(port) }] });
    expect(shown[0].NetworkSettings.Ports).toEqual(shown[0].HostConfig.PortBindings);
    await ok(['rm', '-f', '-t', '0', 'web-pasta']);
  });

  it('serves it with slirp4netns too', async () => {
    const port = await freePort();
    await runWeb('web-slirp', port, ['--network', 'slirp4netns']);
    expect(await getWhenServing(port)).toBe(PAGE);
    expect(await inspect('web-slirp', '{{.HostConfig.NetworkMode}}')).toBe('slirp4netns');
    await ok(['rm', '-f', '-t', '0', 'web-slirp']);
  });

  /** Sends datagrams to the address until the container's udp-echo answers one. */
  async function udpEcho(address: string, port: number): Promise<string> {
    const socket = createSocket('udp4');
    const reply = new Promise<string>((resolve) => socket.once('message', (msg) => resolve(msg.toString())));
    let answered = false;
    void reply.then(() => (answered = true));
    try {
      // A datagram sent before the server binds is dropped.
      for (let attempt = 0; !answered; attempt++) {
        expect(attempt, `a datagram to ${address}:${port} answered by the container`).toBeLessThan(100);
        socket.send('datagram', port, address);
        await Promise.race([reply, new Promise((r) => setTimeout(r, 50))]);
      }
      return await reply;
    } finally {
      socket.close();
    }
  }

  it('forwards a UDP port', async () => {
    const port = await freePort();
    await ok(['run', '-d', '--name', 'udp', '-p', `127.0.0.1:${port}:${port}/udp`, '--rootfs', rootfs, 'udp-echo', String(port)]);
    expect(await udpEcho('127.0.0.1', port)).toBe('echo: datagram');
    await ok(['rm', '-f', '-t', '0', 'udp']);
  });

  it("forwards a UDP port to another container port, on the host's own address, with either helper", async () => {
    // From 127.0.0.1 these need what the helpers here lack (docs/networking.md, "Limits").
    const address = defaultRoute()?.address;
    expect(address, 'pasta needs the host to have a default route').toBeTruthy();
    for (const network of ['pasta', 'slirp4netns']) {
      const port = await freePort();
      await ok(['run', '-d', '--name', `udp-${network}`, '--network', network, '-p', `${port}:5000/udp`, '--rootfs', rootfs, 'udp-echo', '5000']);
      expect(await udpEcho(address!, port)).toBe('echo: datagram');
      await ok(['rm', '-f', '-t', '0', `udp-${network}`]);
    }
  });

  it('lets a user that is not root listen on port 80', async () => {
    const port = await freePort();
    await runWeb('web-app', port, ['-u', 'app']);
    expect(await getWhenServing(port)).toBe(PAGE);
    expect(await ok(['exec', 'web-app', 'sh', '-c', 'cat /proc/sys/net/ipv4/ip_unprivileged_port_start'])).toBe('0\n');
    await ok(['rm', '-f', '-t', '0', 'web-app']);
  });

  it("publishes the image's exposed ports on free host ports with -P", async () => {
    await ok(['run', '-d', '--name', 'web-all', '-P', webImage]);
    const lines = (await ok(['port', 'web-all'])).trim().split('\n').sort();
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^53\/udp -> 0\.0\.0\.0:\d+$/);
    expect(lines[1]).toMatch(/^80\/tcp -> 0\.0\.0\.0:\d+$/);
    const port = Number(/:(\d+)$/.exec(lines[1]!)![1]);
    expect(await getWhenServing(port)).toBe(PAGE);
    await ok(['rm', '-f', '-t', '0', 'web-all']);
  });

  it('refuses a host port in use, naming it, and leaves nothing running', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as AddressInfo).port;
    try {
      for (const network of ['pasta', 'slirp4netns']) {
        const result = await nook(['run', '-d', '--network', network, '-p', `127.0.0.1:${port}:80`, '--rootfs', rootfs, 'httpd', '-f', '-p', '80'], { env });
        expect(result.status, show(result)).toBe(125);
        expect(result.stderr).toContain(`host port 127.0.0.1:${port}/tcp is already in use`);
        expect((await ok(['ps', '-q'])).trim()).toBe('');
      }
      // The helper's own refusal: its words, and nothing left.
      const result = await nook(['run', '-d', '--network', 'pasta:--mtu,70000', '--rootfs', rootfs, 'sleep', '60'], { env });
      expect(result.status, show(result)).toBe(125);
      expect(result.stderr).toContain("the container's network could not be set up: pasta: Invalid MTU: 70000");
      expect((await ok(['ps', '-q'])).trim()).toBe('');
    } finally {
      busy.close();
    }
  });
});

describe('what the container reaches', () => {
  it("reaches a server on the host's 127.0.0.1 as host.containers.internal with the default network", async () => {
    const { server, port } = await hostServer('127.0.0.1', 'from the host\n');
    try {
      expect(await sh(`wget -q -O- http://host.containers.internal:${port}/`)).toBe('from the host\n');
    } finally {
      server.close();
    }
  });

  it('has only lo with --network none, and reaches no address', async () => {
    const { server, port } = await hostServer('0.0.0.0', 'from the host\n');
    const hostAddress = defaultRoute()?.address ?? '127.0.0.1';
    try {
      const out = await sh(
        `ls /sys/class/net; wc -l < /proc/net/route; wget -q -O- http://${hostAddress}:${port}/ 2>/dev/null || echo unreachable: $?; wget -q -O- http://127.0.0.1:${port}/ 2>/dev/null || echo refused: $?`,
        ['--network', 'none'],
      );
      // Failed to connect (wget's 1), not crashed.
      expect(out).toBe('lo\n1\nunreachable: 1\nrefused: 1\n');
    } finally {
      server.close();
    }
  });

  it("lets container B reach container A's server on 127.0.0.1 with --network container:A", async () => {
    await ok(['run', '-d', '--name', 'net-a', '--rootfs', rootfs, 'httpd', '-f', '-p', '127.0.0.1:8080', '-h', '/www']);
    const fetch = `for i in $(seq 100); do wget -q -O- http://127.0.0.1:8080/ 2>/dev/null && exit 0; sleep 0.05; done; exit 1`;
    expect(await sh(fetch, ['--network', 'container:net-a'])).toBe(PAGE);
    expect(await sh(fetch, ['--init', '--network', 'container:net-a'])).toBe(PAGE);
    await ok(['rm', '-f', '-t', '0', 'net-a']);
  });

  it('lets every group of the container open ICMP echo sockets (unprivileged ping)', async () => {
    // socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP): what ping uses without CAP_NET_RAW.
    expect(await sh('cat /proc/sys/net/ipv4/ping_group_range; try-syscall socket 2 2 1', ['-u', 'app'])).toBe(`0\t${subordinateRange('/etc/subgid').count}\nok\n`);
  });

  it("gives pasta containers pasta's large MTU, and IPv6 where the host has it", async () => {
    // Global IPv6 addresses in /proc/net/if_inet6: not link-local (fe80…), not ::1.
    const globalV6 = (table: string): boolean => table.split('\n').some((line) => line !== '' && !line.startsWith('fe80') && !line.startsWith('00000000000000000000000000000001'));
    const [mtu, ...v6] = (await sh('cat /sys/class/net/eth0/mtu /proc/net/if_inet6')).split('\n');
    expect(mtu).toBe('65520');
    expect(globalV6(v6.join('\n'))).toBe(globalV6(readFileSync('/proc/net/if_inet6', 'utf8')));
  });
});

describe('names and name servers', () => {
  it("lists the container's own name, hostname and --add-host entries in /etc/hosts", async () => {
    const hosts = await sh('cat /etc/hosts', ['--network', 'none', '--name', 'named', '--hostname', 'box', '--add-host', 'db:192.0.2.9']);
    expect(hosts).toBe('127.0.0.1\tlocalhost localhost.localdomain\n::1\tlocalhost localhost.localdomain ip6-localhost ip6-loopback\n192.0.2.9\tdb\n127.0.1.1\tbox named\n');
    const route = defaultRoute();
    const pasta = await sh('cat /etc/hosts', ['--name', 'named2', '--hostname', 'box']);
    expect(pasta).toContain(`${route?.address}\tbox named2\n`);
    expect(pasta).toContain(`${route?.gateway}\thost.containers.internal host.docker.internal\n`);
  });

  it("keeps the image's /etc/hosts with --no-hosts", async () => {
    expect(await sh('cat /etc/hosts', ['--no-hosts'])).toBe(IMAGE_HOSTS);
  });

  it("points resolv.conf at a resolver the container reaches, or at what --dns* say", async () => {
    const hostServers = readFileSync('/etc/resolv.conf', 'utf8').split('\n').flatMap((line) => /^nameserver\s+(\S+)/.exec(line)?.[1] ?? []);
    const gateway = defaultRoute()?.gateway;
    const unreachable = hostServers.length === 0 || hostServers.some((s) => s.startsWith('127.') || s === '::1' || s === gateway);
    const servers = (await sh('grep ^nameserver /etc/resolv.conf')).trim().split('\n').map((line) => line.split(/\s+/)[1]);
    expect(servers).toEqual(unreachable ? ['169.254.1.1'] : hostServers);
    expect(await sh('grep ^nameserver /etc/resolv.conf', ['--network', 'slirp4netns'])).toBe('nameserver 10.0.2.3\n');
    const custom = await sh('cat /etc/resolv.conf', ['--dns', '192.0.2.53', '--dns-search', 'example.test', '--dns-option', 'ndots:2']);
    expect(custom).toBe('search example.test\nnameserver 192.0.2.53\noptions ndots:2\n');
  });
});

describe('the helper lives as long as the container', () => {
  async function started(name: string, network: string): Promise<{ monitor: number; helper: number }> {
    await ok(['run', '-d', '--init', '--name', name, '--network', network, '--rootfs', rootfs, 'sleep', '600']);
    const monitor = Number(await inspect(name, '{{.State.ConmonPid}}'));
    return { monitor, helper: helperOf(monitor).pid };
  }

  for (const network of ['pasta', 'slirp4netns']) {
    it(`ends ${network} with stop, rm -f and a SIGKILLed monitor`, async () => {
      const a = await started(`life-stop-${network}`, network);
      await ok(['stop', '-t', '5', `life-stop-${network}`]);
      expect(processEnded(a.helper)).toBe(true);
      // A restart gets a helper of its own, and rm -f ends it.
      await ok(['start', `life-stop-${network}`]);
      const again = helperOf(Number(await inspect(`life-stop-${network}`, '{{.State.ConmonPid}}'))).pid;
      await ok(['rm', '-f', '-t', '5', `life-stop-${network}`]);
      expect(processEnded(again)).toBe(true);
      const b = await started(`life-kill-${network}`, network);
      process.kill(b.monitor, 'SIGKILL');
      await waitFor(() => processEnded(b.helper), `${network} ${b.helper} to end with its monitor`);
      // Removable once nook sees the monitor gone (its zombie reaped).
      for (let tries = 0; (await inspect(`life-kill-${network}`, '{{.State.Status}}')) !== 'exited'; tries++) {
        expect(tries, 'the container to show exited').toBeLessThan(200);
        await new Promise((r) => setTimeout(r, 50));
      }
      await ok(['rm', `life-kill-${network}`]);
    });
  }

  it('leaves no slirp4netns API socket behind', async () => {
    const port = await freePort();
    await runWeb('web-socket', port, ['--network', 'slirp4netns']);
    const runtime = join(env.XDG_RUNTIME_DIR!, 'nook');
    expect(readdirSync(runtime).filter((f) => f.startsWith('slirp-'))).toHaveLength(1);
    await ok(['rm', '-f', '-t', '0', 'web-socket']);
    expect(existsSync(runtime) ? readdirSync(runtime).filter((f) => f.startsWith('slirp-')) : []).toEqual([]);
  });
});

describe('nook info', () => {
  it('says which network is the default, and why', async () => {
    expect(await ok(['info'])).toMatch(/defaultNetwork: pasta \(pasta found at \/\S+\/pasta\)/);
  });
});

