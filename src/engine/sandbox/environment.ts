import { UsageError } from '../../errors.js';

/** What a sandbox gets of the caller's environment by default. */
export const BASE_VARIABLES: readonly string[] = ['PATH', 'HOME', 'TERM', 'LANG', 'USER', 'LOGNAME'];

/**
 * Names that by convention hold credentials: never passed by --keep-env (an explicit -e
 * NAME still passes one). Compared in upper case.
 */
export function looksSecret(name: string): boolean {
  const upper = name.toUpperCase();
  return (
    /TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL/.test(upper) || upper.endsWith('_KEY') || upper.startsWith('AWS_') || upper === 'SSH_AUTH_SOCK'
  );
}

export interface EnvironmentRequest {
  /** The caller's environment. */
  readonly caller: Readonly<Record<string, string | undefined>>;
  readonly keepEnv: boolean;
  /** -e K=V, or -e K to copy K from the caller (nothing if the caller has no K). */
  readonly flags: readonly string[];
  /** Variables nook sets itself (the proxy's), after the caller's and before -e. */
  readonly extra: Readonly<Record<string, string>>;
}

/**
 * The command's environment: PATH HOME TERM LANG USER LOGNAME from the caller (with
 * --keep-env: all of the caller's but what looksSecret), then nook's own, then -e.
 */
export function sandboxEnvironment(req: EnvironmentRequest): string[] {
  const env = new Map<string, string>();
  const names = req.keepEnv ? Object.keys(req.caller).filter((name) => name !== '' && !looksSecret(name)) : BASE_VARIABLES;
  for (const name of names) {
    const value = req.caller[name];
    if (value !== undefined) env.set(name, value);
  }
  for (const [name, value] of Object.entries(req.extra)) env.set(name, value);
  for (const flag of req.flags) {
    const eq = flag.indexOf('=');
    const name = eq < 0 ? flag : flag.slice(0, eq);
    if (name === '' || name.includes('\0')) throw new UsageError(`invalid -e ${flag}`, 'give NAME=VALUE, or NAME to pass your own NAME');
    const value = eq < 0 ? req.caller[name] : flag.slice(eq + 1);
    if (value !== undefined) env.set(name, value);
  }
  return [...env].map(([name, value]) => `${name}=${value}`);
}
