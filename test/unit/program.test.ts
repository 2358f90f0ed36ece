import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { parseLogTime, readEnvFile } from '../../src/cli/container-commands.js';
import { createProgram, type Invocation } from '../../src/cli/program.js';
import type { RunOptions } from '../../src/engine/container/run.js';
import { NO_LIMITS } from '../../src/store/containers.js';
import { DEFAULT_SECURITY } from '../../src/plan/security-options.js';
import { UsageError } from '../../src/errors.js';

interface Parsed {
  readonly invocation: Invocation | undefined;
  readonly out: string[];
  readonly err: string[];
}

function parse(args: string[]): Parsed {
  const out: string[] = [];
  const err: string[] = [];
  let invocation: Invocation | undefined;
  createProgram({ out: (l) => out.push(l), err: (l) => err.push(l) }, (i) => (invocation = i)).parse(args, { from: 'user' });
  return { invocation, out, err };
}

function run(...args: string[]): RunOptions {
  const { invocation } = parse(['run', ...args]);
  if (invocation?.command !== 'run') throw new Error(`parsed as ${invocation?.command}, not run`);
  return invocation.options;
}

function parseError(args: string[]): unknown {
  try {
    parse(args);
  } catch (err) {
    return err;
  }
  throw new Error(`parsing ${JSON.stringify(args)} did not fail`);
}

