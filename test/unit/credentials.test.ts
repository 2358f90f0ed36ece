import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuthError } from '../../src/errors.js';
import { authFileForWrite, findCredentials, removeCredentials, saveCredentials } from '../../src/image/credentials.js';
import { tempDir } from '../helpers/rootfs.js';

let tmp: { path: string; cleanup: () => void };
const KEYS = ['HOME', 'XDG_RUNTIME_DIR', 'XDG_CONFIG_HOME', 'REGISTRY_AUTH_FILE', 'DOCKER_CONFIG'] as const;
const saved = Object.fromEntries(KEYS.map((k) => [k, process.env[k]]));
const b64 = (s: string) => Buffer.from(s).toString('base64');

beforeEach(() => {
  tmp = tempDir('creds');
  for (const key of ['REGISTRY_AUTH_FILE', 'DOCKER_CONFIG']) delete process.env[key];
  process.env.HOME = tmp.path;
  process.env.XDG_RUNTIME_DIR = join(tmp.path, 'run');
  process.env.XDG_CONFIG_HOME = join(tmp.path, 'config');
});
afterEach(() => {
  // Keys one by one: replacing process.env would cut it off from the real environment,
  // which os.homedir() reads.
  for (const key of KEYS) {
    if (saved[key] === undefined) delete process.env[key];
    else process.env[key] = saved[key];
  }
  tmp.cleanup();
});

function writeJson(path: string, value: unknown): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, JSON.stringify(value));
}

describe('credentials', () => {
  it("saves to podman's runtime auth file, private, keeping other entries", async () => {
    const path = authFileForWrite();
    expect(path).toBe(join(tmp.path, 'run', 'containers', 'auth.json'));
    writeJson(path, { auths: { 'quay.io': { auth: b64('q:w') } }, credHelpers: {} });
    await saveCredentials('localhost:5000', { username: 'u', password: 'p:with:colons' });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const file = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    expect(file).toHaveProperty('credHelpers');
    expect(await findCredentials('localhost:5000', 'app')).toEqual({ username: 'u', password: 'p:with:colons' });
    expect(await findCredentials('quay.io')).toEqual({ username: 'q', password: 'w' });
    expect(await removeCredentials('localhost:5000')).toBe(true);
    expect(await removeCredentials('localhost:5000')).toBe(false);
    expect(await findCredentials('localhost:5000')).toBeUndefined();
  });

  it("reads ~/.config/containers/auth.json and docker's config.json, podman's first", async () => {
    writeJson(join(tmp.path, '.docker', 'config.json'), {
      auths: { 'https://index.docker.io/v1/': { auth: b64('hub:1') }, 'example.io': { auth: b64('docker:2') } },
    });
    writeJson(join(tmp.path, 'config', 'containers', 'auth.json'), { auths: { 'example.io': { auth: b64('podman:3') } } });
    expect(await findCredentials('docker.io', 'library/alpine')).toEqual({ username: 'hub', password: '1' });
    expect(await findCredentials('example.io', 'x')).toEqual({ username: 'podman', password: '3' });
    expect(await findCredentials('other.io')).toBeUndefined();
  });

  it('prefers an entry for the repository or its namespace over the registry', async () => {
    writeJson(authFileForWrite(), {
      auths: { 'reg.io': { auth: b64('all:1') }, 'reg.io/team': { auth: b64('team:2') }, 'reg.io/team/app': { auth: b64('app:3') } },
    });
    expect((await findCredentials('reg.io', 'team/app'))?.username).toBe('app');
    expect((await findCredentials('reg.io', 'team/other'))?.username).toBe('team');
    expect((await findCredentials('reg.io', 'solo'))?.username).toBe('all');
  });

  it('names a broken auth file', async () => {
    writeJson(authFileForWrite(), {});
    writeFileSync(authFileForWrite(), '{not json');
    await expect(findCredentials('x.io')).rejects.toThrow(AuthError);
    await expect(findCredentials('x.io')).rejects.toThrow(authFileForWrite());
  });
});
