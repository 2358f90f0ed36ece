import type { SeccompAction, SeccompArg, SeccompFilter, SeccompOperator, SeccompProfile, SeccompRule } from './profile.js';

/**
 * A profile made concrete for one container on one host: includes/excludes decided, actions
 * and operators as libseccomp's numbers, one rule per system call. This is exactly what the
 * compiler gets, so it is also what the compiled-filter cache is keyed by.
 */
export interface ResolvedCondition {
  readonly index: number;
  /** enum scmp_compare */
  readonly op: number;
  readonly a: number;
  readonly b: number;
}

export interface ResolvedRule {
  readonly syscall: string;
  /** SCMP_ACT_* value, errno included */
  readonly action: number;
  readonly args: readonly ResolvedCondition[];
}

export interface ResolvedFilter {
  readonly defaultAction: number;
  /** libseccomp architecture names (seccomp_arch_resolve_name); the first is the host's. */
  readonly arches: readonly string[];
  readonly rules: readonly ResolvedRule[];
}

/** The host as a profile names it: SCMP_ARCH_* and the Go name `includes.arches` uses. */
export interface HostArch {
  readonly scmp: string;
  readonly go: string;
}

export interface ResolveContext {
  readonly arch: HostArch;
  /** The container's capabilities, as CAP_* names. */
  readonly caps: readonly string[];
  /** The running kernel's release (os.release()), for minKernel. */
  readonly kernel: string;
}

const EPERM = 1;

/** The architectures nook's filters are built and tested for; null: not one of them. */
export function hostArch(nodeArch: string): HostArch | null {
  if (nodeArch === 'x64') return { scmp: 'SCMP_ARCH_X86_64', go: 'amd64' };
  if (nodeArch === 'arm64') return { scmp: 'SCMP_ARCH_AARCH64', go: 'arm64' };
  return null;
}

/** libseccomp's values for SCMP_ACT_* (seccomp.h); errno rides in the low 16 bits. */
function actionCode(action: SeccompAction, errno: number): number {
  switch (action) {
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_THREAD':
      return 0;
    case 'SCMP_ACT_KILL_PROCESS':
      return 0x80000000;
    case 'SCMP_ACT_TRAP':
      return 0x00030000;
    case 'SCMP_ACT_ERRNO':
      return 0x00050000 | errno;
    case 'SCMP_ACT_TRACE':
      return 0x7ff00000 | errno;
    case 'SCMP_ACT_LOG':
      return 0x7ffc0000;
    case 'SCMP_ACT_ALLOW':
      return 0x7fff0000;
  }
}

/** enum scmp_compare */
const OPERATOR_CODES: Record<SeccompOperator, number> = {
  SCMP_CMP_NE: 1, SCMP_CMP_LT: 2, SCMP_CMP_LE: 3, SCMP_CMP_EQ: 4, SCMP_CMP_GE: 5, SCMP_CMP_GT: 6, SCMP_CMP_MASKED_EQ: 7,
};

function kernelAtLeast(release: string, wanted: string): boolean {
  const [major = 0, minor = 0] = release.split(/[.-]/).map(Number);
  const [wantMajor = 0, wantMinor = 0] = wanted.split('.').map(Number);
  return major > wantMajor || (major === wantMajor && minor >= wantMinor);
}

/** Docker's semantics: includes needs every listed cap, excludes is hit by any. */
function includes(filter: SeccompFilter | undefined, ctx: ResolveContext): boolean {
  if (!filter) return true;
  if (filter.caps && !filter.caps.every((c) => ctx.caps.includes(c))) return false;
  if (filter.arches && filter.arches.length > 0 && !filter.arches.includes(ctx.arch.go)) return false;
  return !filter.minKernel || kernelAtLeast(ctx.kernel, filter.minKernel);
}

function excludes(filter: SeccompFilter | undefined, ctx: ResolveContext): boolean {
  if (!filter) return false;
  if (filter.caps?.some((c) => ctx.caps.includes(c))) return true;
  if (filter.arches?.includes(ctx.arch.go)) return true;
  return filter.minKernel !== undefined && kernelAtLeast(ctx.kernel, filter.minKernel);
}

function condition(arg: SeccompArg): ResolvedCondition {
  return { index: arg.index, op: OPERATOR_CODES[arg.op], a: arg.value, b: arg.valueTwo };
}

/**
 * Conditions on different arguments must all hold (one libseccomp rule); several on the
 * same argument could never all hold, so, as runc does, each becomes a rule of its own.
 */
function conditionSets(args: readonly SeccompArg[]): ResolvedCondition[][] {
  const indexes = new Set(args.map((a) => a.index));
  if (indexes.size === args.length) return [args.map(condition)];
  return args.map((a) => [condition(a)]);
}

function ruleAction(rule: SeccompRule): number {
  return actionCode(rule.action, rule.errnoRet ?? EPERM);
}

/** SCMP_ARCH_X86_64 → x86_64, the name seccomp_arch_resolve_name takes. */
function libseccompArch(scmp: string): string {
  return scmp.replace(/^SCMP_ARCH_/, '').toLowerCase();
}

function architectures(profile: SeccompProfile, arch: HostArch): string[] {
  const listed = profile.architectures?.length
    ? profile.architectures
    : [arch.scmp, ...(profile.archMap?.find((m) => m.architecture === arch.scmp)?.subArchitectures ?? [])];
  const named = listed.map((a) => (a === 'SCMP_ARCH_NATIVE' ? arch.scmp : a));
  return [...new Set([arch.scmp, ...named])].map(libseccompArch);
}

export function resolveProfile(profile: SeccompProfile, ctx: ResolveContext): ResolvedFilter {
  const defaultAction = actionCode(profile.defaultAction, profile.defaultErrnoRet ?? EPERM);
  const rules: ResolvedRule[] = [];
  for (const rule of profile.syscalls) {
    if (!includes(rule.includes, ctx) || excludes(rule.excludes, ctx)) continue;
    const action = ruleAction(rule);
    // libseccomp refuses a rule that does what the default does anyway.
    if (action === defaultAction) continue;
    for (const args of conditionSets(rule.args ?? [])) {
      for (const syscall of rule.names) rules.push({ syscall, action, args });
    }
  }
  return { defaultAction, arches: architectures(profile, ctx.arch), rules };
}
