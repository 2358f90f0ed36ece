import { describe, expect, it } from 'vitest';
import { createProgram, type Invocation } from '../../src/cli/program.js';
import { humanAge, humanSize } from '../../src/engine/shared/human.js';
import { UsageError } from '../../src/errors.js';

function parse(...args: string[]): Invocation | undefined {
  let invocation: Invocation | undefined;
  createProgram({ out: () => undefined, err: () => undefined }, (i) => (invocation = i)).parse(args, { from: 'user' });
  return invocation;
}

describe('image command lines', () => {
  it('parses pull with its defaults and flags', () => {
    expect(parse('pull', 'alpine')).toEqual({ command: 'pull', options: { reference: 'alpine', quiet: false, platform: undefined, tlsVerify: true } });
    expect(parse('pull', '-q', '--platform', 'linux/arm64', '--tls-verify=false', 'x')).toEqual({
      command: 'pull',
      options: { reference: 'x', quiet: true, platform: 'linux/arm64', tlsVerify: false },
    });
    expect(() => parse('pull', '--tls-verify=maybe', 'x')).toThrow(UsageError);
  });

  it('parses images, rmi, tag and image inspect', () => {
    expect(parse('images')).toEqual({ command: 'images', options: { format: 'table' } });
    expect(parse('images', '--format', 'json')).toEqual({ command: 'images', options: { format: 'json' } });
    expect(parse('rmi', '-f', 'a', 'b')).toEqual({ command: 'rmi', options: { images: ['a', 'b'], force: true } });
    expect(parse('tag', 'a', 'b', 'c')).toEqual({ command: 'tag', options: { image: 'a', names: ['b', 'c'] } });
    expect(parse('image', 'inspect', 'a')).toEqual({ command: 'image-inspect', options: { images: ['a'] } });
  });

  it('parses login and logout', () => {
    expect(parse('login', '-u', 'me', '--password-stdin', 'quay.io')).toEqual({
      command: 'login',
      options: { registry: 'quay.io', username: 'me', password: undefined, passwordStdin: true, tlsVerify: true },
    });
    expect(() => parse('login', '-u', 'me', '-p', 'x', '--password-stdin', 'quay.io')).toThrow(UsageError);
    expect(parse('logout', 'quay.io')).toEqual({ command: 'logout', options: { registry: 'quay.io' } });
  });
});

describe('archive and push command lines', () => {
  it('parses import, save and load', () => {
    expect(parse('import', 'rootfs.tar.gz')).toEqual({ command: 'import', options: { source: 'rootfs.tar.gz', name: undefined } });
    expect(parse('import', '-', 'base:v1')).toEqual({ command: 'import', options: { source: '-', name: 'base:v1' } });
    expect(parse('save', '-o', 'x.tar', 'alpine')).toEqual({ command: 'save', options: { image: 'alpine', output: 'x.tar', format: 'docker-archive' } });
    expect(parse('save', '--format', 'oci-archive', 'alpine')).toEqual({ command: 'save', options: { image: 'alpine', output: undefined, format: 'oci-archive' } });
    expect(() => parse('save', '--format', 'oci-dir', 'alpine')).toThrow();
    expect(parse('load', '-i', 'x.tar')).toEqual({ command: 'load', options: { input: 'x.tar' } });
    expect(parse('load')).toEqual({ command: 'load', options: { input: undefined } });
  });

  it('parses push', () => {
    expect(parse('push', 'app')).toEqual({ command: 'push', options: { image: 'app', destination: undefined, quiet: false, tlsVerify: true } });
    expect(parse('push', '-q', '--tls-verify=false', 'app', 'quay.io/me/app:v1')).toEqual({
      command: 'push',
      options: { image: 'app', destination: 'quay.io/me/app:v1', quiet: true, tlsVerify: false },
    });
  });
});

describe('human formats', () => {
  it('prints sizes as podman does', () => {
    expect(humanSize(512)).toBe('512 B');
    expect(humanSize(4_262_000)).toBe('4.26 MB');
    expect(humanSize(4_500_000)).toBe('4.5 MB');
    expect(humanSize(123_456_789)).toBe('123 MB');
  });

  it('prints ages as podman does', () => {
    const now = new Date('2024-06-01T00:00:00Z');
    const ago = (seconds: number) => humanAge(new Date(now.getTime() - seconds * 1000), now);
    expect(ago(0.5)).toBe('Less than a second ago');
    expect(ago(30)).toBe('30 seconds ago');
    expect(ago(90)).toBe('About a minute ago');
    expect(ago(3600)).toBe('About an hour ago');
    expect(ago(5 * 3600)).toBe('5 hours ago');
    expect(ago(3 * 86400)).toBe('3 days ago');
    expect(ago(30 * 86400)).toBe('4 weeks ago');
    expect(ago(200 * 86400)).toBe('6 months ago');
    expect(ago(3 * 365 * 86400)).toBe('3 years ago');
  });
});
