import { ExecError, NookError, RootfsError, RuntimeError } from '../errors.js';
import { dirname } from 'node:path';
import { idMapHelper, UIDMAP_PACKAGE } from '../sys/subids.js';
import { readUsernsSettings, usernsProblems, type HostProblem } from '../sys/userns.js';
import { findOnPath } from '../sys/which.js';
import { runtimeBinary } from './binary.js';
import { buildStep } from '../plan/explain.js';
import type { Op } from '../plan/ops.js';
import { errnoMessage, type RuntimeReport } from './report.js';

const EPERM = 1;
const ENOENT = 2;
const EACCES = 13;
const ENOSYS = 38;
const ELOOP = 40;
const EXDEV = 18;

/** What a report is read against: the root it names, and a seccomp profile the user gave. */
export interface ReportContext {
  readonly rootfs: string;
  /** The profile's file and the plan index of its seccomp op. */
  readonly seccompProfile?: { readonly path: string; readonly opIndex: number };
  /**
   * The plan of a container start, which `run --explain` shows: a failed op is then named
   * by its step there. Other plans (exec, cp, unshare) have no such listing.
   */
  readonly startPlan?: readonly Op[];
}

/** "at step N (op detail)" for a start, where --explain shows step N; "in op detail" otherwise. */
function failedStep(report: RuntimeReport, context: ReportContext): { where: string; step: number | null } {
  const what = `${report.opName}${report.detail ? ` ${report.detail}` : ''}`;
  const step = context.startPlan === undefined ? null : buildStep(context.startPlan, report.opIndex);
  return { where: step === null ? `in ${what}` : `at step ${step} (${what})`, step };
}

/**
 * A step after a user's seccomp filter went in, refused by the kernel as a filter refuses:
 * most likely the profile denies a call the runtime still makes (setresuid, capset, execve).
 */
function deniedByProfile(report: RuntimeReport, context: ReportContext): NookError | null {
  const profile = context.seccompProfile;
  if (!profile || report.opIndex <= profile.opIndex || ![EPERM, EACCES, ENOSYS].includes(report.errno)) return null;
  // A file without its x bit says EACCES too: that is the command's fault, not the profile's.
  if (report.opName === 'exec' && report.errno === EACCES) return null;
  return new RuntimeError(
    `container setup failed ${failedStep(report, context).where}, after the seccomp profile ${profile.path} was installed: ${errnoMessage(report.errno)}`,
    'the profile must allow what the runtime does after installing it: setgroups, setresgid, setresuid, capset, prctl, execve',
  );
}

/** The fix for a failed newuidmap/newgidmap: the setuid bit it lacks, or the range it refused. */
function idMapFix(helper: 'newuidmap' | 'newgidmap'): string {
  const found = idMapHelper(findOnPath(helper));
  if (found.path !== null && !found.setuidRoot) {
    return `${found.path} is not setuid root: as root, chmod u+s ${found.path} (or reinstall the package ${UIDMAP_PACKAGE}; where it uses file capabilities instead, setcap cap_set${helper === 'newuidmap' ? 'uid' : 'gid'}+ep ${found.path})`;
  }
  return `check that /etc/subuid and /etc/subgid give your user a range that no other user has (see "nook info", host.idMappings)`;
}

/** What in this host's settings keeps user namespaces from working (checked only once something failed). */
function usernsBlockers(): HostProblem[] {
  const runtime = runtimeBinary();
  return usernsProblems(readUsernsSettings(), runtime, dirname(dirname(dirname(runtime))));
}

