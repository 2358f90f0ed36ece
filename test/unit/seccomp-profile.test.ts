import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { DEFAULT_FILTERS, DEFAULT_PROFILE, TERMINAL_PROFILE } from '../../src/seccomp/default-profile.js';
import { parseProfile } from '../../src/seccomp/profile.js';
import { hostArch, resolveProfile, type ResolveContext, type ResolvedFilter } from '../../src/seccomp/resolve.js';

const X86_64 = hostArch('x64')!;
const AARCH64 = hostArch('arm64')!;
const ALLOW = 0x7fff0000;
const ERRNO = (errno: number): number => 0x00050000 | errno;
const ctx = (overrides: Partial<ResolveContext> = {}): ResolveContext => ({ arch: X86_64, caps: ['CAP_CHOWN', 'CAP_SYS_CHROOT'], kernel: '6.8.0-1-amd64', ...overrides });
const actionsOf = (filter: ResolvedFilter, syscall: string): number[] => filter.rules.filter((r) => r.syscall === syscall).map((r) => r.action);

describe('parseProfile', () => {
  it('reads the Docker/OCI fields, with their defaults', () => {
    const profile = parseProfile(
      JSON.stringify({
        defaultAction: 'SCMP_ACT_ERRNO',
        defaultErrnoRet: 38,
        architectures: ['SCMP_ARCH_X86_64'],
        syscalls: [
          { names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 13, comment: 'ignored' },
          { name: 'socket', action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }], includes: { caps: ['CAP_NET_RAW'], minKernel: '5.4' } },
        ],
      }),
      'p.json',
    );
    expect(profile).toEqual({
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 38,
      architectures: ['SCMP_ARCH_X86_64'],
      archMap: [],
      syscalls: [
        { names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 13, args: [] },
        { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, valueTwo: 0, op: 'SCMP_CMP_EQ' }], includes: { caps: ['CAP_NET_RAW'], minKernel: '5.4' } },
      ],
    });
  });

  it("reads moby's shapes: archMap entries without sub-architectures, excludes by arch, comments", () => {
    const profile = parseProfile(
      JSON.stringify({
        defaultAction: 'SCMP_ACT_ERRNO',
        defaultErrnoRet: 1,
        archMap: [{ architecture: 'SCMP_ARCH_RISCV64', subArchitectures: null }],
        syscalls: [{ names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 1, value: 2114060288, op: 'SCMP_CMP_MASKED_EQ' }], comment: 's390', includes: {}, excludes: { caps: ['CAP_SYS_ADMIN'], arches: ['s390', 's390x'] } }],
      }),
      'moby.json',
    );
    expect(profile.archMap).toEqual([{ architecture: 'SCMP_ARCH_RISCV64', subArchitectures: [] }]);
    expect(profile.syscalls[0]!.excludes).toEqual({ caps: ['CAP_SYS_ADMIN'], arches: ['s390', 's390x'] });
  });

  it('refuses what it cannot honour, naming the file and the field', () => {
    for (const [text, field] of [
      ['{', 'JSON'],
      ['[]', 'the profile'],
      ['{"defaultAction":"SCMP_ACT_MAYBE"}', 'defaultAction'],
      ['{"defaultAction":"SCMP_ACT_NOTIFY"}', 'defaultAction'],
      ['{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/run/l.sock"}', 'listenerPath'],
      ['{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["x"],"action":"SCMP_ACT_ALLOW","args":[{"index":6,"value":0,"op":"SCMP_CMP_EQ"}]}]}', 'syscalls[0].args[0].index'],
      ['{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["x"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":18446744073709551615,"op":"SCMP_CMP_EQ"}]}]}', 'syscalls[0].args[0].value'],
      ['{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["x"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":1,"op":"SCMP_CMP_ODD"}]}]}', 'syscalls[0].args[0].op'],
      ['{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"action":"SCMP_ACT_ALLOW"}]}', 'syscalls[0]'],
      ['{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":-1}', 'defaultErrnoRet'],
    ] as const) {
      let error: unknown;
      try {
        parseProfile(text, 'bad.json');
      } catch (err) {
        error = err;
      }
      expect(error, text).toBeInstanceOf(UsageError);
      expect((error as UsageError).message, text).toContain(`bad.json: ${field}`);
      expect((error as UsageError).hint).toBeTruthy();
    }
  });
});

