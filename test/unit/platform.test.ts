import { describe, expect, it } from 'vitest';
import { RegistryError, UsageError } from '../../src/errors.js';
import type { ManifestIndex, Platform } from '../../src/image/manifest.js';
import { hostPlatform, parsePlatform, selectPlatform } from '../../src/image/platform.js';

const digest = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}` as const;

function index(...platforms: (Platform | undefined)[]): ManifestIndex {
  return {
    kind: 'index',
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: platforms.map((platform, i) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: digest(i + 1), size: 100, platform })),
  };
}

const linux = (architecture: string, variant?: string): Platform => ({ os: 'linux', architecture, variant });
const pick = (idx: ManifestIndex, wanted: Platform) => selectPlatform(idx, wanted, 'test index').digest;

describe('platforms', () => {
  it("maps Node's arch to the OCI names", () => {
    expect(hostPlatform('x64')).toEqual(linux('amd64'));
    expect(hostPlatform('arm64')).toEqual(linux('arm64'));
  });

  it('parses --platform', () => {
    expect(parsePlatform('linux/amd64')).toEqual(linux('amd64'));
    expect(parsePlatform('linux/arm/v7')).toEqual(linux('arm', 'v7'));
    for (const bad of ['linux', 'linux/', 'a/b/c/d', 'Linux/AMD64']) expect(() => parsePlatform(bad)).toThrow(UsageError);
  });

  it('picks the entry for the wanted os and architecture', () => {
    const idx = index(linux('arm64', 'v8'), linux('amd64'), { os: 'windows', architecture: 'amd64' });
    expect(pick(idx, linux('amd64'))).toBe(digest(2));
    expect(pick(idx, linux('arm64'))).toBe(digest(1));
    expect(pick(idx, { os: 'windows', architecture: 'amd64' })).toBe(digest(3));
  });

  it('matches variants, treating a missing arm64 variant as v8', () => {
    const idx = index(linux('arm', 'v6'), linux('arm', 'v7'), linux('arm64'));
    expect(pick(idx, linux('arm', 'v7'))).toBe(digest(2));
    expect(pick(idx, linux('arm64', 'v8'))).toBe(digest(3));
    // No variant asked for: the first matching entry.
    expect(pick(idx, linux('arm'))).toBe(digest(1));
  });

  it('prefers an entry without a variant when none is asked for, and skips entries without a platform', () => {
    const idx = index(undefined, linux('amd64', 'v3'), linux('amd64'));
    expect(pick(idx, linux('amd64'))).toBe(digest(3));
  });

  it('names what the index offers when nothing matches', () => {
    const idx = index(linux('amd64'), linux('arm64', 'v8'), { os: 'unknown', architecture: 'unknown' });
    try {
      selectPlatform(idx, linux('s390x'), 'image index of x');
      throw new Error('no error');
    } catch (err) {
      expect(err).toBeInstanceOf(RegistryError);
      expect((err as RegistryError).message).toBe('image index of x has no image for linux/s390x');
      expect((err as RegistryError).hint).toBe('it offers linux/amd64, linux/arm64/v8: choose one with --platform');
    }
  });
});
