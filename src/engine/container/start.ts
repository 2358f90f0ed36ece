import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { compilePlan } from '../../plan/compile.js';
import { encodePlan } from '../../plan/encode.js';
import type { Op } from '../../plan/ops.js';
import type { ContainerSpec, EtcFiles } from '../../plan/spec.js';
import { launchRuntime } from '../../runtime/launch.js';
import { reportToError } from '../../runtime/report-error.js';
import { StartInProgressError, type ContainerRecord, type ContainerStore } from '../../store/containers.js';
import { ContainerError } from '../../errors.js';
import type { ContainerIdMaps } from '../../sys/idmap.js';
import { runtimeDir } from '../../sys/paths.js';
import { containerStatus, LOG_FILE, STATE_FILE, STOP_FILE } from './state.js';
import { etcFilePaths, writeEtcFiles } from './etc-files.js';
import { NETWORK_LOG, prepareNetwork, type PreparedNetwork } from '../network/prepare.js';
import { containerSecurity, type ContainerSecurity } from './security.js';
import { setUpLimits } from './limits.js';
import { recordFastRun, type ReplayHints } from './fast-path.js';

export interface StartIO {
  readonly warn: (line: string) => void;
}

/** Another nook command is starting the same container. */
/** How long (x 50 ms) a command waits for another start of the same container. */
export const START_WAIT_TRIES = 200;

export class StartBusyError extends ContainerError {
  constructor(name: string) {
    super(`container ${name} is being started by another nook command`, 'wait for it to finish, then see nook ps');
  }
}

/** Whether the monitor runs on in the background (start, run -d) or nook waits for the end. */
export interface StartMode {
  readonly detach: boolean;
  /** Set by `nook run`: keep what this start decides for bin/nook to replay (fast-path.ts). */
  readonly replay?: ReplayHints;
}

/** The container's plan input: its record, with what is decided afresh at each start. */
export function containerSpec(record: ContainerRecord, idMaps: ContainerIdMaps, security: ContainerSecurity, etcFiles: EtcFiles, network: PreparedNetwork): ContainerSpec {
  return {
    id: record.id,
    rootfs: record.rootfs,
    uidMap: idMaps.uid,
    gidMap: idMaps.gid,
    network: network.setup,
    hostname: record.hostname,
    readOnly: record.readOnly,
    etcFiles,
    mounts: record.mounts,
    workdir: record.workdir,
    user: record.user,
    ...security,
    // The network's own first: the user's --sysctl may change them.
    sysctls: [...network.sysctls, ...security.sysctls],
    init: record.init,
    tty: record.tty,
    process: record.limits.process,
    argv: record.argv,
    env: record.env,
  };
}

/** The nook command a detached --rm container's monitor runs when it is done. */
function removeCommand(id: string): Op {
  const keep = ['HOME', 'PATH', 'XDG_DATA_HOME', 'XDG_CONFIG_HOME', 'XDG_RUNTIME_DIR', 'LANG'];
  const env = keep.flatMap((k) => (process.env[k] === undefined ? [] : [`${k}=${process.env[k]}`]));
  // The CLI runs from dist/nook.cjs; its loader, bin/nook.cjs, is next to it.
  return { op: 'exit-command', argv: [process.execPath, join(__dirname, '..', 'bin', 'nook.cjs'), 'rm', '-v', id], env };
}

/** Where the user's seccomp profile sits in a plan, so a failure after it can name it. */
export function profileContext(record: ContainerRecord, plan: readonly Op[]): { seccompProfile?: { path: string; opIndex: number } } {
  const opIndex = plan.findIndex((op) => op.op === 'seccomp');
  return record.security.seccomp.kind === 'profile' && opIndex >= 0 ? { seccompProfile: { path: record.security.seccomp.path, opIndex } } : {};
}

/** What the monitor does besides waiting: keep state, log, restart, detach, clean up. */
function monitorRecords(containers: ContainerStore, record: ContainerRecord, mode: StartMode): Op[] {
  // A container that outlives its run keeps a log, as podman's do; a foreground --rm one
  // has none. Either way the monitor carries its stdio: a terminal of the user's never
  // reaches it (docs/security.md, "Terminals").
  const logged = mode.detach || !record.autoRemove;
  return [
    { op: 'state', path: containers.path(record.id, STATE_FILE) },
    { op: 'stdio', tty: record.tty, stdin: record.interactive, log: logged ? containers.path(record.id, LOG_FILE) : null },
    ...(record.restart.policy !== 'no'
      ? [{ op: 'restart', policy: record.restart.policy, maxRetries: record.restart.maxRetries, stopFile: containers.path(record.id, STOP_FILE) } as const]
      : []),
    ...(mode.detach ? [{ op: 'detach' } as const, ...(record.autoRemove ? [removeCommand(record.id)] : [])] : []),
  ];
}

/**
 * Starts a created or exited container. In the foreground it returns the container's exit
 * code when it ends; detached, 0 once its command runs (the monitor stays behind alone).
 */
export async function startContainer(containers: ContainerStore, idMaps: ContainerIdMaps, record: ContainerRecord, mode: StartMode, io: StartIO): Promise<number> {
  let release: () => void;
  try {
    release = containers.claimStart(record.id);
  } catch (err) {
    if (!(err instanceof StartInProgressError)) throw err;
    throw new StartBusyError(record.name);
  }
  try {
    // Checked under the claim: a start that finished meanwhile has the container running.
    if (containerStatus(containers, record.id).state === 'running') {
      throw new ContainerError(`container ${record.name} is already running`, 'see its output with "nook logs -f"');
    }
    return await launch(containers, idMaps, record, mode, io);
  } finally {
    release();
  }
}

async function launch(containers: ContainerStore, idMaps: ContainerIdMaps, record: ContainerRecord, mode: StartMode, io: StartIO): Promise<number> {
  const scratch = runtimeDir();
  const security = await containerSecurity(record.security, record.network.mode.kind, { dir: scratch, write: true });
  const network = await prepareNetwork(record, containers, idMaps, { runtimeDir: scratch, logPath: containers.path(record.id, NETWORK_LOG), dryRun: false });
  const etcFiles = etcFilePaths(containers.path(record.id, 'userdata'), network.hosts !== null);
  writeEtcFiles(etcFiles, { hosts: network.hosts, hostname: `${record.hostname}\n`, resolvConf: network.resolvConf });
  rmSync(containers.path(record.id, STOP_FILE), { force: true });
  if (idMaps.warning !== null) io.warn(`WARN: ${idMaps.warning}`);
  const limits = setUpLimits(containers, record, io.warn);
  const plan = [...limits.records, ...monitorRecords(containers, record, mode), ...compilePlan(containerSpec(record, idMaps, security, etcFiles, network))];
  const encoded = encodePlan(plan);
  if (mode.replay) {
    const extras = limits.records.length > 0 || limits.via !== undefined || idMaps.warning !== null;
    recordFastRun({ containers, record, runtimeDir: scratch, detach: mode.detach, extras, plan: encoded }, mode.replay);
  }
  let result;
  try {
    result = await launchRuntime(encoded, scratch, { passStdin: record.interactive, detached: mode.detach, via: limits.via });
  } catch (err) {
    limits.release();
    throw err;
  }
  if (result.report !== null) {
    limits.release();
    throw reportToError(result.report, { rootfs: record.rootfsDir ?? record.image?.name ?? record.id, startPlan: plan, ...profileContext(record, plan) });
  }
  return result.status;
}
