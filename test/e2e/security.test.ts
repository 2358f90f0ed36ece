import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostPlatform } from '../../src/image/platform.js';
import { MASKED_PATHS } from '../../src/plan/hardening.js';
import { decodeNetstrings } from '../../src/runtime/report.js';
import { nook, show, waitFor, type NookResult, busyboxWorkspace } from '../helpers/nook.js';
import { OciLayout } from '../helpers/oci-image.js';
import { makeBusyboxRootfs } from '../helpers/rootfs.js';
import { buildTrySyscall } from '../helpers/try-syscall.js';

/**
 * The adversarial suite (docs/security.md): what a process in a container tries, and what
 * nook must refuse. System calls are made by a static probe (test/helpers/try-syscall.c)
 * that prints "ok" or "errno N".
 */
const EPERM = 'errno 1';
const ENOSYS = 'errno 38';
const ENOTTY = 'errno 25';
const CLONE_NEWUSER = '0x10000000';
/** statmount(2): a real system call (Linux 6.8) the default profile does not list. */
const STATMOUNT = '457';

let tmp: { path: string; cleanup: () => void };
let env: NodeJS.ProcessEnv;
let rootfs: string;
let hostMarker: string;

beforeAll(() => {
  ({ tmp, env, rootfs } = busyboxWorkspace('security'));
  copyFileSync(buildTrySyscall(tmp.path), join(rootfs, 'bin', 'try-syscall'));
  hostMarker = join(tmp.path, 'host-marker');
  writeFileSync(hostMarker, 'host');
});
afterAll(() => tmp.cleanup());

function run(flags: readonly string[], argv: readonly string[], root = rootfs): Promise<NookResult> {
  return nook(['run', '--rm', '--rootfs', root, ...flags, '--', ...argv], { env });
}

async function sh(script: string, flags: readonly string[] = [], root = rootfs): Promise<string> {
  const result = await run(flags, ['sh', '-c', script], root);
  expect(result.status, show(result)).toBe(0);
  return result.stdout;
}

/** Each call's result, one per line, from a single container. */
async function probe(calls: readonly (readonly string[])[], flags: readonly string[] = []): Promise<string[]> {
  const out = await sh(calls.map((call) => `try-syscall ${call.join(' ')}`).join('; '), flags);
  return out.trim().split('\n');
}

