import { readFileSync } from 'node:fs';

/** The knobs that decide whether an ordinary user may create user namespaces. */
export interface UsernsSettings {
  /** kernel.unprivileged_userns_clone (Debian's and Ubuntu's own patch); null: no such knob. */
  readonly unprivilegedUsernsClone: number | null;
  /** user.max_user_namespaces: 0 forbids them. */
  readonly maxUserNamespaces: number | null;
  /** kernel.apparmor_restrict_unprivileged_userns (Ubuntu 23.10+): 1 gives unconfined programs namespaces without capabilities. */
  readonly apparmorRestrict: number | null;
}

/** Something in the way, and the command that clears it. */
export interface HostProblem {
  readonly problem: string;
  readonly fix: string;
}

function sysctl(path: string): number | null {
  try {
    const value = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(value) ? value : null;
  } catch {
    return null;
  }
}

export function readUsernsSettings(): UsernsSettings {
  return {
    unprivilegedUsernsClone: sysctl('/proc/sys/kernel/unprivileged_userns_clone'),
    maxUserNamespaces: sysctl('/proc/sys/user/max_user_namespaces'),
    apparmorRestrict: sysctl('/proc/sys/kernel/apparmor_restrict_unprivileged_userns'),
  };
}

/** Where the AppArmor profile for the runtime lives in a nook checkout, and the path it names. */
export const APPARMOR_PROFILE = 'docs/apparmor/nook-runtime';
export const APPARMOR_PLACEHOLDER = '/opt/nook/native/build/nook-runtime';

/** The commands that install docs/apparmor/nook-runtime for the runtime at `runtime`. */
export function apparmorFix(runtime: string, checkout: string): string {
  return (
    `sed 's|${APPARMOR_PLACEHOLDER}|${runtime}|' ${checkout}/${APPARMOR_PROFILE} | sudo tee /etc/apparmor.d/nook-runtime >/dev/null && ` +
    'sudo apparmor_parser -r /etc/apparmor.d/nook-runtime'
  );
}

/** What keeps this user from creating user namespaces, each with its fix; empty: nothing. */
export function usernsProblems(settings: UsernsSettings, runtime: string, checkout: string): HostProblem[] {
  const problems: HostProblem[] = [];
  if (settings.unprivilegedUsernsClone === 0) {
    problems.push({
      problem: 'kernel.unprivileged_userns_clone is 0: ordinary users may not create user namespaces',
      fix: "sudo sysctl -w kernel.unprivileged_userns_clone=1 (and put 'kernel.unprivileged_userns_clone=1' in /etc/sysctl.d/99-userns.conf to keep it)",
    });
  }
  if (settings.maxUserNamespaces === 0) {
    problems.push({
      problem: 'user.max_user_namespaces is 0: no user namespaces may be created',
      fix: "sudo sysctl -w user.max_user_namespaces=28633 (and put 'user.max_user_namespaces=28633' in /etc/sysctl.d/99-userns.conf to keep it)",
    });
  }
  if (settings.apparmorRestrict === 1) {
    problems.push({
      problem: 'kernel.apparmor_restrict_unprivileged_userns is 1: AppArmor gives the runtime\'s user namespaces no capabilities unless a profile allows it',
      fix: `load nook's profile: ${apparmorFix(runtime, checkout)} (or, for every program: sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0)`,
    });
  }
  return problems;
}