describe('resolveProfile', () => {
  it('takes the host architecture and its archMap sub-architectures, or the listed ones', () => {
    expect(resolveProfile(DEFAULT_PROFILE, ctx()).arches).toEqual(['x86_64', 'x86', 'x32']);
    expect(resolveProfile(DEFAULT_PROFILE, ctx({ arch: AARCH64 })).arches).toEqual(['aarch64', 'arm']);
    expect(resolveProfile({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86'], syscalls: [] }, ctx()).arches).toEqual(['x86_64', 'x86']);
    expect(resolveProfile({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_NATIVE'], syscalls: [] }, ctx({ arch: AARCH64 })).arches).toEqual(['aarch64']);
  });

  it('applies includes and excludes by capability, architecture and kernel', () => {
    const profile = parseProfile(
      JSON.stringify({
        defaultAction: 'SCMP_ACT_ERRNO',
        syscalls: [
          { names: ['a'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_CHOWN', 'CAP_SYS_CHROOT'] } },
          { names: ['b'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_CHOWN', 'CAP_SYS_ADMIN'] } },
          { names: ['c'], action: 'SCMP_ACT_ALLOW', excludes: { caps: ['CAP_SYS_ADMIN', 'CAP_CHOWN'] } },
          { names: ['d'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['arm64'] } },
          { names: ['e'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: '6.9' } },
          { names: ['f'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: '6.8' } },
        ],
      }),
      'p.json',
    );
    expect(resolveProfile(profile, ctx()).rules.map((r) => r.syscall)).toEqual(['a', 'f']);
    expect(resolveProfile(profile, ctx({ arch: AARCH64, kernel: '10.0' })).rules.map((r) => r.syscall)).toEqual(['a', 'd', 'e', 'f']);
  });

  it('gives errno actions their errno (EPERM unless told), and drops rules that do what the default does', () => {
    const filter = resolveProfile(
      {
        defaultAction: 'SCMP_ACT_ERRNO',
        syscalls: [
          { names: ['a'], action: 'SCMP_ACT_ERRNO' },
          { names: ['b'], action: 'SCMP_ACT_ERRNO', errnoRet: 22 },
          { names: ['c'], action: 'SCMP_ACT_KILL_PROCESS' },
        ],
      },
      ctx(),
    );
    expect(filter.defaultAction).toBe(ERRNO(1));
    expect(filter.rules).toEqual([
      { syscall: 'b', action: ERRNO(22), args: [] },
      { syscall: 'c', action: 0x80000000, args: [] },
    ]);
  });

  it('ANDs conditions on different arguments, and makes one rule per condition on the same one', () => {
    const arg = (index: number, value: number) => ({ index, value, valueTwo: 0, op: 'SCMP_CMP_EQ' as const });
    const and = resolveProfile({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['s'], action: 'SCMP_ACT_ERRNO', args: [arg(0, 1), arg(2, 3)] }] }, ctx());
    expect(and.rules).toEqual([{ syscall: 's', action: ERRNO(1), args: [{ index: 0, op: 4, a: 1, b: 0 }, { index: 2, op: 4, a: 3, b: 0 }] }]);
    const or = resolveProfile({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['s'], action: 'SCMP_ACT_ERRNO', args: [arg(0, 1), arg(0, 2)] }] }, ctx());
    expect(or.rules.map((r) => r.args)).toEqual([[{ index: 0, op: 4, a: 1, b: 0 }], [{ index: 0, op: 4, a: 2, b: 0 }]]);
  });
});

describe('the default profile', () => {
  const filter = resolveProfile(DEFAULT_PROFILE, ctx({ caps: ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_SETUID', 'CAP_SETGID', 'CAP_SYS_CHROOT'] }));

  it('answers ENOSYS for what it does not list', () => {
    expect(filter.defaultAction).toBe(ERRNO(38));
    expect(actionsOf(filter, 'clone3')).toEqual([]);
  });

  it('denies the dangerous calls with EPERM', () => {
    for (const name of [
      'add_key', 'keyctl', 'request_key', 'bpf', 'perf_event_open', 'kexec_load', 'kexec_file_load', 'init_module', 'finit_module',
      'delete_module', 'open_by_handle_at', 'userfaultfd', 'clock_settime', 'settimeofday', 'adjtimex', 'clock_adjtime', 'swapon',
      'swapoff', 'reboot', 'acct', 'lookup_dcookie', 'quotactl', 'mount', 'umount2', 'pivot_root', 'unshare', 'setns', 'io_uring_setup',
    ]) {
      expect(actionsOf(filter, name), name).toEqual([ERRNO(1)]);
    }
  });

  it('allows clone only without namespace flags, and refuses those with EPERM', () => {
    const clone = filter.rules.filter((r) => r.syscall === 'clone');
    expect(clone.filter((r) => r.action === ALLOW)).toEqual([{ syscall: 'clone', action: ALLOW, args: [{ index: 0, op: 7, a: 0x7e020000, b: 0 }] }]);
    const denied = clone.filter((r) => r.action === ERRNO(1)).map((r) => r.args[0]!.a);
    expect(denied.reduce((a, b) => a | b, 0)).toBe(0x7e020000);
  });

  it('lets CAP_SYS_ADMIN open namespaces and mounts, and gives each call one action', () => {
    const admin = resolveProfile(DEFAULT_PROFILE, ctx({ caps: ['CAP_SYS_ADMIN'] }));
    for (const name of ['mount', 'unshare', 'setns', 'clone3', 'bpf']) expect(actionsOf(admin, name), name).toEqual([ALLOW]);
    for (const f of [filter, admin]) {
      const plain = f.rules.filter((r) => r.args.length === 0);
      expect(new Set(plain.map((r) => r.syscall)).size, 'a call without conditions has a single rule').toBe(plain.length);
    }
  });

  it('allows what the runtime still does after installing it, and what a shell needs', () => {
    for (const name of ['setgroups', 'setresgid', 'setresuid', 'prctl', 'recvfrom', 'capget', 'capset', 'close_range', 'execve', 'write', 'exit_group', 'wait4', 'openat', 'chroot']) {
      expect(actionsOf(filter, name), name).toEqual([ALLOW]);
    }
  });
});

describe("the default's terminal filter", () => {
  const filter = resolveProfile(TERMINAL_PROFILE, ctx());

  it('comes second, after the allow list, which allows ioctl without conditions', () => {
    expect(DEFAULT_FILTERS.map((f) => f.profile)).toEqual([DEFAULT_PROFILE, TERMINAL_PROFILE]);
    expect(resolveProfile(DEFAULT_PROFILE, ctx()).rules.filter((r) => r.syscall === 'ioctl')).toEqual([{ syscall: 'ioctl', action: ALLOW, args: [] }]);
  });

  it('allows everything but ioctl TIOCSTI and TIOCLINUX, compared on the low 32 bits only', () => {
    expect(filter.defaultAction).toBe(ALLOW);
    expect(filter.arches).toEqual(['x86_64', 'x86', 'x32']);
    const masked = (request: number) => ({ syscall: 'ioctl', action: ERRNO(1), args: [{ index: 1, op: 7, a: 0xffffffff, b: request }] });
    expect(filter.rules).toEqual([masked(0x5412), masked(0x541c)]);
  });
});