describe('nook run command line', () => {
  it('has the documented defaults', () => {
    expect(run('--rootfs', 'R')).toEqual({
      source: { kind: 'rootfs', path: 'R' }, entrypoint: undefined, command: [], env: [], workdir: undefined, hostname: undefined, user: undefined, groupAdd: [],
      readOnly: false, init: false, mounts: [], security: DEFAULT_SECURITY, remove: false, explain: false,
      network: { mode: { kind: 'default' }, publish: [], publishAll: false, dns: { servers: [], search: [], options: [] }, addHosts: [], noHosts: false },
      name: undefined, tty: false, interactive: false, detach: false, restart: { policy: 'no', maxRetries: 0 }, stopSignal: undefined, stopTimeout: undefined,
      limits: NO_LIMITS,
    });
  });

  it('reads the lifecycle options of run and create', () => {
    const o = run('--rootfs', 'R', '-d', '--name', 'web', '-i', '-t', '--restart', 'on-failure:3', 'true');
    expect(o).toMatchObject({ detach: true, name: 'web', interactive: true, tty: true, restart: { policy: 'on-failure', maxRetries: 3 } });
    expect(run('--rootfs', 'R', '-it', '--restart', 'always', 'true')).toMatchObject({ interactive: true, tty: true, restart: { policy: 'always', maxRetries: 0 } });
    expect(() => run('--rootfs', 'R', '--restart', 'sometimes', 'true')).toThrow(/invalid restart policy "sometimes"/);
    expect(() => run('--rootfs', 'R', '--restart', 'always:3', 'true')).toThrow(/invalid restart policy/);
    expect(() => run('--rootfs', 'R', '--rm', '--restart', 'always', 'true')).toThrow(/--rm option conflicts with --restart/);
    expect(run('--rootfs', 'R', '--stop-signal', 'int', '--stop-timeout', '3', 'true')).toMatchObject({ stopSignal: 'SIGINT', stopTimeout: 3 });
    expect(run('--rootfs', 'R', '--stop-signal', '9', 'true').stopSignal).toBe('SIGKILL');
    expect(() => run('--rootfs', 'R', '--stop-signal', 'NOPE', 'true')).toThrow(/invalid signal "NOPE"/);
    expect(() => run('--rootfs', 'R', '--name', '-x', 'true')).toThrow();
    expect(() => run('--rootfs', 'R', '--name', 'a/b', 'true')).toThrow(/invalid container name "a\/b"/);
    const { invocation } = parse(['create', '--name', 'c', '--rootfs', 'R', 'true']);
    expect(invocation).toMatchObject({ command: 'create', options: { name: 'c', command: ['true'] } });
  });

  it('parses the container commands', () => {
    expect(parse(['ps', '-aq']).invocation).toMatchObject({ command: 'ps', options: { all: true, quiet: true, format: { kind: 'table' }, noTrunc: false } });
    expect(parse(['container', 'ls', '--format', 'json']).invocation).toMatchObject({ command: 'ps', options: { format: { kind: 'json' } } });
    expect(parse(['ps', '-a', '--filter', 'name=^web', '-f', 'status=exited']).invocation).toMatchObject({
      command: 'ps', options: { filters: [{ key: 'name', value: '^web' }, { key: 'status', value: 'exited' }] },
    });
    expect(() => parse(['ps', '--filter', 'label=x'])).toThrow(/invalid filter "label=x"/);
    expect(() => parse(['ps', '--filter', 'status=sleeping'])).toThrow(/invalid status "sleeping"/);
    expect(parse(['ps', '--format', '{{.Names}}']).invocation).toMatchObject({ command: 'ps', options: { format: { kind: 'template', template: '{{.Names}}' } } });
    expect(parse(['inspect', '-f', '{{.State.Pid}}', 'c']).invocation).toMatchObject({ command: 'inspect', names: ['c'], format: '{{.State.Pid}}' });
    expect(parse(['logs', '-f', '--tail', '5', '-t', 'c']).invocation).toMatchObject({ command: 'logs', options: { container: 'c', follow: true, tail: 5, timestamps: true } });
    expect(parse(['exec', '-it', '-u', '1', '-w', '/x', 'c', 'sh', '-c', 'echo -e']).invocation).toMatchObject({
      command: 'exec', options: { container: 'c', argv: ['sh', '-c', 'echo -e'], interactive: true, tty: true, user: '1', workdir: '/x' },
    });
    expect(parse(['stop', '-t', '3', 'a', 'b']).invocation).toMatchObject({ command: 'stop', containers: ['a', 'b'], timeout: 3 });
    expect(parse(['kill', '-s', 'TERM', 'a']).invocation).toMatchObject({ command: 'kill', signal: 'TERM' });
    expect(parse(['rm', '-fv', 'a']).invocation).toMatchObject({ command: 'rm', force: true, volumes: true, timeout: undefined });
    expect(parse(['rm', '-f', '-t', '0', 'a']).invocation).toMatchObject({ command: 'rm', force: true, timeout: 0 });
    expect(parse(['container', 'rm', 'a']).invocation).toMatchObject({ command: 'rm', force: false });
    expect(parse(['rename', 'a', 'b']).invocation).toMatchObject({ command: 'rename', container: 'a', name: 'b' });
    expect(parse(['inspect', 'x']).invocation).toMatchObject({ command: 'inspect', names: ['x'], only: null });
    expect(() => parse(['logs', '--tail', 'many', 'c'])).toThrow(/invalid --tail "many"/);
  });

  it('reads every option', () => {
    const o = run('--rootfs', 'R', '--rm', '-w', '/w', '--hostname', 'h', '-u', '1:2', '--group-add', 'wheel', '--group-add', '5', '--read-only', '--init', '--network', 'host', '--explain', 'true');
    expect(o).toMatchObject({ source: { kind: 'rootfs', path: 'R' }, remove: true, workdir: '/w', hostname: 'h', user: '1:2', groupAdd: ['wheel', '5'], readOnly: true, init: true, network: { mode: { kind: 'host' } }, explain: true, command: ['true'] });
  });

  it('reads the network options', () => {
    const o = run(
      '--rootfs', 'R', '--net', 'slirp4netns:allow_host_loopback=true,mtu=1500', '-p', '127.0.0.1:8080:80', '-p', '53/udp', '--publish', '9000-9001:90-91', '-P',
      '--dns', '192.0.2.53', '--dns-search', 'example.test', '--dns-option', 'ndots:2', '--dns-opt', 'edns0', '--add-host', 'db:192.0.2.9', 'true',
    ).network;
    expect(o.mode).toEqual({ kind: 'slirp4netns', options: expect.objectContaining({ allowHostLoopback: true, mtu: 1500, enableIpv6: true }) });
    expect(o.publish).toEqual([
      { hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'tcp' },
      { hostIp: '', hostPort: 0, containerPort: 53, protocol: 'udp' },
      { hostIp: '', hostPort: 9000, containerPort: 90, protocol: 'tcp' },
      { hostIp: '', hostPort: 9001, containerPort: 91, protocol: 'tcp' },
    ]);
    expect(o).toMatchObject({ publishAll: true, dns: { servers: ['192.0.2.53'], search: ['example.test'], options: ['ndots:2', 'edns0'] }, addHosts: [{ name: 'db', ip: '192.0.2.9' }], noHosts: false });
    expect(run('--rootfs', 'R', '--network', 'pasta:--map-gw,-4', '--no-hosts', 'true').network).toMatchObject({ mode: { kind: 'pasta', options: ['--map-gw', '-4'] }, noHosts: true });
    expect(run('--rootfs', 'R', '--network', 'container:web', 'true').network.mode).toEqual({ kind: 'container', ref: 'web' });
    expect(parse(['port', 'web', '80/udp']).invocation).toEqual({ command: 'port', container: 'web', port: '80/udp' });
  });

  it("leaves options after the command to the command", () => {
    expect(run('--rootfs', 'R', 'sh', '-c', 'exit 1').command).toEqual(['sh', '-c', 'exit 1']);
    const o = run('--rootfs', 'R', 'env', '-e', 'A=1', '--rm', '--network', 'bogus');
    expect(o.command).toEqual(['env', '-e', 'A=1', '--rm', '--network', 'bogus']);
    expect(o.env).toEqual([]);
    expect(o.remove).toBe(false);
  });

  it('takes the command after --', () => {
    expect(run('--rootfs', 'R', '--', '-e', 'x').command).toEqual(['-e', 'x']);
    expect(run('--rootfs', 'R', '--', 'ls', '--', '-l').command).toEqual(['ls', '--', '-l']);
  });

  it('collects repeated -e in order', () => {
    expect(run('--rootfs', 'R', '-e', 'A=1', '--env', 'B=2', '-e', 'HOME', 'true').env).toEqual(['A=1', 'B=2', 'HOME']);
  });

  it('turns --security-opt no-new-privileges on, and =false off', () => {
    expect(run('--rootfs', 'R', '--security-opt', 'no-new-privileges').security.noNewPrivs).toBe(true);
    expect(run('--rootfs', 'R', '--security-opt', 'no-new-privileges=true').security.noNewPrivs).toBe(true);
    expect(run('--rootfs', 'R', '--security-opt', 'no-new-privileges:true').security.noNewPrivs).toBe(true);
    expect(run('--rootfs', 'R', '--security-opt', 'no-new-privileges', '--security-opt', 'no-new-privileges=false').security.noNewPrivs).toBe(false);
  });

  it('reads the seccomp, mask and unmask security options', () => {
    const o = run('--rootfs', 'R', '--security-opt', 'seccomp=/p.json', '--security-opt', 'mask=/a/b/:/c', '--security-opt', 'unmask=/proc/kcore').security;
    expect(o).toMatchObject({ seccomp: { kind: 'profile', path: '/p.json' }, mask: ['/a/b', '/c'], unmask: ['/proc/kcore'] });
    expect(run('--rootfs', 'R', '--security-opt', 'seccomp=unconfined', '--security-opt', 'unmask=ALL').security).toMatchObject({ seccomp: { kind: 'unconfined' }, unmask: 'ALL' });
  });

  it('reads capability names with or without CAP_, in any case, and all', () => {
    const o = run('--rootfs', 'R', '--cap-add', 'net_admin', '--cap-add', 'CAP_NET_RAW,sys_time', '--cap-drop', 'ALL', '--privileged', '--sysctl', 'net.ipv4.ip_forward=1').security;
    expect(o).toMatchObject({ capAdd: ['NET_ADMIN', 'NET_RAW', 'SYS_TIME'], capDrop: ['ALL'], privileged: true, sysctls: ['net.ipv4.ip_forward=1'] });
  });

  it('refuses unknown security options and network modes with a UsageError', () => {
    for (const args of [
      ['--security-opt', 'label=disable'],
      ['--security-opt', 'no-new-privileges=maybe'],
      ['--security-opt', 'seccomp='],
      ['--security-opt', 'mask=relative'],
      ['--security-opt', 'unmask=/'],
      ['--cap-add', 'sys_bogus'],
      ['--cap-drop', 'CAP_'],
      ['--network', 'bridge'],
      ['--network', 'host:x'],
      ['--network', 'container:'],
      ['--network', 'slirp4netns:mtu=9'],
      ['--network', 'slirp4netns:port_handler=rootlesskit'],
      ['--network', 'pasta:--netns,/x'],
      ['-p', '80:'],
      ['-p', '0:80'],
      ['-p', '8000-8002:80-81'],
      ['-p', '80/sctp'],
      ['-p', 'nowhere:80:80'],
      ['--add-host', 'db'],
      ['--add-host', 'db:not-an-ip'],
    ]) {
      const err = parseError(['run', '--rootfs', 'R', ...args, 'true']);
      expect(err, args.join(' ')).toBeInstanceOf(UsageError);
      expect((err as UsageError).hint).toBeTruthy();
    }
  });

  it('refuses an unknown flag, or neither an image nor --rootfs, without exiting the process', () => {
    const unknown = parseError(['run', '--rootfs', 'R', '--bogus', 'true']);
    expect(unknown).toBeInstanceOf(CommanderError);
    expect((unknown as CommanderError).code).toBe('commander.unknownOption');
    expect(parseError(['run'])).toBeInstanceOf(UsageError);
  });

  it('takes the first argument as the image without --rootfs', () => {
    const o = run('-e', 'A=1', 'alpine:3', 'sh', '-c', 'echo $A');
    expect(o.source).toEqual({ kind: 'image', name: 'alpine:3', storageDriver: undefined, pull: { policy: 'missing', tlsVerify: true } });
    expect(o.command).toEqual(['sh', '-c', 'echo $A']);
  });

  it('reads --pull and --tls-verify for the image, and refuses an unknown policy', () => {
    const o = run('--pull', 'never', '--tls-verify=false', 'img');
    expect(o.source).toMatchObject({ kind: 'image', pull: { policy: 'never', tlsVerify: false } });
    expect(parseError(['run', '--pull', 'sometimes', 'img'])).toBeInstanceOf(UsageError);
  });

  it('reads --entrypoint as a command or a JSON array', () => {
    expect(run('--entrypoint', '/bin/true', 'img').entrypoint).toEqual(['/bin/true']);
    expect(run('--entrypoint', '["/bin/sh","-c"]', 'img').entrypoint).toEqual(['/bin/sh', '-c']);
    expect(run('--entrypoint', '', 'img').entrypoint).toEqual([]);
    expect(parseError(['run', '--entrypoint', '[1]', 'img'])).toBeInstanceOf(UsageError);
  });

  it('reads -v, --volume, --mount and --tmpfs of run (top-level -v stays the version)', () => {
    const o = run('--rootfs', 'R', '-v', '/h:/a:ro', '--volume', 'v:/b', '--mount', 'type=tmpfs,dst=/c', '--tmpfs', '/d', 'true');
    expect(o.mounts.map((m) => [m.kind, m.destination])).toEqual([['bind', '/a'], ['volume', '/b'], ['tmpfs', '/c'], ['tmpfs', '/d']]);
    expect(o.command).toEqual(['true']);
    expect(parseError(['run', '--rootfs', 'R', '-v', '/h:/a', '-v', 'x:/a'])).toBeInstanceOf(UsageError);
  });

  it('parses the volume commands', () => {
    expect(parse(['volume', 'create']).invocation).toEqual({ command: 'volume-create', name: undefined });
    expect(parse(['volume', 'ls', '--format', 'json', '-q']).invocation).toEqual({ command: 'volume-ls', options: { format: 'json', quiet: true } });
    expect(parse(['volume', 'inspect', 'a', 'b']).invocation).toEqual({ command: 'volume-inspect', names: ['a', 'b'] });
    expect(parse(['volume', 'rm', '-f', 'a']).invocation).toEqual({ command: 'volume-rm', options: { names: ['a'], force: true } });
    expect(parse(['volume', 'prune']).invocation).toEqual({ command: 'volume-prune', options: { force: false } });
  });

  it('prints the version through the io it was given', () => {
    const out: string[] = [];
    const program = createProgram({ out: (l) => out.push(l), err: () => undefined }, () => undefined);
    expect(() => program.parse(['--version'], { from: 'user' })).toThrow(expect.objectContaining({ code: 'commander.version' }));
    expect(out).toEqual(['0.1.0']);
  });
});