describe('the default seccomp filter', () => {
  it('denies the dangerous system calls with EPERM', async () => {
    const denied = [
      ['add_key'], ['keyctl'], ['request_key'], ['bpf'], ['perf_event_open'], ['kexec_load'], ['kexec_file_load'],
      ['init_module'], ['finit_module'], ['delete_module'], ['open_by_handle_at'], ['userfaultfd'], ['clock_settime'],
      ['settimeofday'], ['adjtimex'], ['clock_adjtime'], ['swapon'], ['swapoff'], ['reboot'], ['acct'], ['quotactl'],
      ['mount'], ['umount2'], ['pivot_root'], ['unshare', CLONE_NEWUSER], ['setns', '0', '0'], ['fsopen'], ['open_tree'],
      ['io_uring_setup'], ['syslog'],
    ];
    const results = await probe(denied);
    expect(Object.fromEntries(denied.map((call, i) => [call[0], results[i]]))).toEqual(Object.fromEntries(denied.map((call) => [call[0], EPERM])));
  });

  it('refuses new namespaces: clone with namespace flags, unshare, and nested unshare -U', async () => {
    // CLONE_NEWUSER|SIGCHLD, CLONE_NEWPID|SIGCHLD, CLONE_NEWNS
    expect(await probe([['clone', '0x10000011'], ['clone', '0x20000011'], ['unshare', '0x20000']])).toEqual([EPERM, EPERM, EPERM]);
    const nested = await run([], ['unshare', '-U', '-r', 'sh', '-c', 'mount -t proc proc /proc && echo mounted']);
    expect(nested.status, show(nested)).not.toBe(0);
    expect(nested.stdout).not.toContain('mounted');
    expect(nested.stderr).toMatch(/Operation not permitted/);
  });

  it('answers ENOSYS for system calls it does not list, clone3 among them', async () => {
    expect(await probe([[STATMOUNT], ['clone3'], ['1000']])).toEqual([ENOSYS, ENOSYS, ENOSYS]);
    // Without the filter the kernel has statmount and answers otherwise: ENOSYS above was the filter's.
    expect(await probe([[STATMOUNT]], ['--security-opt', 'seccomp=unconfined'])).not.toEqual([ENOSYS]);
  });

  it('lets ordinary system calls through', async () => {
    // fork-like clone, AF_UNIX socket, the personality query; uname(NULL) reaches the kernel (EFAULT).
    expect(await probe([['getpid'], ['clone', '17'], ['socket', '1', '1', '0'], ['personality', '0xffffffff'], ['uname']])).toEqual(['ok', 'ok', 'ok', 'ok', 'errno 14']);
  });

  it('is installed with and without no_new_privs, and off with seccomp=unconfined or --privileged', async () => {
    expect(await sh('grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status')).toMatch(/NoNewPrivs:\s+0\nSeccomp:\s+2\n/);
    expect(await sh('grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status', ['--security-opt', 'no-new-privileges'])).toMatch(/NoNewPrivs:\s+1\nSeccomp:\s+2\n/);
    expect(await probe([['unshare', CLONE_NEWUSER]], ['--security-opt', 'no-new-privileges'])).toEqual([EPERM]);
    for (const flags of [['--security-opt', 'seccomp=unconfined'], ['--privileged']]) {
      expect(await sh('grep "^Seccomp:" /proc/self/status', flags), flags.join(' ')).toMatch(/Seccomp:\s+0\n/);
      expect(await probe([['unshare', CLONE_NEWUSER]], flags)).toEqual(['ok']);
    }
  });

  it('denies ioctl TIOCSTI and TIOCLINUX with EPERM, whatever the upper 32 bits hold, in a filter of its own', async () => {
    // On fd 0, /dev/null: without the filter the kernel answers ENOTTY, as it does to TIOCGWINSZ.
    const calls = [['ioctl', '0', '0x5412'], ['ioctl', '0', '0xdead00005412'], ['ioctl', '0', '0x541c'], ['ioctl', '0', '0x5413']];
    expect(await probe(calls)).toEqual([EPERM, EPERM, EPERM, ENOTTY]);
    expect(await probe(calls, ['--security-opt', 'seccomp=unconfined'])).toEqual([ENOTTY, ENOTTY, ENOTTY, ENOTTY]);
    // The allow list and the terminal filter, stacked.
    expect(await sh('grep "^Seccomp_filters:" /proc/self/status')).toMatch(/^Seccomp_filters:\s+2\n$/);
  });

  it('allows what CAP_SYS_ADMIN makes legitimate once it is added', async () => {
    expect(await probe([['unshare', CLONE_NEWUSER], ['clone3']], ['--cap-add', 'sys_admin'])).toEqual(['ok', 'errno 22']);
  });

  it('keeps the compiled filter in the private runtime dir', async () => {
    await sh('true');
    const dir = join(env.XDG_RUNTIME_DIR!, 'nook', 'seccomp');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const entries = readdirSync(dir);
    expect(entries.length).toBeGreaterThan(0);
    for (const entry of entries) expect(statSync(join(dir, entry)).mode & 0o777).toBe(0o600);
  });
});

