import { describe, expect, it } from 'vitest';
import { ImageError } from '../../src/errors.js';
import { formatReference, normaliseRegistry, parseLocalName, parseReference, registryApiHost } from '../../src/image/reference.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const full = (input: string) => formatReference(parseReference(input));

function refusal(input: string): ImageError {
  try {
    parseReference(input);
  } catch (err) {
    expect(err).toBeInstanceOf(ImageError);
    return err as ImageError;
  }
  throw new Error(`"${input}" was accepted`);
}

describe('parseReference', () => {
  it('normalises short names to docker.io/library and the latest tag', () => {
    expect(full('alpine')).toBe('docker.io/library/alpine:latest');
    expect(full('alpine:3.20')).toBe('docker.io/library/alpine:3.20');
    expect(full('me/app')).toBe('docker.io/me/app:latest');
    expect(full('docker.io/alpine')).toBe('docker.io/library/alpine:latest');
    expect(full('index.docker.io/library/alpine:edge')).toBe('docker.io/library/alpine:edge');
  });

  it('reads a first component with a dot, a port or localhost as the registry', () => {
    expect(parseReference('quay.io/org/app:v1')).toEqual({ registry: 'quay.io', repository: 'org/app', tag: 'v1', digest: undefined });
    expect(parseReference('localhost/app')).toMatchObject({ registry: 'localhost', repository: 'app', tag: 'latest' });
    expect(parseReference('127.0.0.1:5000/a/b/c')).toMatchObject({ registry: '127.0.0.1:5000', repository: 'a/b/c', tag: 'latest' });
    expect(parseReference('myhost:5000/app:1.2')).toMatchObject({ registry: 'myhost:5000', repository: 'app', tag: '1.2' });
    expect(parseReference('[::1]:5000/app')).toMatchObject({ registry: '[::1]:5000', repository: 'app' });
    // Without a dot, a port or "localhost", it is a Docker Hub namespace.
    expect(parseReference('myhost/app')).toMatchObject({ registry: 'docker.io', repository: 'myhost/app' });
  });

  it('takes digests, with or without a tag, and adds no tag to a digest', () => {
    expect(parseReference(`alpine@${DIGEST}`)).toEqual({ registry: 'docker.io', repository: 'library/alpine', tag: undefined, digest: DIGEST });
    expect(parseReference(`alpine:3@${DIGEST}`)).toMatchObject({ tag: '3', digest: DIGEST });
    expect(full(`localhost:5000/x@${DIGEST}`)).toBe(`localhost:5000/x@${DIGEST}`);
  });

  it('refuses malformed references with a hint', () => {
    expect(refusal('').message).toContain('empty');
    expect(refusal('Alpine').message).toContain('lowercase');
    expect(refusal('alpine:-bad').message).toContain('not a valid tag');
    expect(refusal(`alpine:${'x'.repeat(129)}`).message).toContain('not a valid tag');
    expect(refusal('alpine@sha256:abc').message).toContain('not a digest');
    expect(refusal(`alpine@md5:${'a'.repeat(32)}`).message).toContain('not a digest');
    expect(refusal('a//b').message).toContain('empty');
    expect(refusal('quay.io/a..b').message).toContain('"a..b"');
    expect(refusal('bad_-host.io:x/app').message).toMatch(/registry host|tag/);
    expect(refusal('UPPER/').message).toContain('empty');
    for (const input of ['Alpine', 'a//b', 'x y']) expect(refusal(input).hint).toBeTruthy();
  });
});

describe('names and hosts', () => {
  it('gives local names the localhost registry, as podman tag does', () => {
    expect(formatReference(parseLocalName('mybox'))).toBe('localhost/mybox:latest');
    expect(formatReference(parseLocalName('me/box:v1'))).toBe('localhost/me/box:v1');
    expect(formatReference(parseLocalName('quay.io/me/box'))).toBe('quay.io/me/box:latest');
  });

  it("talks to Docker Hub's API host and normalises login registries", () => {
    expect(registryApiHost('docker.io')).toBe('registry-1.docker.io');
    expect(registryApiHost('quay.io')).toBe('quay.io');
    expect(normaliseRegistry('https://index.docker.io/v1/')).toBe('docker.io');
    expect(normaliseRegistry('localhost:5000')).toBe('localhost:5000');
    expect(() => normaliseRegistry('not a host')).toThrow(ImageError);
  });
});