describe('the quick parser for run, create and exec', () => {
  const parseQuick = (args: string[]): Invocation | undefined => {
    let invocation: Invocation | undefined;
    createProgram({ out: () => undefined, err: () => undefined }, (i) => (invocation = i), args).parse(args, { from: 'user' });
    return invocation;
  };

  it('reads the same invocation as the whole parser', () => {
    for (const args of [
      ['run', '--rm', '-d', '--name', 'x', '--rootfs', 'R', '-e', 'A=1', '--', 'sh', '-c', 'true'],
      ['create', '--restart', 'always', 'alpine', 'sleep', '1'],
      ['exec', '-it', '-u', '1', 'c', 'ls', '-l'],
    ]) {
      expect(parseQuick(args)).toEqual(parse(args).invocation);
    }
  });

  it('still refuses unknown options', () => {
    expect(() => parseQuick(['run', '--no-such-flag', 'alpine'])).toThrow(/unknown option '--no-such-flag'/);
  });
});

describe('--env-file', () => {
  it('reads NAME=VALUE lines, skipping blank lines and comments, and refuses a missing file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nook-env-'));
    const file = join(dir, 'env');
    writeFileSync(file, '# comment\nA=1\r\n\n  # indented comment\nB=two words\nHOME\n');
    expect(readEnvFile(file)).toEqual(['A=1', 'B=two words', 'HOME']);
    expect(() => readEnvFile(join(dir, 'missing'))).toThrow(/cannot read env file .*missing: ENOENT/);
    rmSync(dir, { recursive: true });
  });
});

describe('logs --since/--until times', () => {
  it('reads RFC 3339 times, Unix seconds and Go durations before now', () => {
    const now = Date.parse('2026-01-01T12:00:00Z');
    expect(parseLogTime('2026-01-01T11:00:00Z', '--since', now)).toBe(Date.parse('2026-01-01T11:00:00Z'));
    expect(parseLogTime('1700000000', '--since', now)).toBe(1_700_000_000_000);
    expect(parseLogTime('1h30m', '--since', now)).toBe(now - 90 * 60_000);
    expect(parseLogTime('250ms', '--until', now)).toBe(now - 250);
    expect(() => parseLogTime('yesterday', '--since', now)).toThrow(/invalid --since "yesterday"/);
  });
});
