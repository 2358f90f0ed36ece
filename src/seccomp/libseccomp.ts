import { closeSync, fstatSync, readFileSync, readSync } from 'node:fs';
import koffi from 'koffi';
import { HostError } from '../errors.js';
import type { ResolvedFilter } from './resolve.js';

/**
 * Compiles a resolved profile into a BPF program with the system's libseccomp, through koffi.
 * Imported on demand (cache.ts): koffi costs ~20 ms to load, and the common path reads the
 * compiled filter from the cache instead.
 */
export interface CompiledFilter {
  readonly bpf: Uint8Array;
  /** The libseccomp file that compiled it: a cached filter is stale once it changes. */
  readonly library: string;
}

const SCMP_FLTATR_CTL_NNP = 3;
const SCMP_FLTATR_CTL_OPTIMIZE = 8;
const NR_SCMP_ERROR = -1;
const ARCH_UNKNOWN = 0;

export const LIBSECCOMP_HINT =
  'install libseccomp (Debian/Ubuntu: libseccomp2, Fedora: libseccomp), or run without a filter: --security-opt seccomp=unconfined';

interface Libseccomp {
  init(defaultAction: number): unknown;
  release(ctx: unknown): void;
  attrSet(ctx: unknown, attr: number, value: number): number;
  archResolve(name: string): number;
  archAdd(ctx: unknown, arch: number): number;
  syscallResolve(name: string): number;
  ruleAdd(ctx: unknown, action: number, syscall: number, count: number, args: unknown[] | null): number;
  exportBpf(ctx: unknown, fd: number): number;
  memfd(name: string, flags: number): number;
}

let loaded: Libseccomp | undefined;

function load(): Libseccomp {
  if (loaded) return loaded;
  let lib: ReturnType<typeof koffi.load>;
  try {
    lib = koffi.load('libseccomp.so.2');
  } catch (err) {
    throw new HostError(`libseccomp is not available: ${(err as Error).message}`, LIBSECCOMP_HINT);
  }
  const libc = koffi.load('libc.so.6');
  koffi.struct('scmp_arg_cmp', { arg: 'uint', op: 'int', datum_a: 'uint64_t', datum_b: 'uint64_t' });
  loaded = {
    init: lib.func('void *seccomp_init(uint32_t)'),
    release: lib.func('void seccomp_release(void *)'),
    attrSet: lib.func('int seccomp_attr_set(void *, int, uint32_t)'),
    archResolve: lib.func('uint32_t seccomp_arch_resolve_name(const char *)'),
    archAdd: lib.func('int seccomp_arch_add(void *, uint32_t)'),
    syscallResolve: lib.func('int seccomp_syscall_resolve_name(const char *)'),
    ruleAdd: lib.func('int seccomp_rule_add_array(void *, uint32_t, int, unsigned int, scmp_arg_cmp *)'),
    exportBpf: lib.func('int seccomp_export_bpf(void *, int)'),
    memfd: libc.func('int memfd_create(const char *, unsigned int)'),
  };
  return loaded;
}

/** The libseccomp file this process mapped (after load()), as the cache identifies it. */
function mappedLibrary(): string {
  const line = readFileSync('/proc/self/maps', 'utf8').split('\n').find((l) => /\/libseccomp\.so[^/]*$/.test(l));
  return line ? line.slice(line.indexOf('/')) : 'libseccomp.so.2';
}

function check(result: number, what: string): void {
  if (result < 0) throw new HostError(`libseccomp: ${what} failed (errno ${-result})`, LIBSECCOMP_HINT);
}

function readAll(fd: number): Uint8Array {
  const bytes = Buffer.alloc(fstatSync(fd).size);
  let done = 0;
  while (done < bytes.length) done += readSync(fd, bytes, done, bytes.length - done, done);
  return bytes;
}

export function compileFilter(filter: ResolvedFilter): CompiledFilter {
  const lib = load();
  const ctx = lib.init(filter.defaultAction);
  if (!ctx) throw new HostError('libseccomp: seccomp_init failed', LIBSECCOMP_HINT);
  try {
    // The runtime installs the filter itself, with or without no_new_privs as planned.
    check(lib.attrSet(ctx, SCMP_FLTATR_CTL_NNP, 0), 'setting no_new_privs off');
    // A binary tree over the syscall numbers (libseccomp 2.5+; older ones keep the linear
    // list): a few hundred rules, looked up at every system call.
    lib.attrSet(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
    for (const name of filter.arches.slice(1)) {
      const arch = lib.archResolve(name);
      if (arch === ARCH_UNKNOWN) throw new HostError(`libseccomp does not know the architecture "${name}" the profile names`, 'remove it from the profile\'s architectures');
      check(lib.archAdd(ctx, arch), `adding architecture ${name}`);
    }
    for (const rule of filter.rules) {
      const nr = lib.syscallResolve(rule.syscall);
      // Docker's rule: a name this libseccomp does not know is skipped (the default applies).
      if (nr === NR_SCMP_ERROR) continue;
      const args = rule.args.map((c) => ({ arg: c.index, op: c.op, datum_a: c.a, datum_b: c.b }));
      check(lib.ruleAdd(ctx, rule.action >>> 0, nr, args.length, args.length ? args : null), `adding the rule for ${rule.syscall}`);
    }
    const fd = lib.memfd('nook-seccomp', 1 /* MFD_CLOEXEC */);
    if (fd < 0) throw new HostError('memfd_create failed', LIBSECCOMP_HINT);
    try {
      check(lib.exportBpf(ctx, fd), 'exporting the BPF program');
      return { bpf: readAll(fd), library: mappedLibrary() };
    } finally {
      closeSync(fd);
    }
  } finally {
    lib.release(ctx);
  }
}