describe('seccomp profiles', () => {
  function profile(name: string, content: unknown): string {
    const path = join(tmp.path, name);
    writeFileSync(path, JSON.stringify(content));
    return path;
  }

  it('applies a custom profile: mkdir fails with the errno it gives', async () => {
    const path = profile('no-mkdir.json', {
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 122 }],
    });
    const result = await run(['--security-opt', `seccomp=${path}`], ['mkdir', '/tmp/made']);
    expect(result.status, show(result)).toBe(1);
    expect(result.stderr).toMatch(/Disk quota exceeded/);
    expect(existsSync(join(rootfs, 'tmp', 'made'))).toBe(false);
    expect(await probe([['mkdirat', '-100', '0']], ['--security-opt', `seccomp=${path}`])).toEqual(['errno 122']);
    // It replaces the default's filters, the terminal one too.
    expect(await sh('grep "^Seccomp_filters:" /proc/self/status', ['--security-opt', `seccomp=${path}`])).toMatch(/^Seccomp_filters:\s+1\n$/);
  });

  it('names the profile when it denies what the runtime does after installing it', async () => {
    const path = profile('no-setuid.json', {
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['setresuid', 'setresgid', 'setgroups'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
    });
    const result = await run(['--security-opt', `seccomp=${path}`], ['true']);
    expect(result.status, show(result)).toBe(125);
    expect(result.stderr).toContain(`after the seccomp profile ${path} was installed`);
    expect(result.stderr).toMatch(/hint: the profile must allow/);
  });

  it('honours argument conditions', async () => {
    const path = profile('no-inet.json', {
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_AARCH64'],
      syscalls: [{ names: ['socket'], action: 'SCMP_ACT_ERRNO', errnoRet: 97, args: [{ index: 0, value: 2, op: 'SCMP_CMP_EQ' }] }],
    });
    expect(await probe([['socket', '2', '2', '0'], ['socket', '1', '1', '0']], ['--security-opt', `seccomp=${path}`])).toEqual(['errno 97', 'ok']);
  });

  it('refuses a malformed or missing profile, naming it', async () => {
    const bad = profile('bad.json', { defaultAction: 'SCMP_ACT_MAYBE', syscalls: [] });
    for (const path of [bad, join(tmp.path, 'missing.json')]) {
      const result = await run(['--security-opt', `seccomp=${path}`], ['true']);
      expect(result.status, show(result)).toBe(125);
      expect(result.stderr).toContain(path);
    }
  });

  it('keeps the profile a container was created with for every start and exec, whatever becomes of the file', async () => {
    const path = profile('kept.json', {
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 122 }],
    });
    const name = 'kept-profile';
    const created = await nook(['create', '--name', name, '--rootfs', rootfs, '--security-opt', `seccomp=${path}`, '--', 'sleep', '1000'], { env });
    expect(created.status, show(created)).toBe(0);
    try {
      // The file now allows everything, then it is gone: neither may change the container's filter.
      writeFileSync(path, JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [] }));
      for (const step of ['changed', 'removed']) {
        if (step === 'removed') {
          rmSync(path);
          const stopped = await nook(['stop', '-t', '0', name], { env });
          expect(stopped.status, show(stopped)).toBe(0);
        }
        const started = await nook(['start', name], { env });
        expect(started.status, show(started)).toBe(0);
        const exec = await nook(['exec', name, 'try-syscall', 'mkdirat', '-100', '0'], { env });
        expect({ step, out: exec.stdout.trim() }, show(exec)).toEqual({ step, out: 'errno 122' });
      }
    } finally {
      await nook(['rm', '-f', '-t', '0', name], { env });
    }
  });
});

describe('capabilities', () => {
  it('--cap-drop all leaves none, and nothing inheritable or ambient', async () => {
    const out = await sh('grep -E "^Cap" /proc/self/status', ['--cap-drop', 'all']);
    expect(out).toBe('CapInh:\t0000000000000000\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapBnd:\t0000000000000000\nCapAmb:\t0000000000000000\n');
  });

  it('--cap-add gives a capability that works', async () => {
    const script = 'grep CapEff /proc/self/status; ip addr add 10.9.8.7/32 dev lo 2>/dev/null && echo added || echo refused';
    expect(await sh(script)).toMatch(/CapEff:\s+00000000800405fb\nrefused\n/);
    // NET_ADMIN is bit 12: 0x1000.
    expect(await sh(script, ['--cap-add', 'CAP_NET_ADMIN'])).toMatch(/CapEff:\s+00000000800415fb\nadded\n/);
  });

  it('--privileged holds every capability, without masks or read-only kernel paths', async () => {
    const out = await sh('grep CapEff /proc/self/status; grep -cE " /proc/(kcore|sys|keys) " /proc/mounts || true', ['--privileged']);
    const lastCap = Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'));
    expect(out).toBe(`CapEff:\t${((1n << BigInt(lastCap + 1)) - 1n).toString(16).padStart(16, '0')}\n0\n`);
  });

  it('refuses a capability both added and dropped, and an unknown one', async () => {
    for (const flags of [['--cap-add', 'net_raw', '--cap-drop', 'NET_RAW'], ['--cap-add', 'sys_bogus']]) {
      const result = await run(flags, ['true']);
      expect(result.status, show(result)).toBe(125);
      expect(result.stderr).toMatch(/capability/);
    }
  });
});

