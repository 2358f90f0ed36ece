/**
 * Content digests as registries and OCI write them: `sha256:` and 64 lowercase hex digits.
 * Only sha256 is accepted: it is what every registry serves, and a digest is also a file
 * name in the store, so anything else is refused before it reaches a path.
 */
export type Digest = `sha256:${string}`;

const DIGEST = /^sha256:[a-f0-9]{64}$/;

export function isDigest(value: unknown): value is Digest {
  return typeof value === 'string' && DIGEST.test(value);
}

/** The 64 hex digits of a digest: its file name in the store, and an image's id. */
export function digestHex(digest: Digest): string {
  return digest.slice('sha256:'.length);
}
