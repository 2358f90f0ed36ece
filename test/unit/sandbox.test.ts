import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProgram, type Invocation } from '../../src/cli/program.js';
import { describeRule, isAllowed, parseAllowRule } from '../../src/engine/sandbox/allow.js';
import { looksSecret, sandboxEnvironment } from '../../src/engine/sandbox/environment.js';
import type { SandboxOptions } from '../../src/engine/sandbox/options.js';
import { BUILTIN_PROFILES, loadProfile } from '../../src/engine/sandbox/profiles.js';
import { sandboxView } from '../../src/engine/sandbox/view.js';
import { UsageError } from '../../src/errors.js';
import { encodePlan } from '../../src/plan/encode.js';
import { explainPlan } from '../../src/plan/explain.js';
import { MASKED_PATHS } from '../../src/plan/hardening.js';
import type { Op, OpOf } from '../../src/plan/ops.js';
import { compileSandboxPlan, SANDBOX_PROXY_DIR, type SandboxSpec } from '../../src/plan/sandbox.js';

const BPF = new Uint8Array(8);
const allOf = <N extends Op['op']>(plan: readonly Op[], name: N): OpOf<N>[] => plan.filter((op): op is OpOf<N> => op.op === name);

function spec(overrides: Partial<SandboxSpec> = {}): SandboxSpec {
  return {
    uid: 1000,
    gid: 1001,
    rootMountPoint: '/run/user/1000/nook/sandbox-root',
    network: 'none',
    view: [
      { kind: 'bind', source: '/home/you/project', path: '/home/you/project', writable: false, directory: true },
      { kind: 'tmpfs', path: '/home/you', mode: 0o700 },
      { kind: 'bind', source: '/usr', path: '/usr', writable: false, directory: true },
      { kind: 'symlink', target: 'usr/bin', path: '/bin' },
      { kind: 'bind', source: '/home/you/out', path: '/home/you/out', writable: true, directory: true },
    ],
    hidden: ['/etc/shadow'],
    workdir: '/home/you/project',
    seccomp: [BPF],
    proxy: null,
    argv: ['sh'],
    env: ['PATH=/usr/bin'],
    ...overrides,
  };
}

