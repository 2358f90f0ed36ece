/** Linux capability numbers (linux/capability.h), by the names podman's --cap-add takes. */
export const CAPABILITIES = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID',
  'SETPCAP', 'LINUX_IMMUTABLE', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW',
  'IPC_LOCK', 'IPC_OWNER', 'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT',
  'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE', 'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD',
  'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP', 'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG',
  'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ', 'PERFMON', 'BPF', 'CHECKPOINT_RESTORE',
] as const;

export type Capability = (typeof CAPABILITIES)[number];

/** podman's default set (containers.conf default_capabilities): CapEff 00000000800405fb. */
export const DEFAULT_CAPABILITIES: readonly Capability[] = [
  'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'NET_BIND_SERVICE', 'SETFCAP', 'SETGID',
  'SETPCAP', 'SETUID', 'SYS_CHROOT',
];

export function capabilityMask(caps: Iterable<Capability>): bigint {
  let mask = 0n;
  for (const cap of caps) mask |= 1n << BigInt(CAPABILITIES.indexOf(cap));
  return mask;
}

export function capabilityNames(mask: bigint): Capability[] {
  return CAPABILITIES.filter((_, bit) => (mask >> BigInt(bit)) & 1n);
}

/** `net_admin`, `CAP_NET_ADMIN`, `Net_Admin` → NET_ADMIN; `all` → 'ALL'; null: no such capability. */
export function parseCapabilityName(name: string): Capability | 'ALL' | null {
  const upper = name.toUpperCase().replace(/^CAP_/, '');
  if (upper === 'ALL') return 'ALL';
  return (CAPABILITIES as readonly string[]).includes(upper) ? (upper as Capability) : null;
}

/**
 * podman's --cap-add / --cap-drop on top of the default set: `--cap-drop all` starts from
 * nothing, `--cap-add all` from everything; then the named ones are dropped and added.
 * Returns the clash when a capability is both added and dropped.
 */
export function mergeCapabilities(
  base: readonly Capability[],
  add: readonly (Capability | 'ALL')[],
  drop: readonly (Capability | 'ALL')[],
): { readonly caps: Capability[] } | { readonly clash: Capability | 'ALL' } {
  const clash = add.find((cap) => drop.includes(cap));
  if (clash !== undefined) return { clash };
  let caps = new Set<Capability>(drop.includes('ALL') ? [] : base);
  if (add.includes('ALL')) caps = new Set(CAPABILITIES);
  for (const cap of drop) if (cap !== 'ALL') caps.delete(cap);
  for (const cap of add) if (cap !== 'ALL') caps.add(cap);
  return { caps: CAPABILITIES.filter((c) => caps.has(c)) };
}