describe('masked paths and sysctls', () => {
  it('masks more with mask= and leaves default paths alone with unmask=', async () => {
    const out = await sh(
      'ls -A /home/app | wc -l; touch /home/app/x 2>/dev/null && echo written || echo refused; grep -cE " /proc/(kcore|sys) " /proc/mounts || true',
      ['--security-opt', 'mask=/home/app', '--security-opt', 'unmask=/proc/kcore:/proc/sys'],
    );
    expect(out).toBe('0\nrefused\n0\n');
    expect(await sh('grep -c " /proc/" /proc/mounts || true', ['--security-opt', 'unmask=ALL'])).toBe('0\n');
  });

  for (const variant of ['missing', 'a symlink'] as const) {
    it(`masks with the real null device when the rootfs's /dev/null is ${variant}`, async () => {
      const root = makeBusyboxRootfs(join(tmp.path, `null-${variant.replace(' ', '-')}`));
      if (variant === 'missing') rmSync(join(root, 'dev'), { recursive: true });
      else symlinkSync('/etc/passwd', join(root, 'dev', 'null'));
      const files = MASKED_PATHS.filter((p) => existsSync(p) && !statSync(p).isDirectory());
      const dirs = MASKED_PATHS.filter((p) => existsSync(p) && statSync(p).isDirectory());
      const script = [
        ...files.map((f) => `echo "$(stat -c %F:%t:%T ${f})"`),
        ...dirs.map((d) => `echo "$(ls -A ${d} | wc -l) $(touch ${d}/x 2>/dev/null && echo written || echo refused)"`),
      ].join('; ');
      const out = await sh(script, [], root);
      expect(out.trim().split('\n')).toEqual([...files.map(() => 'character special file:1:3'), ...dirs.map(() => '0 refused')]);
    });
  }

  it('sets namespaced sysctls before /proc/sys turns read-only', async () => {
    const out = await sh('cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax; grep -c " /proc/sys " /proc/mounts', [
      '--sysctl', 'net.ipv4.ip_forward=1', '--sysctl', 'kernel/shmmax=123456',
    ]);
    expect(out).toBe('1\n123456\n1\n');
  });

  it('refuses sysctls of the host', async () => {
    for (const flags of [['--sysctl', 'kernel.core_pattern=|/tmp/x'], ['--sysctl', 'vm.swappiness=1'], ['--network', 'host', '--sysctl', 'net.ipv4.ip_forward=1'], ['--sysctl', 'net/../kernel/core_pattern=x']]) {
      const result = await run(flags, ['true']);
      expect(result.status, show(result)).toBe(125);
      expect(result.stderr, flags.join(' ')).toMatch(/sysctl/);
    }
  });
});

describe('the runtime decodes the new ops strictly', () => {
  const RUNTIME = join(import.meta.dirname, '..', '..', 'native', 'build', 'nook-runtime');
  const netstrings = (fields: readonly string[]): string => fields.map((f) => `${Buffer.byteLength(f)}:${f},`).join('');
  const uid = String(process.getuid!());

  /** Runs nook-runtime on a plan with the given setup records; returns its exit status and report fields. */
  function runPlan(setup: readonly string[]): { status: number | null; report: string[] } {
    const planFile = join(tmp.path, 'plan');
    const reportFile = join(tmp.path, 'report');
    const launch = ['nook-plan', '1', 'namespaces', 'user', 'uid-map', '', `0 ${uid} 1`, 'gid-map', '', `0 ${uid} 1`];
    writeFileSync(planFile, netstrings([...launch, ...setup, 'exec', '1', 'true', '0', 'end']));
    writeFileSync(reportFile, '');
    const fds = [openSync(planFile, 'r'), openSync(reportFile, 'r+')];
    try {
      const result = spawnSync(RUNTIME, [], { stdio: ['ignore', 'pipe', 'pipe', fds[0]!, fds[1]!], env: {} });
      return { status: result.status, report: decodeNetstrings(readFileSync(reportFile)) ?? [] };
    } finally {
      fds.forEach((fd) => closeSync(fd));
    }
  }

  it('refuses a malformed seccomp program or a second session before creating anything', () => {
    const insn = '0600000000000000';
    // The faulty record's index: after namespaces (0), uid-map (1) and gid-map (2).
    const FIRST = '3';
    for (const [setup, why, at] of [
      [['seccomp', 'zz'.repeat(8)], /lowercase hex/, FIRST],
      [['seccomp', insn.toUpperCase().replace(/0/g, 'A')], /lowercase hex/, FIRST],
      [['seccomp', '00'], /1 to 4096 instructions/, FIRST],
      [['seccomp', ''], /1 to 4096 instructions/, FIRST],
      [['seccomp', insn.repeat(4097)], /1 to 4096 instructions/, FIRST],
      [['session', 'session'], /given twice/, '4'],
      [['sysctl', '/etc/shadow', 'x'], /not under \/proc\/sys/, FIRST],
      [['sysctl', '/proc/sys/../../etc/shadow', 'x'], /normalized/, FIRST],
      [['bind', '/tmp', '/mnt', 'rec,private,slave'], /more than one propagation flag/, FIRST],
      [['bind', '/tmp', '/mnt', 'rshared'], /unknown flag 'rshared'/, FIRST],
    ] as const) {
      const { status, report } = runPlan(setup);
      expect(status, setup.join(' ').slice(0, 60)).toBe(125);
      expect(report.slice(0, 3), setup.join(' ').slice(0, 60)).toEqual(['error', at, 'plan']);
      expect(report[4]).toMatch(why);
    }
  });

  it('installs well-formed programs, one after the other', () => {
    // ret SECCOMP_RET_ALLOW: the smallest filter there is.
    expect(runPlan(['seccomp', '060000000000ff7f']).status).toBe(0);
    expect(runPlan(['seccomp', '060000000000ff7f', 'seccomp', '060000000000ff7f']).status).toBe(0);
  });
});