describe('compileSandboxPlan', () => {
  const plan = compileSandboxPlan(spec());

  it('maps the user onto itself (no root, no subordinate ids), relays stdio, starts a session and roots the sandbox on a fresh tmpfs', () => {
    expect(plan.slice(0, 6)).toEqual([
      { op: 'namespaces', namespaces: ['user', 'mount', 'pid', 'uts', 'ipc', 'net', 'cgroup'] },
      { op: 'uid-map', map: { helper: null, ranges: [{ inside: 1000, outside: 1000, count: 1 }] } },
      { op: 'gid-map', map: { helper: null, ranges: [{ inside: 1001, outside: 1001, count: 1 }] } },
      { op: 'stdio', tty: false, stdin: true, log: null },
      { op: 'session' },
      { op: 'tmpfs-rootfs', mountPoint: '/run/user/1000/nook/sandbox-root' },
    ]);
  });

  it('builds the view shallowest first: $HOME before the directory in it; binds are nosuid, nodev, read-only unless writable', () => {
    const view = plan.filter((op) => (op.op === 'bind' || op.op === 'symlink' || op.op === 'mount') && !['/proc', '/dev', '/sys'].some((k) => op.path.startsWith(k)));
    expect(view).toEqual([
      { op: 'bind', source: '/usr', path: '/usr', flags: ['rec', 'ro', 'nosuid', 'nodev', 'create-dir'] },
      { op: 'symlink', target: 'usr/bin', path: '/bin' },
      { op: 'mount', fstype: 'tmpfs', source: 'tmpfs', path: '/home/you', flags: ['nosuid', 'nodev'], data: 'mode=700' },
      { op: 'bind', source: '/home/you/project', path: '/home/you/project', flags: ['rec', 'ro', 'nosuid', 'nodev', 'create-dir'] },
      { op: 'bind', source: '/home/you/out', path: '/home/you/out', flags: ['rec', 'nosuid', 'nodev', 'create-dir'] },
    ]);
  });

  it('turns the root read-only before pivot-root, then hides, drops everything, and keeps PID 1 as init', () => {
    const names = plan.map((op) => op.op);
    expect(plan[names.indexOf('pivot-root') - 1]).toEqual({ op: 'remount-ro', path: '/', flags: [] });
    expect(plan[names.indexOf('pivot-root') + 1]).toEqual({ op: 'sysctl', path: '/proc/sys/user/max_user_namespaces', value: '0' });
    expect(allOf(plan, 'mask').map((op) => op.path)).toEqual([...MASKED_PATHS, '/etc/shadow']);
    expect(names.indexOf('mask')).toBeGreaterThan(names.indexOf('pivot-root'));
    expect(plan.slice(names.indexOf('chdir'))).toEqual([
      { op: 'chdir', path: '/home/you/project' },
      { op: 'cap-bounding', caps: 0n },
      { op: 'user', uid: 1000, gid: 1001, groups: [] },
      { op: 'cap-set', caps: 0n },
      { op: 'no-new-privs' },
      { op: 'seccomp', bpf: BPF },
      { op: 'close-fds' },
      { op: 'init' },
      { op: 'exec', argv: ['sh'], env: ['PATH=/usr/bin'] },
    ]);
    expect(names).toContain('loopback-up');
    expect(names).not.toContain('forward');
  });

  it('with the host network: no net namespace, no lo to bring up, the host /sys bound', () => {
    const host = compileSandboxPlan(spec({ network: 'host' }));
    expect(host[0]).toEqual({ op: 'namespaces', namespaces: ['user', 'mount', 'pid', 'uts', 'ipc', 'cgroup'] });
    expect(allOf(host, 'loopback-up')).toEqual([]);
    expect(allOf(host, 'bind').find((op) => op.path === '/sys')).toEqual({ op: 'bind', source: '/sys', path: '/sys', flags: ['rec', 'ro', 'nofollow'] });
  });

  it('with a user-mode stack: its own net namespace, the helper record, its resolv.conf over the host\'s, and the wait before exec', () => {
    const helper = { start: 'clone', argv: ['/usr/bin/pasta', '--config-net'], log: '/run/n.log', apiSocket: null, requests: [] } as const;
    const plan = compileSandboxPlan(spec({ network: { helper, resolvConf: '/run/user/1000/nook/sandbox-resolv.conf.tmp-1-a' } }));
    const names = plan.map((op) => op.op);
    expect(plan[0]).toEqual({ op: 'namespaces', namespaces: ['user', 'mount', 'pid', 'uts', 'ipc', 'net', 'cgroup'] });
    expect(plan[3]).toEqual({ op: 'network', helper });
    expect(allOf(plan, 'bind').find((op) => op.path === '/etc/resolv.conf')).toEqual({
      op: 'bind', source: '/run/user/1000/nook/sandbox-resolv.conf.tmp-1-a', path: '/etc/resolv.conf', flags: ['ro', 'nosuid', 'nodev', 'noexec', 'create-file'],
    });
    expect(names.indexOf('await-network')).toBe(names.indexOf('close-fds') - 1);
    expect(allOf(plan, 'loopback-up')).toHaveLength(1);
  });

  it('with a proxy: its socket dir bound read-only at /run/nook, the forwarder started after the privilege drop', () => {
    const proxied = compileSandboxPlan(spec({ proxy: { socketDir: '/run/user/1000/nook/proxy.tmp-1-abc', port: 3128 } }));
    const names = proxied.map((op) => op.op);
    expect(allOf(proxied, 'bind').find((op) => op.path === SANDBOX_PROXY_DIR)).toEqual({
      op: 'bind', source: '/run/user/1000/nook/proxy.tmp-1-abc', path: '/run/nook', flags: ['ro', 'nosuid', 'nodev', 'noexec', 'create-dir'],
    });
    expect(proxied.findIndex((op) => op.op === 'bind' && op.path === SANDBOX_PROXY_DIR)).toBeLessThan(names.indexOf('pivot-root'));
    expect(proxied.slice(names.indexOf('seccomp') + 1, names.indexOf('seccomp') + 3)).toEqual([
      { op: 'forward', port: 3128, socket: '/run/nook/proxy.sock' },
      { op: 'close-fds' },
    ]);
  });

  it('encodes, and explains its new ops as shell commands', () => {
    const proxied = compileSandboxPlan(spec({ proxy: { socketDir: '/x', port: 3128 } }));
    expect(encodePlan(proxied).toString()).toContain('12:tmpfs-rootfs,32:/run/user/1000/nook/sandbox-root,');
    expect(encodePlan(proxied).toString()).toContain('7:forward,4:3128,20:/run/nook/proxy.sock,');
    const lines = explainPlan(proxied);
    expect(lines).toContain('mount --make-rslave / && mount -t tmpfs -o nosuid,nodev,mode=755 tmpfs /run/user/1000/nook/sandbox-root   # the root: empty, in these namespaces only');
    expect(lines).toContain('socat TCP-LISTEN:3128,bind=127.0.0.1,fork UNIX-CONNECT:/run/nook/proxy.sock &   # nook-forward: this netns\'s 127.0.0.1:3128 to nook\'s proxy outside');
    expect(lines).toContain('mkdir -p /run/user/1000/nook/sandbox-root/usr && mount --rbind /usr /run/user/1000/nook/sandbox-root/usr && mount -o remount,bind,ro,nosuid,nodev /run/user/1000/nook/sandbox-root/usr');
  });
});

