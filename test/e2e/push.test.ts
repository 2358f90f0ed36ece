import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isolatedEnv, nook, show, type NookResult } from '../helpers/nook.js';
import { startRegistry, type Login, type TestRegistry } from '../helpers/registry.js';
import { makeBusyboxRootfs, tempDir } from '../helpers/rootfs.js';

const LOGIN: Login = { username: 'pusher', password: 'push-s3cret' };

let tmp: { path: string; cleanup: () => void };
let env: NodeJS.ProcessEnv;
let registry: TestRegistry;
let authRegistry: TestRegistry;
let baseId: string;
let manifestDigest: string;

beforeAll(async () => {
  tmp = tempDir('push');
  env = isolatedEnv(join(tmp.path, 'home'));
  [registry, authRegistry] = await Promise.all([
    startRegistry(join(tmp.path, 'registry')),
    startRegistry(join(tmp.path, 'registry-auth'), { basicAuth: LOGIN }),
  ]);
  const rootfs = makeBusyboxRootfs(join(tmp.path, 'rootfs'));
  const tarball = join(tmp.path, 'rootfs.tar.gz');
  await promisify(execFile)('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '-C', rootfs, '-czf', tarball, '.']);
  const imported = await nook(['import', tarball, 'base'], { env });
  expect(imported.status, show(imported)).toBe(0);
  baseId = imported.stdout.trim();
  const [inspected] = JSON.parse((await nook(['image', 'inspect', 'base'], { env })).stdout) as { Digest: string }[];
  manifestDigest = inspected!.Digest;
}, 120_000);

afterAll(async () => {
  await Promise.all([registry?.stop(), authRegistry?.stop()]);
  await nook(['unshare', 'rm', '-rf', tmp.path], { env });
  tmp.cleanup();
});

async function run(args: readonly string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<NookResult> {
  return nook(args, { env: opts.env ?? env, ...(opts.input === undefined ? {} : { input: opts.input }) });
}

/** skopeo, the independent client: the manifest the registry serves, raw. */
async function skopeoDigest(ref: string, creds?: Login): Promise<string> {
  const args = ['inspect', '--tls-verify=false', '--format', '{{.Digest}}', ...(creds ? ['--creds', `${creds.username}:${creds.password}`] : []), `docker://${ref}`];
  const home = join(tmp.path, 'skopeo-home');
  mkdirSync(home, { recursive: true });
  const { stdout } = await promisify(execFile)('skopeo', args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, XDG_RUNTIME_DIR: home, TMPDIR: home } });
  return stdout.trim();
}

describe('push', () => {
  it('uploads the image as it is stored: same manifest digest in the registry, same id when pulled back', async () => {
    const dest = `${registry.host}/pushed/base:v1`;
    const pushed = await run(['push', '--tls-verify=false', 'base', dest]);
    expect(pushed.status, show(pushed)).toBe(0);
    expect(pushed.stderr).toMatch(/Copying blob sha256:[0-9a-f]{64} done/);
    expect(pushed.stderr).toContain(`Copying config sha256:${baseId} done`);
    expect(pushed.stderr).toContain('Writing manifest to image destination');
    expect(await skopeoDigest(dest)).toBe(manifestDigest);

    const fresh = isolatedEnv(join(tmp.path, 'home-fresh'));
    const pulled = await run(['pull', '-q', '--tls-verify=false', dest], { env: fresh });
    expect(pulled.status, show(pulled)).toBe(0);
    expect(pulled.stdout.trim()).toBe(baseId);
    const ran = await run(['run', '--rm', dest, 'cat', '/etc/passwd'], { env: fresh });
    expect(ran.stdout, show(ran)).toContain('app:x:1000');
  });

  it('skips the blobs the registry already has', async () => {
    const again = await run(['push', '--tls-verify=false', 'base', `docker://${registry.host}/pushed/base:v2`]);
    expect(again.status, show(again)).toBe(0);
    expect(again.stderr).toMatch(/Copying blob sha256:[0-9a-f]{64} skipped: already exists/);
    expect(again.stderr).not.toMatch(/ done$/m);
    expect(await skopeoDigest(`${registry.host}/pushed/base:v2`)).toBe(manifestDigest);
  });

  it("pushes to the image's own name when no destination is given, and needs one for an id", async () => {
    const name = `${registry.host}/own/name:latest`;
    expect((await run(['tag', 'base', name])).status).toBe(0);
    const quiet = await run(['push', '-q', '--tls-verify=false', name]);
    expect(quiet.status, show(quiet)).toBe(0);
    expect(quiet.stderr).toBe('');
    expect(await skopeoDigest(name)).toBe(manifestDigest);

    const byId = await run(['push', '--tls-verify=false', baseId.slice(0, 12)]);
    expect(byId.status, show(byId)).toBe(125);
    expect(byId.stderr).toContain('cannot tell where to push it');
  });
});

describe('push with authentication', () => {
  const dest = () => `${authRegistry.host}/private/base:v1`;

  it('needs credentials', async () => {
    const result = await run(['push', '--tls-verify=false', 'base', dest()]);
    expect(result.status, show(result)).toBe(125);
    expect(result.stderr).toContain(`${authRegistry.host} requires authentication`);
    expect(result.stderr).toContain(`nook login ${authRegistry.host}`);
  });

  it('refuses a wrong password clearly', async () => {
    const home = join(tmp.path, 'home-wrong');
    const wrongEnv = isolatedEnv(home);
    mkdirSync(join(home, '.docker'), { recursive: true });
    const auth = Buffer.from(`${LOGIN.username}:wrong`).toString('base64');
    writeFileSync(join(home, '.docker', 'config.json'), JSON.stringify({ auths: { [authRegistry.host]: { auth } } }));
    // The image store is per user: give this one the image through an archive.
    const archive = join(tmp.path, 'base.tar');
    expect((await run(['save', '-o', archive, 'base'])).status).toBe(0);
    expect((await run(['load', '-i', archive], { env: wrongEnv })).status).toBe(0);
    const result = await run(['push', '--tls-verify=false', 'base', dest()], { env: wrongEnv });
    expect(result.status, show(result)).toBe(125);
    expect(result.stderr).toContain(`refused the credentials of "${LOGIN.username}"`);
  });

  it('pushes after login', async () => {
    const login = await run(['login', '--tls-verify=false', '-u', LOGIN.username, '--password-stdin', authRegistry.host], { input: `${LOGIN.password}\n` });
    expect(login.status, show(login)).toBe(0);
    const pushed = await run(['push', '--tls-verify=false', 'base', dest()]);
    expect(pushed.status, show(pushed)).toBe(0);
    expect(await skopeoDigest(dest(), LOGIN)).toBe(manifestDigest);
  });
});