describe('hostile images', () => {
  /** Loads an image of `root` with `config` from an oci-archive; returns its name. */
  async function loadImage(name: string, root: string, config: Record<string, unknown>): Promise<string> {
    const layout = new OciLayout(join(tmp.path, `${name}-layout`));
    const image = layout.image([root], { os: 'linux', architecture: hostPlatform().architecture }, config);
    layout.ref(`localhost/${name}:1`, image.manifest);
    const archive = join(tmp.path, `${name}.tar`);
    execFileSync('tar', ['-C', layout.dir, '-cf', archive, '.']);
    const loaded = await nook(['load', '-i', archive], { env });
    expect(loaded.status, show(loaded)).toBe(0);
    return `localhost/${name}:1`;
  }

  it('refuses an image WorkingDir that leads out of the rootfs through /proc/self/fd', async () => {
    const image = await loadImage('fd-workdir', rootfs, { WorkingDir: '/proc/self/fd/0', Cmd: ['pwd'] });
    const result = await nook(['run', '--rm', image], { env });
    expect(result.status, show(result)).toBe(125);
    expect(result.stderr).toMatch(/working directory/);
    expect(result.stdout).toBe('');
  });

  it('refuses an image whose /proc is a symlink to a host path, and leaves the target alone', async () => {
    const root = makeBusyboxRootfs(join(tmp.path, 'proc-link-image'));
    const target = join(tmp.path, 'proc-link-target');
    mkdirSync(target);
    writeFileSync(join(target, 'keep'), 'host data');
    rmSync(join(root, 'proc'), { recursive: true });
    symlinkSync(target, join(root, 'proc'));
    const result = await nook(['run', '--rm', await loadImage('proc-link', root, { Cmd: ['true'] })], { env });
    expect(result.status, show(result)).toBe(125);
    expect(result.stderr).toMatch(/symlink/);
    expect(readdirSync(target)).toEqual(['keep']);
  });
});