describe('--allow-host rules', () => {
  it('parses names, wildcards, IPv4, [IPv6] with or without a port', () => {
    expect(['Example.COM', '*.npmjs.org:443', '127.0.0.1:8080', '[::1]:9000', '::1'].map(parseAllowRule)).toEqual([
      { host: 'example.com', port: null },
      { host: '*.npmjs.org', port: 443 },
      { host: '127.0.0.1', port: 8080 },
      { host: '::1', port: 9000 },
      { host: '::1', port: null },
    ]);
    for (const bad of ['', 'a b', 'host:0', 'host:70000', 'host:x', '*', 'http://x', '[::1]:']) expect(() => parseAllowRule(bad), bad).toThrow(UsageError);
  });

  it('allows a host on the given port, or on 80 and 443; *.x only below x', () => {
    const rules = ['example.com', '*.npmjs.org', '127.0.0.1:8080', '[::1]:9000'].map(parseAllowRule);
    const cases: [string, number, boolean][] = [
      ['example.com', 443, true], ['EXAMPLE.com.', 80, true], ['example.com', 8443, false], ['www.example.com', 443, false],
      ['registry.npmjs.org', 443, true], ['npmjs.org', 443, false], ['evilnpmjs.org', 443, false],
      ['127.0.0.1', 8080, true], ['127.0.0.1', 8081, false], ['127.0.0.2', 8080, false], ['[::1]', 9000, true], ['::1', 9000, true],
    ];
    expect(cases.map(([host, port]) => isAllowed(rules, host, port))).toEqual(cases.map(([, , allowed]) => allowed));
    expect(rules.map(describeRule)).toEqual(['example.com:80,443', '*.npmjs.org:80,443', '127.0.0.1:8080', '[::1]:9000']);
  });
});

describe('the sandbox environment', () => {
  const caller = { PATH: '/usr/bin', HOME: '/home/you', TERM: 'xterm', SHELL: '/bin/zsh', FOO: 'bar', GITHUB_TOKEN: 't', NPM_TOKEN: 'n', MY_SECRET_X: 's', DB_PASSWORD: 'p', SSH_AUTH_SOCK: '/run/ssh', AWS_REGION: 'eu', API_KEY: 'k', KEYBOARD: 'us' };

  it('keeps only the basic variables by default, then -e', () => {
    expect(sandboxEnvironment({ caller, keepEnv: false, flags: ['A=1', 'FOO', 'MISSING', 'B=x=y'], extra: {} })).toEqual([
      'PATH=/usr/bin', 'HOME=/home/you', 'TERM=xterm', 'A=1', 'FOO=bar', 'B=x=y',
    ]);
  });

  it('--keep-env drops what looks like a secret unless -e names it; nook\'s own variables come before -e', () => {
    expect(sandboxEnvironment({ caller, keepEnv: true, flags: ['GITHUB_TOKEN', 'http_proxy=mine'], extra: { http_proxy: 'nook' } })).toEqual([
      'PATH=/usr/bin', 'HOME=/home/you', 'TERM=xterm', 'SHELL=/bin/zsh', 'FOO=bar', 'KEYBOARD=us', 'http_proxy=mine', 'GITHUB_TOKEN=t',
    ]);
    expect(['GITHUB_TOKEN', 'npm_token', 'X_SECRET', 'PASSWORD', 'AWS_PROFILE', 'SSH_AUTH_SOCK', 'GPG_KEY', 'FOO', 'KEYBOARD', 'SSH_AGENT_PID'].map(looksSecret)).toEqual([
      true, true, true, true, true, true, true, false, false, false,
    ]);
  });

  it('refuses a malformed -e', () => {
    expect(() => sandboxEnvironment({ caller, keepEnv: false, flags: ['=x'], extra: {} })).toThrow(UsageError);
  });
});

