import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultRoute } from '../../src/sys/route.js';
import { isolatedEnv, nook, NOOK_BIN, show, waitFor, type NookResult } from '../helpers/nook.js';
import { processEnded } from '../helpers/process.js';
import { procStatFields } from '../../src/sys/process.js';
import { tempDir } from '../helpers/rootfs.js';

/**
 * nook sandbox (docs/sandbox.md): an untrusted command with the host's own tools, as it
 * sees the machine. Everything runs in a project directory of the test's, with a fake
 * home that holds fake secrets.
 */
let tmp: { path: string; cleanup: () => void };
let env: NodeJS.ProcessEnv;
let home: string;
let project: string;
let outside: string;
let servers: Server[] = [];

const REPO = join(import.meta.dirname, '..', '..');

/** A client run inside the sandbox with the host's node: a direct connection, or one through the proxy. */
const CLIENT = `
import http from 'node:http';
import net from 'node:net';
const [mode, port, host = '127.0.0.1'] = process.argv.slice(2);
const proxy = new URL(process.env.HTTP_PROXY ?? 'http://127.0.0.1:3128');
const body = (res, done) => { let b = ''; res.setEncoding('utf8'); res.on('data', (d) => (b += d)); res.on('end', () => done(b.trim())); };
if (mode === 'direct') {
  const s = net.connect(Number(port), host);
  s.on('connect', () => { console.log('connected'); s.destroy(); });
  s.on('error', (e) => console.log(e.code));
} else if (mode === 'get') {
  http.get({ host: proxy.hostname, port: proxy.port, path: 'http://127.0.0.1:' + port + '/' }, (res) => body(res, (b) => console.log(res.statusCode, b)))
    .on('error', (e) => console.log(e.code));
} else {
  const req = http.request({ host: proxy.hostname, port: proxy.port, method: 'CONNECT', path: '127.0.0.1:' + port });
  req.on('connect', (res, socket) => {
    if (res.statusCode !== 200) { console.log(res.statusCode); socket.destroy(); return; }
    socket.write('GET / HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n');
    let b = ''; socket.setEncoding('utf8'); socket.on('data', (d) => (b += d)); socket.on('end', () => console.log(200, b.split('\\r\\n\\r\\n')[1].trim()));
  });
  req.on('error', (e) => console.log(e.code));
  req.end();
}
`;

beforeAll(() => {
  tmp = tempDir('sandbox');
  home = join(tmp.path, 'home');
  env = isolatedEnv(home);
  mkdirSync(join(home, '.ssh'), { recursive: true });
  mkdirSync(join(home, '.aws'), { recursive: true });
  writeFileSync(join(home, '.ssh', 'id_rsa'), '-----BEGIN FAKE KEY-----\n');
  writeFileSync(join(home, '.aws', 'credentials'), '[default]\naws_secret_access_key = fake\n');
  project = join(tmp.path, 'project');
  mkdirSync(join(project, 'private'), { recursive: true });
  writeFileSync(join(project, 'client.mjs'), CLIENT);
  writeFileSync(join(project, 'secret.env'), 'TOKEN=fake\n');
  writeFileSync(join(project, 'private', 'notes'), 'private\n');
  outside = join(tmp.path, 'outside');
  mkdirSync(outside);
});
afterAll(() => {
  for (const server of servers) server.close();
  tmp.cleanup();
});

