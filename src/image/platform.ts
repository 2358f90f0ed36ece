import { RegistryError, UsageError } from '../errors.js';
import type { Descriptor, ManifestIndex, Platform } from './manifest.js';

/** Node's process.arch → OCI architecture (GOARCH names). */
const ARCHITECTURES: Partial<Record<NodeJS.Architecture, string>> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: '386',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
};

/** The platform images are pulled for by default: this host's. */
export function hostPlatform(arch: NodeJS.Architecture = process.arch): Platform {
  return { os: 'linux', architecture: ARCHITECTURES[arch] ?? arch, variant: undefined };
}

/** `--platform os/arch[/variant]`. */
export function parsePlatform(value: string): Platform {
  const parts = value.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-z0-9_.-]+$/.test(p))) {
    throw new UsageError(`invalid platform "${value}"`, 'use OS/ARCH[/VARIANT], e.g. linux/amd64 or linux/arm64/v8');
  }
  return { os: parts[0]!, architecture: parts[1]!, variant: parts[2] };
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

/** arm64's only variant is v8: an index may write it or leave it out. */
function sameVariant(wanted: Platform, offered: Platform): boolean {
  if (wanted.variant === undefined) return true;
  const norm = (v: string | undefined) => (offered.architecture === 'arm64' && v === undefined ? 'v8' : v);
  return norm(wanted.variant) === norm(offered.variant);
}

/**
 * Picks the manifest for `wanted` from an index. Without a wanted variant, an entry that
 * gives none is preferred, then the first. Entries without a platform (attestations,
 * signatures) are never picked.
 */
export function selectPlatform(index: ManifestIndex, wanted: Platform, what: string): Descriptor {
  const matching = index.manifests.filter(
    (m) => m.platform !== undefined && m.platform.os === wanted.os && m.platform.architecture === wanted.architecture && sameVariant(wanted, m.platform),
  );
  const pick = matching.find((m) => m.platform?.variant === undefined) ?? matching[0];
  if (pick === undefined) {
    const offered = index.manifests
      .flatMap((m) => (m.platform && m.platform.os !== 'unknown' ? [formatPlatform(m.platform)] : []))
      .join(', ');
    throw new RegistryError(
      `${what} has no image for ${formatPlatform(wanted)}`,
      offered ? `it offers ${offered}: choose one with --platform` : 'the index lists no platforms',
    );
  }
  return { mediaType: pick.mediaType, digest: pick.digest, size: pick.size };
}
