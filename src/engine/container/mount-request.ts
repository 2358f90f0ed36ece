import type { MountFlag, Propagation } from '../../plan/ops.js';

/** A bind's or a volume's settings from -v or --mount. */
export interface BindSettings {
  readonly readOnly: boolean;
  readonly options: readonly ('nosuid' | 'nodev' | 'noexec')[];
  readonly propagation: Propagation;
}

/** One -v, --mount or --tmpfs, as asked for; nothing checked on the host yet. */
export type MountRequest =
  | ({ readonly kind: 'bind'; readonly source: string; readonly destination: string } & BindSettings)
  /** name undefined: an anonymous volume, a fresh one with a random name. */
  | ({ readonly kind: 'volume'; readonly name: string | undefined; readonly destination: string } & BindSettings)
  | { readonly kind: 'tmpfs'; readonly destination: string; readonly flags: readonly MountFlag[]; readonly data: string };

/**
 * podman's rule for volume names, less names shaped like the store's temp names
 * (src/store/atomic.ts): the list would hide such a volume and a sweep could delete it.
 */
export function isVolumeName(name: string): boolean {
  return /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name) && !/\.tmp-\d+-[0-9a-f]+$/.test(name);
}
