import { UsageError } from '../../errors.js';
import { DEFAULT_PATH } from '../../plan/hardening.js';
import type { RunConfig } from '../../image/run-config.js';

/** A `K=V` list (an image's, a container's) as an object; entries without a name are ignored. */
export function envObject(list: readonly string[]): Record<string, string> {
  const entries = list.flatMap((kv) => {
    const eq = kv.indexOf('=');
    return eq > 0 ? [[kv.slice(0, eq), kv.slice(eq + 1)] as const] : [];
  });
  return Object.fromEntries(entries);
}

/** podman's environment: defaults, then -e K=V in order; a bare -e K copies the host's K. */
export function containerEnv(defaults: Record<string, string>, assignments: readonly string[]): string[] {
  const env = new Map(Object.entries(defaults));
  for (const item of assignments) {
    const eq = item.indexOf('=');
    const key = eq < 0 ? item : item.slice(0, eq);
    if (key === '' || key.includes('\0')) throw new UsageError(`invalid environment variable "${item}"`, 'use -e NAME=VALUE or -e NAME');
    if (eq >= 0) env.set(key, item.slice(eq + 1));
    else if (process.env[key] !== undefined) env.set(key, process.env[key]!);
  }
  return [...env].map(([k, v]) => `${k}=${v}`);
}

/** A new container's environment: podman's defaults, the image's Env, then -e and --env-file. */
export function newContainerEnv(
  config: RunConfig | null,
  c: { readonly hostname: string; readonly user: { readonly uid: number; readonly home: string } },
  assignments: readonly string[],
): string[] {
  return containerEnv(
    {
      PATH: DEFAULT_PATH,
      TERM: 'xterm',
      container: 'nook',
      HOSTNAME: c.hostname,
      HOME: c.user.uid === 0 && c.user.home === '/' ? '/root' : c.user.home,
      ...envObject(config?.env ?? []),
    },
    assignments,
  );
}