describe('sandboxView', () => {
  let dir: string;
  let home: string;
  let project: string;
  beforeAll(() => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'nook-unit-sandbox-')));
    home = join(dir, 'home');
    project = join(home, 'project');
    mkdirSync(join(project, 'data'), { recursive: true });
    writeFileSync(join(project, '.env'), 'x');
    symlinkSync(join(project, 'data'), join(dir, 'link-to-data'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const view = (over: Partial<Parameters<typeof sandboxView>[0]> = {}): ReturnType<typeof sandboxView> =>
    sandboxView({ cwd: project, home, rw: [], ro: [], hide: [], network: 'none', ...over });
  const entry = (v: ReturnType<typeof sandboxView>, path: string): unknown => v.view.find((e) => e.path === path);

  it('shares the host system dirs read-only, scratch tmpfs and $HOME, and the current directory read-only', () => {
    const v = view();
    expect(entry(v, '/usr')).toEqual({ kind: 'bind', source: '/usr', path: '/usr', writable: false, directory: true });
    expect(entry(v, '/etc')).toEqual({ kind: 'bind', source: '/etc', path: '/etc', writable: false, directory: true });
    expect(['/tmp', '/var/tmp', '/run', home].map((p) => entry(v, p))).toEqual([
      { kind: 'tmpfs', path: '/tmp', mode: 0o1777 }, { kind: 'tmpfs', path: '/var/tmp', mode: 0o1777 }, { kind: 'tmpfs', path: '/run', mode: 0o755 }, { kind: 'tmpfs', path: home, mode: 0o700 },
    ]);
    expect(entry(v, project)).toEqual({ kind: 'bind', source: project, path: project, writable: false, directory: true });
    expect(v.view.map((e) => e.path).filter((p) => ['/home', '/root', '/var', '/srv', '/mnt', '/media'].includes(p))).toEqual([]);
    expect([v.workdir, v.cwdNotShared]).toEqual([project, null]);
    expect(v.hidden).toContain('/etc/shadow');
  });

  it('--rw . makes the current directory writable; --ro and --rw take ~, relative paths and links (at their real path)', () => {
    const v = view({ rw: ['.'], ro: ['../../link-to-data'] });
    expect(entry(v, project)).toMatchObject({ writable: true });
    expect(entry(v, join(project, 'data'))).toEqual({ kind: 'bind', source: join(project, 'data'), path: join(project, 'data'), writable: false, directory: true });
    expect(entry(view({ ro: ['~/project/.env'] }), join(project, '.env'))).toEqual({ kind: 'bind', source: join(project, '.env'), path: join(project, '.env'), writable: false, directory: false });
  });

  it('does not share a current directory that holds $HOME, unless asked', () => {
    const v = view({ cwd: home });
    expect([entry(v, home), v.workdir]).toEqual([{ kind: 'tmpfs', path: home, mode: 0o700 }, home]);
    expect(v.cwdNotShared).toMatch(/holds your home directory/);
    expect(entry(view({ cwd: home, ro: ['.'] }), home)).toMatchObject({ kind: 'bind', writable: false });
    expect(view({ cwd: '/' }).workdir).toBe(home);
  });

  it('hides --hide paths that exist, at their real path', () => {
    expect(view({ hide: ['.env', 'missing', join(dir, 'link-to-data')] }).hidden.slice(-2)).toEqual([join(project, '.env'), join(project, 'data')]);
  });

  it('refuses /, kernel dirs, missing paths, and one path both --ro and --rw', () => {
    for (const over of [{ ro: ['/'] }, { rw: ['/proc/self'] }, { ro: ['/dev'] }, { rw: ['missing'] }, { ro: ['.'], rw: ['.'] }]) {
      expect(() => view(over), JSON.stringify(over)).toThrow(UsageError);
    }
  });
});

