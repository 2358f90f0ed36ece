import type { CgroupHost } from './host.js';
import type { Controller } from './limits.js';

/** Where a container's limits can live on this host, or why they cannot. */
export type Placement =
  /** A cgroup of its own under a cgroup the user owns: nook writes the limits. */
  | { readonly kind: 'delegated'; readonly parent: string }
  /** A transient systemd scope (systemd-run --user --scope) carries them. */
  | { readonly kind: 'systemd'; readonly systemdRun: string; readonly runtimeDir: string }
  | { readonly kind: 'unavailable'; readonly reason: string; readonly fix: string };

const UNIFIED_FIX = 'boot with cgroup v2 (kernel command line: systemd.unified_cgroup_hierarchy=1) and log in through a systemd session';
const DELEGATE_FIX = 'have systemd delegate the controllers to users: /etc/systemd/system/user@.service.d/delegate.conf with "[Service]" and "Delegate=cpu cpuset io memory pids", then log in again';

const missing = (have: readonly string[], needed: readonly Controller[]): Controller[] => needed.filter((c) => !have.includes(c));

/**
 * Decides where limits that need `needed` go: a delegated cgroup with the controllers
 * enabled first (no extra process), else a systemd user scope, else nowhere, with the reason
 * and what would fix it.
 */
export function placeLimits(host: CgroupHost, needed: readonly Controller[]): Placement {
  if (host.version === 'v1') return { kind: 'unavailable', reason: 'this host uses cgroup v1, which rootless containers cannot be limited with', fix: UNIFIED_FIX };
  if (host.version === 'hybrid') {
    return { kind: 'unavailable', reason: `this host mounts cgroup v2 only beside v1 (hybrid, at ${host.unifiedMount}): the memory, cpu and pids controllers belong to v1`, fix: UNIFIED_FIX };
  }
  if (host.version === 'none') return { kind: 'unavailable', reason: 'no cgroup filesystem is mounted at /sys/fs/cgroup', fix: 'mount cgroup2 at /sys/fs/cgroup (systemd does this at boot)' };
  if (host.delegated !== null && missing(host.delegated.controllers, needed).length === 0) return { kind: 'delegated', parent: host.delegated.dir };
  if (host.systemd !== null) {
    const lacking = host.systemd.controllers === null ? [] : missing(host.systemd.controllers, needed);
    if (lacking.length === 0) return { kind: 'systemd', systemdRun: host.systemd.systemdRun, runtimeDir: host.systemd.runtimeDir };
    return { kind: 'unavailable', reason: `your systemd user manager is not given the ${lacking.join(', ')} controller${lacking.length > 1 ? 's' : ''}`, fix: DELEGATE_FIX };
  }
  if (host.delegated !== null) {
    const lacking = missing(host.delegated.controllers, needed);
    return {
      kind: 'unavailable',
      reason: `your cgroup ${host.delegated.dir} does not enable the ${lacking.join(', ')} controller${lacking.length > 1 ? 's' : ''} for its children`,
      fix: `enable them: echo "${lacking.map((c) => `+${c}`).join(' ')}" > ${host.delegated.dir}/cgroup.subtree_control (or ${DELEGATE_FIX})`,
    };
  }
  return {
    kind: 'unavailable',
    reason: `no cgroup is delegated to you (nook runs in ${host.ownPath ?? 'an unknown cgroup'}) and no systemd user manager runs`,
    fix: 'run nook in a systemd user session (for CI and servers: sudo loginctl enable-linger $USER), or in a cgroup delegated to you (systemd: Delegate=yes)',
  };
}
