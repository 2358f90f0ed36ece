import type { ExecOptions } from './options.js';
import { ContainerError, UsageError } from '../../errors.js';
import { compileExecPlan } from '../../plan/compile.js';
import { encodePlan } from '../../plan/encode.js';
import type { Op } from '../../plan/ops.js';
import { directoryFiles, imageFiles, resolveUser, type RootFileReader } from '../../rootfs/users.js';
import { launchRuntime } from '../../runtime/launch.js';
import { reportToError } from '../../runtime/report-error.js';
import { ContainerStore, type ContainerRecord } from '../../store/containers.js';
import { storeRoot } from '../../store/paths.js';
import { containerIdMaps } from '../../sys/idmap.js';
import { runtimeDir } from '../../sys/paths.js';
import { findContainer } from './lookup.js';
import { containerStatus } from './state.js';
import { containerEnv, envObject } from './env.js';
import { normalPath } from './path.js';
import { containerSecurity } from './security.js';
import { profileContext } from './start.js';
import { recordFastPlan } from './fast-path.js';

const ESRCH = 3;

/** The recorded PID 1 exited (or its pid names another process by now): there is nothing to join. */
function processGone(record: ContainerRecord, pid: number): ContainerError {
  return new ContainerError(`container ${record.name} has no process to exec in: its PID 1 (pid ${pid}) is gone`, 'see "nook ps -a"; start it again with "nook start"');
}

/** The container's root as files can be read from it (its own writes included). */
export function rootFiles(record: ContainerRecord): RootFileReader {
  if (record.rootfs.kind === 'directory') return directoryFiles(record.rootfs.path);
  return imageFiles([record.rootfs.overlay.upperDir, ...record.rootfs.overlay.lowerDirs]);
}

/**
 * `nook exec`: a new process in a running container, joining all its namespaces (user
 * first) with the hardening its command got: the same capabilities, seccomp filter and
 * no_new_privs. Returns the process's exit code.
 */
export async function execInContainer(opts: ExecOptions): Promise<number> {
  if (opts.workdir !== undefined && !opts.workdir.startsWith('/')) {
    throw new UsageError(`working directory "${opts.workdir}" is not an absolute path`, 'give -w a path inside the container starting with /');
  }
  const containers = new ContainerStore(storeRoot());
  const record = findContainer(containers, opts.container);
  const status = containerStatus(containers, record.id);
  if (status.state !== 'running') {
    throw new ContainerError(`can only exec in a running container: ${record.name} is ${status.state}`, `start it first: nook start ${opts.container}`);
  }
  if (status.pidStartTime === null) throw processGone(record, status.pid);
  const idMaps = containerIdMaps();
  // As podman: a user named here still gets the container's --group-add groups.
  const user = opts.user === undefined ? record.user : resolveUser(rootFiles(record), opts.user, idMaps, record.user.groupAdd ?? []);
  const scratch = runtimeDir();
  const security = await containerSecurity(record.security, record.network.mode.kind, { dir: scratch, write: true });
  const plan: Op[] = [
    { op: 'stdio', tty: opts.tty, stdin: opts.interactive, log: null },
    ...compileExecPlan({
      pid: status.pid,
      startTime: status.pidStartTime,
      hostNetwork: record.network.mode.kind === 'host',
      workdir: opts.workdir === undefined ? record.workdir : normalPath(opts.workdir),
      user,
      capabilities: security.capabilities,
      noNewPrivs: security.noNewPrivs,
      seccomp: security.seccomp,
      tty: opts.tty,
      process: record.limits.process,
      argv: opts.argv,
      env: containerEnv(envObject(record.env), opts.env),
    }),
  ];
  const encoded = encodePlan(plan);
  recordFastPlan({ runtimeDir: scratch, plan: encoded, passStdin: opts.interactive });
  const result = await launchRuntime(encoded, scratch, { passStdin: opts.interactive });
  if (result.report?.opName === 'join' && result.report.errno === ESRCH) throw processGone(record, status.pid);
  if (result.report !== null) throw reportToError(result.report, { rootfs: record.name, ...profileContext(record, plan) });
  return result.status;
}