describe('profiles', () => {
  let config: string;
  beforeAll(() => {
    config = mkdtempSync(join(tmpdir(), 'nook-unit-profiles-'));
  });
  afterAll(() => rmSync(config, { recursive: true, force: true }));

  it('has the built-in build profile: the current directory writable, the registries allowed', async () => {
    const build = await loadProfile('build', config);
    expect(build).toBe(BUILTIN_PROFILES.build);
    expect(build.rw).toEqual(['.']);
    expect(build.allowHosts).toContain('registry.npmjs.org');
  });

  it('reads sandbox.json, and sandbox.toml before it; a profile there replaces a built-in', async () => {
    writeFileSync(join(config, 'sandbox.json'), JSON.stringify({ profile: { web: { 'allow-host': ['example.com'], 'keep-env': true } } }));
    expect(await loadProfile('web', config)).toEqual({ rw: [], ro: [], hide: [], allowHosts: ['example.com'], env: [], keepEnv: true });
    writeFileSync(join(config, 'sandbox.toml'), '[profile.build]\nrw = ["out"]\nnetwork = "none"\ntimeout = 60\nmemory = "1g"\n');
    expect(await loadProfile('build', config)).toEqual({ rw: ['out'], ro: [], hide: [], allowHosts: [], env: [], network: 'none', timeoutSeconds: 60, memory: '1g' });
    await expect(loadProfile('web', config)).rejects.toThrow(/no sandbox profile "web"/);
  });

  it('refuses unknown keys, wrong types and bad syntax, naming the file', async () => {
    const file = join(config, 'sandbox.toml');
    for (const [text, message] of [
      ['[profile.x]\nwritable = ["."]\n', /unknown key "writable"/],
      ['[profile.x]\nrw = "."\n', /"rw" must be a list of strings/],
      ['[profile.x]\nnetwork = "wifi"\n', /"network" must be one of/],
      ['[profile.x\n', /sandbox\.toml is not valid/],
    ] as const) {
      writeFileSync(file, text);
      await expect(loadProfile('x', config), text).rejects.toThrow(message);
    }
  });
});

describe('nook sandbox on the command line', () => {
  function parse(args: string[]): SandboxOptions {
    let invocation: Invocation | undefined;
    createProgram({ out: () => undefined, err: () => undefined }, (i) => (invocation = i), ['sandbox']).parse(['sandbox', ...args], { from: 'user' });
    if (invocation?.command !== 'sandbox') throw new Error(`parsed as ${invocation?.command}`);
    return invocation.options;
  }

  it('maps every flag; the command keeps its own options', () => {
    expect(
      parse(['--rw', '.', '--ro', '~/a', '--hide', 'x', '--hide', 'y', '--network', 'host', '--allow-host', 'h', '-e', 'A=1', '--keep-env',
        '--timeout', '1.5', '--memory', '1g', '--profile', 'build', 'ls', '-la', '--rw']),
    ).toEqual({
      rw: ['.'], ro: ['~/a'], hide: ['x', 'y'], network: 'host', allowHosts: ['h'], env: ['A=1'], keepEnv: true,
      timeoutSeconds: 1.5, memory: '1g', profile: 'build', explain: null, command: ['ls', '-la', '--rw'],
    });
    expect(parse(['--', 'true'])).toMatchObject({ network: undefined, keepEnv: undefined, timeoutSeconds: undefined, explain: null, command: ['true'] });
    expect(parse(['--explain', '--format', 'json', 'true']).explain).toBe('json');
    expect(parse(['--explain', 'true']).explain).toBe('shell');
  });

  it('refuses bad values', () => {
    for (const args of [['--network', 'wifi', 'true'], ['--timeout', '0', 'true'], ['--timeout', 'x', 'true'], ['--format', 'json', 'true'], ['--explain', '--format', 'yaml', 'true']]) {
      expect(() => parse(args), args.join(' ')).toThrow(UsageError);
    }
  });
});
