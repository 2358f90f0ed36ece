import { describe, expect, it } from 'vitest';
import { parseChallenges } from '../../src/image/auth-challenge.js';

describe('parseChallenges', () => {
  it("reads Docker Hub's Bearer challenge", () => {
    expect(parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"')).toEqual([
      { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/alpine:pull' } },
    ]);
  });

  it('reads Basic, lowercasing scheme and parameter names', () => {
    expect(parseChallenges('Basic Realm="Registry Realm"')).toEqual([{ scheme: 'basic', params: { realm: 'Registry Realm' } }]);
    expect(parseChallenges('BASIC')).toEqual([{ scheme: 'basic', params: {} }]);
  });

  it('keeps commas and escaped quotes inside quoted values', () => {
    const [c] = parseChallenges('Bearer realm="https://x/token",scope="repository:a:pull,push",error="say \\"hi\\""');
    expect(c!.params).toEqual({ realm: 'https://x/token', scope: 'repository:a:pull,push', error: 'say "hi"' });
  });

  it('accepts unquoted values and spaces around "=" and ","', () => {
    expect(parseChallenges('Bearer realm = https://x/token , service=reg')).toEqual([{ scheme: 'bearer', params: { realm: 'https://x/token', service: 'reg' } }]);
  });

  it('splits several challenges in one header', () => {
    expect(parseChallenges('Basic realm="a", Bearer realm="https://t",service="s"')).toEqual([
      { scheme: 'basic', params: { realm: 'a' } },
      { scheme: 'bearer', params: { realm: 'https://t', service: 's' } },
    ]);
  });

  it('copes with empty and unterminated headers', () => {
    expect(parseChallenges('')).toEqual([]);
    expect(parseChallenges('Bearer realm="https://t')).toEqual([{ scheme: 'bearer', params: { realm: 'https://t' } }]);
  });
});