function sandbox(args: readonly string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<NookResult> {
  return nook(['sandbox', ...args], { env: opts.env ?? env, cwd: opts.cwd ?? project });
}

/** Runs `sh -c SCRIPT` in a sandbox (stderr folded into stdout) and expects exit 0. */
async function sh(script: string, flags: readonly string[] = []): Promise<string> {
  const result = await sandbox([...flags, '--', 'sh', '-c', `exec 2>&1; ${script}`]);
  expect(result.status, show(result)).toBe(0);
  return result.stdout;
}

/** A server on the host's 127.0.0.1 that answers every request with `hello`. */
async function helloServer(): Promise<number> {
  const server = createServer((_req, res) => res.writeHead(200, { connection: 'close', 'content-length': 6 }).end('hello\n'));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** Host processes whose command line is exactly `argv`. */
function processesRunning(argv: readonly string[]): number[] {
  const wanted = `${argv.join('\0')}\0`;
  return readdirSync('/proc').flatMap((name) => {
    if (!/^[0-9]+$/.test(name)) return [];
    try {
      return readFileSync(`/proc/${name}/cmdline`, 'utf8') === wanted ? [Number(name)] : [];
    } catch {
      return [];
    }
  });
}

/** The pid's parent, or null once it is gone. */
function parentOf(pid: number): number | null {
  const fields = procStatFields(pid);
  return fields === null ? null : Number(fields[1]);
}

/** Every live process below `root`. */
function descendants(root: number): number[] {
  const all = readdirSync('/proc').filter((n) => /^[0-9]+$/.test(n)).map(Number);
  const below = (pid: number): boolean => {
    for (let p: number | null = parentOf(pid), hops = 0; p !== null && p > 1 && hops < 64; p = parentOf(p), hops++) if (p === root) return true;
    return false;
  };
  return all.filter(below);
}

const marker = (): string => `${1000 + Math.floor(Math.random() * 1000)}.${process.pid}${Math.floor(Math.random() * 1e6)}`;

describe('what the command sees', () => {
  it('cannot read the real home, its keys and credentials, or /etc/shadow: its home is empty', async () => {
    const out = await sh('for f in ~/.ssh/id_rsa ~/.aws/credentials; do test -e "$f" && echo "visible $f" || echo "absent $f"; done; ls -A ~ | wc -l; wc -c < /etc/shadow; echo "HOME=$HOME"');
    expect(out).toBe(`absent ${home}/.ssh/id_rsa\nabsent ${home}/.aws/credentials\n0\n0\nHOME=${home}\n`);
  });

  it('cannot write /usr or the current directory, can write --rw paths, its home and /tmp; nothing of home and /tmp survives', async () => {
    const name = `nook-sandbox-${marker()}`;
    const out = await sh(
      `touch /usr/${name}; touch ${project}/${name}; echo kept > ${outside}/out.txt && echo rw ok; ` +
        `echo gone > ~/${name} && echo home ok; echo gone > /tmp/${name} && echo tmp ok`,
      ['--rw', outside],
    );
    expect(out).toBe(
      `touch: cannot touch '/usr/${name}': Read-only file system\ntouch: cannot touch '${project}/${name}': Read-only file system\nrw ok\nhome ok\ntmp ok\n`,
    );
    expect(readFileSync(join(outside, 'out.txt'), 'utf8')).toBe('kept\n');
    expect([existsSync(join(project, name)), existsSync(join(home, name)), existsSync(join('/tmp', name))]).toEqual([false, false, false]);
    expect(await sh(`test -e ~/${name} || echo home empty; test -e /tmp/${name} || echo tmp empty`)).toBe('home empty\ntmp empty\n');
  });

  it('--rw . makes the current directory writable', async () => {
    await sh('echo made > made.txt', ['--rw', '.']);
    expect(readFileSync(join(project, 'made.txt'), 'utf8')).toBe('made\n');
  });

  it('--hide shows a file as /dev/null and a directory empty; --ro shares what it would not see', async () => {
    writeFileSync(join(outside, 'shared.txt'), 'shared\n');
    const out = await sh(`wc -c < secret.env; ls -A private | wc -l; cat ${outside}/shared.txt; touch ${outside}/x || true`, ['--hide', 'secret.env', '--hide', './private', '--ro', outside]);
    expect(out).toBe(`0\n0\nshared\ntouch: cannot touch '${outside}/x': Read-only file system\n`);
    expect(await sh(`test -e ${outside} || echo unseen`)).toBe('unseen\n');
  });

  it('does not share a current directory that holds the home directory', async () => {
    const result = await sandbox(['--', 'sh', '-c', 'pwd; ls -A | wc -l'], { cwd: home });
    expect(result.status, show(result)).toBe(0);
    expect(result.stdout).toBe(`${home}\n0\n`);
    expect(result.stderr).toBe(`nook sandbox: the current directory ${home} holds your home directory, so it is not shared (--ro . or --rw . would share it, home and all)\n`);
  });
});

describe('processes', () => {
  it('sees none of the host processes', async () => {
    const names = (await sh('for p in /proc/[0-9]*; do cat $p/comm; done')).trim().split('\n');
    expect(new Set(names)).toEqual(new Set(['nook-init', 'sh']));
  });

  it('passes the exit code through, and 127 for a command that does not exist', async () => {
    expect((await sandbox(['--', 'sh', '-c', 'exit 7'])).status).toBe(7);
    const missing = await sandbox(['--', 'no-such-command-here']);
    expect(missing.status, show(missing)).toBe(127);
  });

  it('kills what the command left in the background when it exits', async () => {
    const argv = ['sleep', marker()];
    const result = await sandbox(['--', 'sh', '-c', `${argv.join(' ')} & echo started`]);
    expect(result.status, show(result)).toBe(0);
    expect(result.stdout).toBe('started\n');
    expect(processesRunning(argv)).toEqual([]);
  });

  it('dies with nook: SIGKILL of nook kills every process in the sandbox', async () => {
    const background = ['sleep', marker()];
    const foreground = ['sleep', marker()];
    let pids: number[] = [];
    let sleeps: number[] = [];
    const result = await nook(['sandbox', '--', 'sh', '-c', `${background.join(' ')} & echo ready; exec ${foreground.join(' ')}`], {
      env,
      cwd: project,
      onSpawn: (child, stdout) => {
        const started = (): boolean => stdout().includes('ready') && processesRunning(foreground).length === 1 && processesRunning(background).length === 1;
        void waitFor(started, 'the sandbox to start').then(() => {
          pids = descendants(child.pid!);
          sleeps = [...processesRunning(background), ...processesRunning(foreground)];
          child.kill('SIGKILL');
        });
      },
    });
    expect(result.signal).toBe('SIGKILL');
    // The monitor, PID 1 of the sandbox, and both sleeps, all below nook.
    expect(pids.length, `descendants ${pids.join(' ')}`).toBe(4);
    expect(pids).toEqual(expect.arrayContaining(sleeps));
    await waitFor(() => pids.every(processEnded), `pids ${pids.join(' ')} to die`);
  });

  it('--timeout stops the command and everything in the sandbox with 124', async () => {
    const result = await sandbox(['--timeout', '1', '--', 'sleep', '10']);
    expect(result.status, show(result)).toBe(124);
    expect(result.stderr).toBe('nook sandbox: sleep timed out after 1 s: everything in the sandbox was killed\n');
  });
});

describe('network', () => {
  it('has none: a server on the host 127.0.0.1 is out of reach', async () => {
    const port = await helloServer();
    expect(await sh(`node client.mjs direct ${port}`)).toBe('ECONNREFUSED\n');
  });

  it('--allow-host 127.0.0.1:PORT reaches that server through the proxy, over HTTP and CONNECT; another port is refused and reported', async () => {
    const allowed = await helloServer();
    const other = await helloServer();
    const result = await sandbox([
      '--allow-host', `127.0.0.1:${allowed}`, '--', 'sh', '-c',
      `for m in direct get connect; do node client.mjs $m ${allowed}; done; node client.mjs get ${other}; node client.mjs connect ${other}`,
    ]);
    expect(result.status, show(result)).toBe(0);
    expect(result.stdout).toBe(
      `ECONNREFUSED\n200 hello\n200 hello\n403 nook sandbox: 127.0.0.1:${other} is not an allowed host (--allow-host)\n403\n`,
    );
    expect(result.stderr).toBe(`nook sandbox: refused a connection to 127.0.0.1:${other}: not an allowed host (--allow-host)\n`);
  });

  it('refuses --allow-host with any network but none', async () => {
    for (const network of ['host', 'pasta']) {
      const refused = await sandbox(['--network', network, '--allow-host', 'example.com', '--', 'true']);
      expect(refused.status, show(refused)).toBe(125);
      expect(refused.stderr).toMatch(/^Error: --allow-host needs --network none/);
    }
  });

  it('with --network pasta, has a namespace of its own that reaches the host through the gateway, and name servers it can ask', async () => {
    const gateway = defaultRoute()?.gateway;
    expect(gateway, 'this host needs a default route for pasta').toBeDefined();
    const port = await helloServer();
    const script = `node client.mjs direct ${port} ${gateway}; grep -c '^nameserver ' /etc/resolv.conf; ls /sys/class/net | grep -vc '^lo$'`;
    expect(await sh(script, ['--network', 'pasta'])).toBe('connected\n1\n1\n');
    // slirp4netns keeps the host's loopback closed unless asked (allow_host_loopback).
    const slirp = await sh(`node client.mjs direct ${port} 10.0.2.2; grep -c '^nameserver 10.0.2.3$' /etc/resolv.conf`, ['--network', 'slirp4netns']);
    expect(slirp).toMatch(/^(ECONNREFUSED|ENETUNREACH)\n1\n$/);
    // Nothing of it is left: no helper process, no file in the runtime dir.
    expect(readdirSync(join(home, 'runtime', 'nook')).filter((f) => f.startsWith('sandbox-') && f !== 'sandbox-root')).toEqual([]);
  });
});

describe('hardening', () => {
  it('runs with no capabilities, no_new_privs and the seccomp filter', async () => {
    const out = await sh('grep -E "^(CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):" /proc/self/status');
    expect(out).toBe('CapEff:\t0000000000000000\nCapBnd:\t0000000000000000\nCapAmb:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t2\n');
  });

  it('refuses a nested user namespace (unshare -U)', async () => {
    const result = await sandbox(['--', 'unshare', '-U', 'true']);
    expect(result.status, show(result)).not.toBe(0);
    expect(result.stderr).toBe('unshare: unshare failed: Operation not permitted\n');
  });

  it('cannot push characters into the calling terminal with TIOCSTI', () => {
    const probe = `my $c = "x"; print ioctl(STDIN, 0x5412, $c) ? "injected\\n" : "refused\\n"`;
    const run = spawnSync('script', ['-qec', `${NOOK_BIN} sandbox -- perl -e '${probe}'`, '/dev/null'], { env, cwd: project, encoding: 'utf8' });
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout.replace(/\r/g, '')).toBe('refused\n');
  });
});

describe('environment', () => {
  const withSecrets = (): NodeJS.ProcessEnv => ({ ...env, GITHUB_TOKEN: 'tok', FOO: 'bar', AWS_PROFILE: 'p', MY_API_KEY: 'k' });

  it('is clean by default: PATH, HOME, TERM, LANG, USER, LOGNAME and -e', async () => {
    const result = await sandbox(['-e', 'A=1', '--', 'env'], { env: withSecrets() });
    expect(result.status, show(result)).toBe(0);
    expect(result.stdout.trim().split('\n').sort()).toEqual([`A=1`, `HOME=${home}`, 'LANG=C.UTF-8', `PATH=${env.PATH}`]);
  });

  it('--keep-env passes FOO but not GITHUB_TOKEN, AWS_* or *_KEY; -e GITHUB_TOKEN passes it', async () => {
    const script = 'echo "FOO=$FOO TOKEN=${GITHUB_TOKEN-unset} AWS=${AWS_PROFILE-unset} KEY=${MY_API_KEY-unset}"';
    const kept = await sandbox(['--keep-env', '--', 'sh', '-c', script], { env: withSecrets() });
    expect(kept.stdout, show(kept)).toBe('FOO=bar TOKEN=unset AWS=unset KEY=unset\n');
    const named = await sandbox(['--keep-env', '-e', 'GITHUB_TOKEN', '--', 'sh', '-c', script], { env: withSecrets() });
    expect(named.stdout, show(named)).toBe('FOO=bar TOKEN=tok AWS=unset KEY=unset\n');
  });
});

describe('explain, profiles, limits', () => {
  it('--explain prints what the command would see and the plan as shell commands, and runs nothing', async () => {
    const result = await sandbox(['--explain', '--', 'touch', 'explained']);
    expect(result.status, show(result)).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toBe('# nook sandbox: what touch sees, writes and reaches');
    const root = `${env.XDG_RUNTIME_DIR}/nook/sandbox-root`;
    expect(lines).toContain(`mkdir -p ${root}/usr && mount --rbind /usr ${root}/usr && mount -o remount,bind,ro,nosuid,nodev ${root}/usr`);
    expect(lines).toContain('setpriv --no-new-privs');
    expect(existsSync(join(project, 'explained'))).toBe(false);
    const json = await sandbox(['--explain', '--format', 'json', '--allow-host', 'example.com', '--', 'true']);
    const plan = JSON.parse(json.stdout) as { ops: { op: string }[]; allowHosts: string[]; proxyPort: number };
    expect(plan.ops[0]!.op).toBe('namespaces');
    expect(plan.ops.at(-1)!.op).toBe('exec');
    expect(plan.ops.map((op) => op.op)).toContain('forward');
    expect([plan.allowHosts, plan.proxyPort]).toEqual([['example.com:80,443'], 3128]);
  });

  it('--profile takes a profile from $XDG_CONFIG_HOME/nook/sandbox.toml', async () => {
    const config = join(env.XDG_CONFIG_HOME!, 'nook');
    mkdirSync(config, { recursive: true });
    writeFileSync(join(config, 'sandbox.toml'), '[profile.writer]\nrw = ["."]\nenv = ["FROM_PROFILE=yes"]\n');
    expect(await sh('echo $FROM_PROFILE > from-profile.txt', ['--profile', 'writer'])).toBe('');
    expect(readFileSync(join(project, 'from-profile.txt'), 'utf8')).toBe('yes\n');
  });

  it('--memory is accepted with one warning: it is not enforced yet', async () => {
    const result = await sandbox(['--memory', '512m', '--', 'true']);
    expect(result.status, show(result)).toBe(0);
    expect(result.stderr).toBe('WARN: --memory 512m is not enforced: nook sandbox has no cgroup limits yet\n');
  });
});

describe('the README', () => {
  it('its third command runs a sandbox with no image and no network, as it says', async () => {
    const block = /```sh\n([\s\S]*?)```/.exec(readFileSync(join(REPO, 'README.md'), 'utf8'))![1]!;
    const third = block.split('\n').filter((l) => l.trim() !== '')[2]!;
    expect(third).toMatch(/^\.\/bin\/nook sandbox /);
    const result = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn('sh', ['-c', third], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('close', (status) => resolve({ status, stdout, stderr }));
    });
    expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout).toBe(`${userInfo().username}\nthis checkout is read-only in here\n`);
    expect(result.stderr).toBe("touch: cannot touch 'README.md': Read-only file system\n");
  });
});
