import { ExecError, NookError, RootfsError, RuntimeError } from '../errors.js';
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
      return new RuntimeError(
        `cannot set up the container's ${opName === 'uid-map' ? 'user' : 'group'} ids: ${detail}`,
        'check that /etc/subuid and /etc/subgid give your user a range and that newuidmap/newgidmap are setuid root (package uidmap)',
      );
    case 'clone':
      return new RuntimeError(
        `cannot create the container's namespaces: ${errnoMessage(errno)}`,
        'unprivileged user namespaces must be enabled (sysctl kernel.unprivileged_userns_clone=1, user.max_user_namespaces > 0)',
      );
    case 'sysctl':
      return new RuntimeError(
        `cannot set sysctl ${detail.replace(/^\/proc\/sys\//, '')}: ${errnoMessage(errno)}`,
        errno === ENOENT ? "this kernel has no such parameter in the container's namespaces" : 'check the value: the kernel refused it',
      );
    case 'seccomp':
      return new RuntimeError(`the kernel refused the seccomp filter: ${errnoMessage(errno)}`, 'run with --security-opt seccomp=unconfined to do without it');
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
  return new RuntimeError(
    `container setup failed ${failed.where}: ${errnoMessage(errno)}`,
    failed.step === null
      ? 'docs/protocol.md says what each setup op does'
      : `run the same command with --explain: step ${failed.step} is line ${failed.step} of what it prints`,
  );
}