/** Turns the runtime's failure record into the error the user sees, with a way out. */
export function reportToError(report: RuntimeReport, context: ReportContext): NookError {
  const byProfile = deniedByProfile(report, context);
  if (byProfile !== null) return byProfile;
  const { opName, errno, detail } = report;
  switch (opName) {
    case 'exec':
      return errno === ENOENT
        ? new ExecError(`executable file "${detail}" not found in $PATH inside the container`, 127, `check the command name, or give its full path inside ${context.rootfs}`)
        : new ExecError(`cannot execute "${detail}": ${errnoMessage(errno)}`, 126, 'make sure the file is an executable for this machine and has its x bit set');
    case 'chdir':
      return new RootfsError(
        `cannot use working directory "${detail}": ${errnoMessage(errno)}`,
        errno === ELOOP || errno === EXDEV
          ? 'the working directory must be a directory inside the container, not a link out of it'
          : 'give -w an existing directory inside the container',
      );
    case 'uid-map':
    case 'gid-map':
      return new RuntimeError(`cannot set up the container's ${opName === 'uid-map' ? 'user' : 'group'} ids: ${detail}`, idMapFix(opName === 'uid-map' ? 'newuidmap' : 'newgidmap'));
    case 'clone': {
      const blockers = usernsBlockers();
      return new RuntimeError(
        `cannot create the container's namespaces: ${errnoMessage(errno)}${blockers.length > 0 ? ` (${blockers.map((b) => b.problem).join('; ')})` : ''}`,
        blockers.length > 0 ? blockers.map((b) => b.fix).join('; ') : 'no sysctl here forbids user namespaces: the user.max_user_namespaces limit may be used up (see "nook info", host.userNamespaces)',
      );
    }
    case 'sysctl':
      return new RuntimeError(
        `cannot set sysctl ${detail.replace(/^\/proc\/sys\//, '')}: ${errnoMessage(errno)}`,
        errno === ENOENT ? "this kernel has no such parameter in the container's namespaces" : 'check the value: the kernel refused it',
      );
    case 'rlimit':
      return new RuntimeError(
        `cannot set --ulimit ${detail}: ${errnoMessage(errno)}`,
        errno === EPERM ? `a hard limit cannot be raised above nook's own without privileges: see "ulimit -H -a", and raise it in /etc/security/limits.conf` : 'check the limit',
      );
    case 'oom-score-adj':
      return new RuntimeError(
        `cannot set --oom-score-adj ${detail}: ${errnoMessage(errno)}`,
        errno === EACCES ? 'rootless, the score can only be raised: give a value at least your own (cat /proc/self/oom_score_adj)' : 'give a value from -1000 to 1000',
      );
    case 'cgroup':
      return new RuntimeError(`cannot move the container into its cgroup ${detail}: ${errnoMessage(errno)}`, 'see "nook info" for the cgroups delegated to you');
    case 'seccomp':
      return new RuntimeError(`the kernel refused the seccomp filter: ${errnoMessage(errno)}`, 'run with --security-opt seccomp=unconfined to do without it');
    case 'network':
      return new RuntimeError(
        `the container's network could not be set up: ${errno ? `${detail}: ${errnoMessage(errno)}` : detail}`,
        'see the helper\'s whole output in network.log in the container\'s directory, or run with --network none',
      );
    case 'share-net':
      return new RuntimeError(`cannot join the other container's network: ${detail}: ${errnoMessage(errno)}`, 'make sure that container is running (nook ps)');
    case 'plan':
      return new RuntimeError(`the nook runtime refused its plan: ${detail}`, 'nook and native/build/nook-runtime are out of step: run "npm install" again');
  }
  const where = detail ? ` ${detail}` : '';
  if (errno === ELOOP || errno === EXDEV) {
    return new RootfsError(
      `refusing to ${opName}${where}: the path is a symlink or leads out of the root filesystem`,
      `replace that symlink in ${context.rootfs} with a real directory or file`,
    );
  }
  const failed = failedStep(report, context);
  // AppArmor's restriction lets the namespace be made but takes its capabilities: the first
  // mount or similar then fails.
  const restricted = [EPERM, EACCES].includes(errno) ? usernsBlockers() : [];
  if (restricted.length > 0) {
    return new RuntimeError(
      `container setup failed ${failed.where}: ${errnoMessage(errno)}, most likely because ${restricted.map((b) => b.problem).join('; ')}`,
      restricted.map((b) => b.fix).join('; '),
    );
  }
  return new RuntimeError(
    `container setup failed ${failed.where}: ${errnoMessage(errno)}`,
    failed.step === null
      ? 'docs/protocol.md says what each setup op does'
      : `run the same command with --explain: step ${failed.step} is line ${failed.step} of what it prints`,
  );
}
