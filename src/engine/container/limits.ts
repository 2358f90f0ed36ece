import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Op } from '../../plan/ops.js';
import type { LaunchVia } from '../../runtime/launch.js';
import type { ContainerRecord, ContainerStore } from '../../store/containers.js';
import { readCgroupHost } from '../../sys/cgroup/host.js';
import { controllersFor, hasCgroupLimits, limitFlags, systemdProperties, type CgroupLimits } from '../../sys/cgroup/limits.js';
import { placeLimits, type Placement } from '../../sys/cgroup/placement.js';
import { makeContainerCgroup, removeCgroup } from '../../sys/cgroup/write.js';

/** In a container's dir: how its limits were applied at its last start (inspect, update, stats read it). */
export const LIMITS_FILE = 'limits.json';

/** Whether and where a container's cgroup limits hold. */
export type LimitState =
  | { readonly enforced: true; readonly kind: 'delegated'; readonly cgroup: string }
  | { readonly enforced: true; readonly kind: 'systemd'; readonly unit: string }
  | { readonly enforced: false; readonly reason: string; readonly fix: string };

/** What a start needs to put the container under its limits. */
export interface LimitSetup {
  /** The `cgroup` launch record, when nook made the container's cgroup. */
  readonly records: readonly Op[];
  /** systemd-run, when a scope carries the limits. */
  readonly via: LaunchVia | undefined;
  /** null: no cgroup limits were asked for. */
  readonly state: LimitState | null;
  /** Undoes what setup made when the start fails before the runtime runs. */
  readonly release: () => void;
}

/** Warnings already printed by this command: said once, however many containers it starts. */
const warned = new Set<string>();

/** The one-line warning for limits that cannot be enforced here. */
export function notEnforcedWarning(limits: CgroupLimits, state: Extract<LimitState, { enforced: false }>): string {
  return `WARN: ${limitFlags(limits).join(', ')} not enforced: ${state.reason}; running without ${limitFlags(limits).length > 1 ? 'them' : 'it'}. Fix: ${state.fix}`;
}

function unitName(id: string): string {
  // A new name per start: the scope of the last one may still be winding down.
  return `nook-${id.slice(0, 12)}-${process.pid}`;
}

function setupFor(record: ContainerRecord, placement: Placement): LimitSetup {
  const limits = record.limits.cgroup;
  const none = (): void => undefined;
  if (placement.kind === 'delegated') {
    const cgroup = makeContainerCgroup(placement.parent, record.id, limits);
    return { records: [{ op: 'cgroup', path: cgroup }], via: undefined, state: { enforced: true, kind: 'delegated', cgroup }, release: () => void removeCgroup(cgroup) };
  }
  if (placement.kind === 'systemd') {
    const unit = unitName(record.id);
    const argv = [placement.systemdRun, '--user', '--scope', '--quiet', '--collect', `--unit=${unit}`, ...systemdProperties(limits).flatMap((p) => ['-p', p]), '--'];
    const bus = process.env.DBUS_SESSION_BUS_ADDRESS;
    const env = { XDG_RUNTIME_DIR: placement.runtimeDir, ...(bus === undefined ? {} : { DBUS_SESSION_BUS_ADDRESS: bus }) };
    return { records: [], via: { argv, env }, state: { enforced: true, kind: 'systemd', unit: `${unit}.scope` }, release: none };
  }
  return { records: [], via: undefined, state: { enforced: false, reason: placement.reason, fix: placement.fix }, release: none };
}

/** Where this host would put the container's limits now (inspect of a container never started). */
export function predictLimits(record: ContainerRecord): LimitState | null {
  if (!hasCgroupLimits(record.limits.cgroup)) return null;
  const placement = placeLimits(readCgroupHost(), controllersFor(record.limits.cgroup));
  if (placement.kind === 'unavailable') return { enforced: false, reason: placement.reason, fix: placement.fix };
  return placement.kind === 'delegated' ? { enforced: true, kind: 'delegated', cgroup: placement.parent } : { enforced: true, kind: 'systemd', unit: '' };
}

/**
 * Puts the container's cgroup limits in place for a start: its own cgroup with the limits
 * written, or a systemd scope, or, where the host has neither, one warning and no limits.
 */
export function setUpLimits(containers: ContainerStore, record: ContainerRecord, warn: (line: string) => void): LimitSetup {
  if (!hasCgroupLimits(record.limits.cgroup)) {
    rmSync(containers.path(record.id, LIMITS_FILE), { force: true });
    return { records: [], via: undefined, state: null, release: () => undefined };
  }
  const setup = setupFor(record, placeLimits(readCgroupHost(), controllersFor(record.limits.cgroup)));
  if (setup.state !== null && !setup.state.enforced) {
    const line = notEnforcedWarning(record.limits.cgroup, setup.state);
    if (!warned.has(line)) warn(line);
    warned.add(line);
  }
  writeFileSync(containers.path(record.id, LIMITS_FILE), `${JSON.stringify(setup.state)}\n`, { mode: 0o600 });
  return setup;
}

/** The limit state of the container's last start, null if it had no cgroup limits or never started. */
export function readLimitState(containers: ContainerStore, id: string): LimitState | null {
  try {
    return JSON.parse(readFileSync(containers.path(id, LIMITS_FILE), 'utf8')) as LimitState | null;
  } catch {
    return null;
  }
}

/**
 * The cgroup directory of a running container whose limits are enforced: the one nook made,
 * or the systemd scope its monitor runs in. null when it has none.
 */
export function runningCgroupDir(containers: ContainerStore, id: string, monitorPid: number): string | null {
  const state = readLimitState(containers, id);
  if (state === null || !state.enforced) return null;
  if (state.kind === 'delegated') return state.cgroup;
  const mount = readCgroupHost().unifiedMount;
  let line: string | undefined;
  try {
    line = readFileSync(`/proc/${monitorPid}/cgroup`, 'utf8').split('\n').find((l) => l.startsWith('0::'));
  } catch {
    return null;
  }
  return mount === null || line === undefined ? null : `${mount}${line.slice(3)}`;
}