describe('escapes from inside the container', () => {
  it('the classic chroot escape ends at the container root', async () => {
    expect(existsSync(hostMarker)).toBe(true);
    expect(await sh(`try-syscall chroot-escape ${hostMarker}; try-syscall chroot-escape /bin/busybox`)).toBe(`${hostMarker} absent\n/bin/busybox exists\n`);
  });

  it('cannot write /proc/sysrq-trigger or core_pattern, not even --privileged', async () => {
    const pattern = readFileSync('/proc/sys/kernel/core_pattern', 'utf8').trim();
    // 'h' only prints help, and the pattern is the host's own: harmless even if a write got through.
    const script = [
      'echo h > /proc/sysrq-trigger 2>/dev/null && echo sysrq-written || echo sysrq-refused',
      `echo '${pattern}' > /proc/sys/kernel/core_pattern 2>/dev/null && echo core-written || echo core-refused`,
    ].join('; ');
    for (const flags of [[], ['--privileged']]) {
      expect(await sh(script, flags), flags.join(' ')).toBe('sysrq-refused\ncore-refused\n');
    }
    expect(readFileSync('/proc/sys/kernel/core_pattern', 'utf8').trim()).toBe(pattern);
  });

  it('sees no nook process: every /proc/PID/exe is a container binary', async () => {
    const out = await sh('sleep 1 & for e in /proc/[0-9]*/exe; do readlink $e; done; echo x >> /proc/1/exe 2>/dev/null && echo written || echo refused');
    const lines = out.trim().split('\n');
    expect(lines.pop()).toBe('refused');
    expect(new Set(lines)).toEqual(new Set(['/bin/busybox']));
  });

  it('runs its monitor non-dumpable, so /proc/PID/exe of the runtime is closed even to its own user', async () => {
    const binary = join(import.meta.dirname, '..', '..', 'native', 'build', 'nook-runtime');
    const digest = (): string => createHash('sha256').update(readFileSync(binary)).digest('hex');
    const before = digest();
    let seen: Promise<{ monitor: number; exe: string }> | undefined;
    // The container stays until the test has looked at the monitor and closes its stdin.
    const script = 'echo up; for p in /proc/[0-9]*; do echo x >> $p/exe; done 2>/dev/null; read line || true';
    const result = await nook(['run', '--rm', '-i', '--rootfs', rootfs, '--', 'sh', '-c', script], {
      env,
      keepStdinOpen: true,
      onSpawn: (child, stdout) => {
        seen = waitFor(() => stdout().includes('up'), 'the container').then(() => {
          const monitor = childrenOf(child.pid!).find((pid) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'nook-monitor') ?? -1;
          let exe: string;
          try {
            exe = readlinkSync(`/proc/${monitor}/exe`);
          } catch (err) {
            exe = (err as NodeJS.ErrnoException).code ?? 'error';
          }
          child.stdin!.end();
          return { monitor, exe };
        });
      },
    });
    expect(result.status, show(result)).toBe(0);
    const { monitor, exe } = await seen!;
    expect(monitor).toBeGreaterThan(0);
    // Non-dumpable: the exe link is closed to everyone but root of the host.
    expect(exe).toBe('EACCES');
    expect(digest()).toBe(before);
  });

  it('keeps /proc/PID/exe of every exec closed to a container that keeps trying to write it', async () => {
    const binary = join(import.meta.dirname, '..', '..', 'native', 'build', 'nook-runtime');
    const digest = (): string => createHash('sha256').update(readFileSync(binary)).digest('hex');
    const before = digest();
    // The attacker writes to every process's exe it can see, as fast as it can, and records any success.
    const attack = 'while true; do for p in /proc/[0-9]*; do (echo x >> $p/exe) 2>/dev/null && readlink $p/exe >> /tmp/written; done; done';
    const started = await nook(['run', '-d', '--name', 'attacker', '--rootfs', rootfs, '--', 'sh', '-c', attack], { env });
    expect(started.status, show(started)).toBe(0);
    try {
      for (let i = 0; i < 100; i++) {
        const exec = await nook(['exec', 'attacker', 'true'], { env });
        expect(exec.status, show(exec)).toBe(0);
      }
      const written = await nook(['exec', 'attacker', 'sh', '-c', 'cat /tmp/written 2>/dev/null; true'], { env });
      // Only the container's own processes (busybox, which is its own file to write) may show up.
      expect(written.stdout.split('\n').filter((l) => l && l !== '/bin/busybox')).toEqual([]);
    } finally {
      await nook(['rm', '-f', '-t', '0', 'attacker'], { env });
    }
    expect(digest()).toBe(before);
  });

  it('leaves only stdio open in exec', async () => {
    const started = await nook(['run', '-d', '--name', 'fds', '--rootfs', rootfs, '--', 'sleep', '100'], { env });
    expect(started.status, show(started)).toBe(0);
    try {
      // The exec'd command itself lists its fds: stdio, and 3, the one ls opens to read the
      // directory (the lowest free number: a leaked fd would push it up).
      const fds = await nook(['exec', 'fds', 'ls', '/proc/self/fd'], { env });
      expect(fds.stdout.trim().split('\n').sort(), show(fds)).toEqual(['0', '1', '2', '3']);
    } finally {
      await nook(['rm', '-f', '-t', '0', 'fds'], { env });
    }
  });

  it('keeps the store and runtime dirs private (0700)', async () => {
    const images = await nook(['images'], { env });
    expect(images.status, show(images)).toBe(0);
    for (const dir of [join(env.XDG_DATA_HOME!, 'nook'), join(env.XDG_RUNTIME_DIR!, 'nook')]) {
      expect(statSync(dir).mode & 0o777, dir).toBe(0o700);
    }
  });
});

function childrenOf(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
    readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
  );
}
