import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { createServer, get as httpGet } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostPlatform } from '../../src/image/platform.js';
import { isolatedEnv, nook, NOOK_BIN, show, type NookResult, nookOk } from '../helpers/nook.js';
import { OciLayout, type Descriptor } from '../helpers/oci-image.js';
import { startRegistry, type Login, type TestRegistry } from '../helpers/registry.js';
import { startTokenServer, type TokenServer } from '../helpers/token-server.js';
import { makeBusyboxRootfs, tempDir } from '../helpers/rootfs.js';

const LOGIN: Login = { username: 'tester', password: 's3cret-pass' };
const HOST_ARCH = hostPlatform().architecture;
const OTHER_ARCH = HOST_ARCH === 'arm64' ? 'amd64' : 'arm64';

let tmp: { path: string; cleanup: () => void };
let env: NodeJS.ProcessEnv;
let registry: TestRegistry;
let authRegistry: TestRegistry;
let tokenServer: TokenServer;
let tokenRegistry: TestRegistry;
/** Image ids (config digests) of the fixtures. */
const ids = { busybox: '', host: '', other: '', corrupt: '', private: '' };
let busyboxManifest: Descriptor;
let corruptLayer: Descriptor;

function treeWith(dir: string, file: string, content: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, file), content);
  return dir;
}

beforeAll(async () => {
  tmp = tempDir('images');
  env = isolatedEnv(join(tmp.path, 'home'));
  [registry, authRegistry] = await Promise.all([
    startRegistry(join(tmp.path, 'registry')),
    startRegistry(join(tmp.path, 'registry-auth'), { basicAuth: LOGIN }),
  ]);
  mkdirSync(join(tmp.path, 'registry-token'));
  tokenServer = await startTokenServer(join(tmp.path, 'registry-token'), LOGIN);
  tokenRegistry = await startRegistry(join(tmp.path, 'registry-token'), { tokenAuth: tokenServer });

  const rootfs = makeBusyboxRootfs(join(tmp.path, 'rootfs'));
  const layout = new OciLayout(join(tmp.path, 'layout'));
  const platform = (architecture: string) => ({ os: 'linux', architecture });

  const busybox = layout.image([rootfs, treeWith(join(tmp.path, 'l-app'), 'app.txt', 'hello\n')], platform(HOST_ARCH), { Env: ['GREETING=hi'] });
  ids.busybox = busybox.id;
  busyboxManifest = busybox.manifest;
  layout.ref('busybox', busybox.manifest);

  const hostImage = layout.image([rootfs, treeWith(join(tmp.path, 'l-host'), 'platform', `${HOST_ARCH}\n`)], platform(HOST_ARCH));
  const otherImage = layout.image([rootfs, treeWith(join(tmp.path, 'l-other'), 'platform', `${OTHER_ARCH}\n`)], platform(OTHER_ARCH));
  ids.host = hostImage.id;
  ids.other = otherImage.id;
  layout.ref('multi', layout.index([otherImage.manifest, hostImage.manifest]));

  const corrupt = layout.image([treeWith(join(tmp.path, 'l-corrupt'), 'data', 'only in the corrupt image\n')], platform(HOST_ARCH));
  ids.corrupt = corrupt.id;
  corruptLayer = corrupt.layers[0]!;
  layout.ref('corrupt', corrupt.manifest);

  const priv = layout.image([rootfs, treeWith(join(tmp.path, 'l-private'), 'secret', 'private\n')], platform(HOST_ARCH));
  ids.private = priv.id;
  layout.ref('private', priv.manifest);

  await Promise.all([
    layout.push('busybox', `${registry.host}/busybox:1.0`),
    layout.push('multi', `${registry.host}/multi:latest`),
    layout.push('corrupt', `${registry.host}/corrupt:latest`),
    layout.push('private', `${authRegistry.host}/private:latest`, LOGIN),
    layout.push('busybox', `${tokenRegistry.host}/public/busybox:latest`, LOGIN),
    layout.push('private', `${tokenRegistry.host}/private/app:latest`, LOGIN),
  ]);
}, 120_000);

afterAll(async () => {
  await Promise.all([registry?.stop(), authRegistry?.stop(), tokenRegistry?.stop(), tokenServer?.stop()]);
  tmp.cleanup();
});

async function ok(args: readonly string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<NookResult> {
  return nookOk(args, { env: opts.env ?? env, ...(opts.input === undefined ? {} : { input: opts.input }) });
}

async function fails(args: readonly string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<NookResult> {
  const result = await nook(args, { env: opts.env ?? env, ...(opts.input === undefined ? {} : { input: opts.input }) });
  expect(result.status, show(result)).toBe(125);
  return result;
}

const storeDir = (e: NodeJS.ProcessEnv = env) => join(e.XDG_DATA_HOME!, 'nook');
const blobs = (e: NodeJS.ProcessEnv = env) => {
  const dir = join(storeDir(e), 'blobs', 'sha256');
  return existsSync(dir) ? readdirSync(dir).sort() : [];
};

interface ListedImage {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
}

async function imagesJson(e: NodeJS.ProcessEnv = env): Promise<ListedImage[]> {
  return JSON.parse((await ok(['images', '--format', 'json'], { env: e })).stdout) as ListedImage[];
}

async function inspect(image: string): Promise<{ Id: string; Architecture: string; RootFS: { Layers: string[] }; Config: { Env: string[] } }> {
  const [first] = JSON.parse((await ok(['image', 'inspect', image])).stdout) as Awaited<ReturnType<typeof inspect>>[];
  return first!;
}

describe('pull', () => {
  it('pulls by tag into a private store, prints the id, and lists the image', async () => {
    const result = await ok(['pull', '--tls-verify=false', `${registry.host}/busybox:1.0`]);
    expect(result.stdout).toBe(`${ids.busybox}\n`);
    expect(result.stderr).toContain(`Trying to pull ${registry.host}/busybox:1.0...`);
    expect(result.stderr).toMatch(/Copying blob sha256:[0-9a-f]{64} done/);
    expect(statSync(storeDir()).mode & 0o777).toBe(0o700);

    const table = (await ok(['images'])).stdout.split('\n');
    expect(table[0]).toMatch(/^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
    expect(table[1]).toMatch(new RegExp(`^${registry.host}/busybox\\s+1\\.0\\s+${ids.busybox.slice(0, 12)}\\s+\\S.* ago\\s+[0-9.]+ [kM]B$`));

    const image = await inspect(`${registry.host}/busybox:1.0`);
    expect(image.Id).toBe(ids.busybox);
    expect(image.RootFS.Layers).toHaveLength(2);
    expect(image.Config.Env).toContain('GREETING=hi');
  });

  it('pulls by digest, reusing the layers already in the store', async () => {
    const ref = `${registry.host}/busybox@${busyboxManifest.digest}`;
    const result = await ok(['pull', '--tls-verify=false', ref]);
    expect(result.stdout).toBe(`${ids.busybox}\n`);
    expect(result.stderr).toMatch(/Copying blob sha256:[0-9a-f]{64} skipped: already exists/);
    expect(result.stderr).not.toMatch(/Copying blob .* done/);
    const listed = (await imagesJson()).find((i) => i.Id === ids.busybox)!;
    expect(listed.RepoDigests).toContain(ref);
    expect((await inspect(ref)).Id).toBe(ids.busybox);
  });

  it('prints only the id with -q', async () => {
    const result = await ok(['pull', '-q', '--tls-verify=false', `${registry.host}/busybox:1.0`]);
    expect(result.stdout).toBe(`${ids.busybox}\n`);
    expect(result.stderr).toBe('');
  });

  it('shows a live display on a terminal, and plain lines otherwise', async () => {
    const ref = `${registry.host}/multi:latest`;
    const plain = await ok(['pull', '--tls-verify=false', ref]);
    expect(plain.stderr).not.toContain('\x1b[');
    expect(plain.stderr).toMatch(/^Copying blob sha256:[0-9a-f]{64} (done|skipped: already exists)$/m);
    await ok(['rmi', '-f', ref]);
    // script(1) gives nook a pseudo-terminal as its stderr.
    const shell = `${NOOK_BIN} pull --tls-verify=false ${ref}`;
    const tty = await promisify(execFile)('script', ['-qec', shell, '/dev/null'], { env });
    expect(tty.stdout).toContain('\x1b[');
    expect(tty.stdout).toMatch(/Copying blob [0-9a-f]{12} done/);
    expect(tty.stdout).toContain(ids.host);
  });

  it("picks the host's platform from an index, and another with --platform", async () => {
    const host = await ok(['pull', '-q', '--tls-verify=false', `${registry.host}/multi:latest`]);
    expect(host.stdout.trim()).toBe(ids.host);
    expect((await inspect(ids.host)).Architecture).toBe(HOST_ARCH);

    const other = await ok(['pull', '-q', '--tls-verify=false', '--platform', `linux/${OTHER_ARCH}`, `${registry.host}/multi:latest`]);
    expect(other.stdout.trim()).toBe(ids.other);
    expect((await inspect(ids.other)).Architecture).toBe(OTHER_ARCH);
    // The tag moved to the image pulled last; the first one stays, nameless.
    const listed = await imagesJson();
    expect(listed.find((i) => i.Id === ids.other)!.RepoTags).toEqual([`${registry.host}/multi:latest`]);
    expect(listed.find((i) => i.Id === ids.host)!.RepoTags).toEqual([]);

    const none = await fails(['pull', '--tls-verify=false', '--platform', 'linux/s390x', `${registry.host}/multi:latest`]);
    expect(none.stderr).toContain('has no image for linux/s390x');
    expect(none.stderr).toContain(`linux/${HOST_ARCH}`);
  });

  it('refuses a blob that does not match its digest, and leaves nothing in the store', async () => {
    const data = registry.blobDataPath(corruptLayer.digest);
    const bytes = readFileSync(data);
    bytes[bytes.length - 1]! ^= 0xff;
    writeFileSync(data, bytes);
    const before = blobs();

    const result = await fails(['pull', '--tls-verify=false', `${registry.host}/corrupt:latest`]);
    expect(result.stderr).toContain(`${corruptLayer.digest}`);
    expect(result.stderr).toContain('does not match its digest');
    expect(blobs()).toEqual(before);
    expect(readdirSync(join(storeDir(), 'blobs', 'sha256')).filter((n) => n.includes('.tmp-'))).toEqual([]);
    expect((await imagesJson()).map((i) => i.Id)).not.toContain(ids.corrupt);
  });

  it('stops at a layer download that breaks off, and leaves nothing in the store', async () => {
    // In front of the registry: the answer of the large layer (busybox's) stops halfway.
    const cut = createServer((req, res) => {
      const upstream = httpGet(`http://${registry.host}${req.url}`, { headers: req.headers }, (answer) => {
        const length = Number(answer.headers['content-length'] ?? 0);
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        if (!req.url?.includes('/blobs/') || length < 64 * 1024) return void answer.pipe(res);
        let sent = 0;
        answer.on('data', (chunk: Buffer) => {
          if (sent < length / 2) res.write(chunk);
          else res.destroy();
          sent += chunk.length;
        });
      });
      upstream.on('error', () => res.destroy());
    });
    await new Promise<void>((resolve) => cut.listen(0, '127.0.0.1', resolve));
    const fresh = isolatedEnv(join(tmp.path, 'home-cut'));
    try {
      const result = await fails(['pull', '--tls-verify=false', `127.0.0.1:${(cut.address() as AddressInfo).port}/busybox:1.0`], { env: fresh });
      expect(result.stderr).toMatch(/downloading blob sha256:[0-9a-f]{64} of .*busybox failed/);
    } finally {
      cut.closeAllConnections();
      await new Promise((resolve) => cut.close(resolve));
    }
    expect(blobs(fresh)).toEqual([]);
    // The small layer may have been stored before the large one broke off; nothing half-done stays.
    const layers = readdirSync(join(storeDir(fresh), 'layers'));
    expect(layers.filter((name) => name.includes('.tmp-'))).toEqual([]);
    for (const name of layers) expect(existsSync(join(storeDir(fresh), 'layers', name, 'layer.json'))).toBe(true);
    expect(layers.length).toBeLessThan(2);
  });

  it('says how to reach a plain-http registry, and rejects malformed references', async () => {
    const tls = await fails(['pull', `${registry.host}/busybox:1.0`]);
    expect(tls.stderr).toContain('--tls-verify=false');
    const bad = await fails(['pull', 'Bad/Name']);
    expect(bad.stderr).toMatch(/invalid image reference "Bad\/Name"/);
    expect(bad.stderr).toContain('hint:');
    const missing = await fails(['pull', '--tls-verify=false', `${registry.host}/nothing-here:latest`]);
    expect(missing.stderr).toContain('not found');
  });

  it('keeps the index whole when pulls run at the same time', async () => {
    const fresh = isolatedEnv(join(tmp.path, 'home-concurrent'));
    const refs = [`${registry.host}/busybox:1.0`, `${registry.host}/multi:latest`, `${registry.host}/busybox@${busyboxManifest.digest}`];
    const results = await Promise.all(refs.map((ref) => nook(['pull', '-q', '--tls-verify=false', ref], { env: fresh })));
    for (const r of results) expect(r.status, show(r)).toBe(0);
    const listed = await imagesJson(fresh);
    expect(listed.map((i) => i.Id).sort()).toEqual([ids.busybox, ids.host].sort());
    expect(listed.find((i) => i.Id === ids.busybox)!.RepoTags).toEqual([`${registry.host}/busybox:1.0`]);
  });
});

describe('tag and rmi', () => {
  it('adds names, untags by name, refuses an ambiguous id, and removes the image with its unshared blobs', async () => {
    const source = `${registry.host}/busybox:1.0`;
    await ok(['tag', source, 'mybox:v1', `${registry.host}/copy:2`]);
    const tags = (await imagesJson()).find((i) => i.Id === ids.busybox)!.RepoTags;
    expect(tags.sort()).toEqual([source, 'localhost/mybox:v1', `${registry.host}/copy:2`].sort());
    expect((await ok(['images'])).stdout).toMatch(/localhost\/mybox\s+v1\s+/);

    expect((await ok(['rmi', 'mybox:v1'])).stdout).toBe('Untagged: localhost/mybox:v1\n');
    const ambiguous = await fails(['rmi', ids.busybox.slice(0, 12)]);
    expect(ambiguous.stderr).toContain('several names');
    expect(ambiguous.stderr).toContain('rmi -f');

    const removed = await ok(['rmi', '-f', ids.busybox.slice(0, 12)]);
    expect(removed.stdout).toContain(`Deleted: ${ids.busybox}`);
    expect((await imagesJson()).map((i) => i.Id)).not.toContain(ids.busybox);
    // busybox's own config and top layer went; the busybox layer the multi images share stayed.
    expect(blobs()).not.toContain(ids.busybox);
    expect((await inspect(ids.host)).Id).toBe(ids.host);

    const unknown = await fails(['rmi', 'no-such-image']);
    expect(unknown.stderr).toContain('image not known');
  });

  it('leaves an empty store once every image is removed', async () => {
    const all = (await imagesJson()).map((i) => i.Id);
    await ok(['rmi', '-f', ...all]);
    expect(await imagesJson()).toEqual([]);
    expect(blobs()).toEqual([]);
    expect(readdirSync(join(storeDir(), 'images'))).toEqual(['index.json']);
  });
});

describe('registry authentication', () => {
  const ref = () => `${authRegistry.host}/private:latest`;
  const authFile = () => join(env.XDG_RUNTIME_DIR!, 'containers', 'auth.json');

  it('fails clearly without a login', async () => {
    const result = await fails(['pull', '--tls-verify=false', ref()]);
    expect(result.stderr).toContain(`${authRegistry.host} requires authentication`);
    expect(result.stderr).toContain(`nook login ${authRegistry.host}`);
  });

  it('refuses a wrong password and saves nothing', async () => {
    const result = await fails(['login', '--tls-verify=false', '-u', LOGIN.username, '--password-stdin', authRegistry.host], { input: 'wrong\n' });
    expect(result.stderr).toContain('invalid username or password');
    expect(existsSync(authFile())).toBe(false);
  });

  it("logs in, pulls, and logs out, keeping the login in podman's auth file", async () => {
    const login = await ok(['login', '--tls-verify=false', '-u', LOGIN.username, '--password-stdin', authRegistry.host], { input: `${LOGIN.password}\n` });
    expect(login.stdout).toBe('Login Succeeded!\n');
    expect(statSync(authFile()).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(readFileSync(authFile(), 'utf8')) as { auths: Record<string, { auth: string }> };
    expect(Buffer.from(saved.auths[authRegistry.host]!.auth, 'base64').toString()).toBe(`${LOGIN.username}:${LOGIN.password}`);

    expect((await ok(['pull', '-q', '--tls-verify=false', ref()])).stdout.trim()).toBe(ids.private);

    expect((await ok(['logout', authRegistry.host])).stdout).toContain(authRegistry.host);
    await fails(['pull', '--tls-verify=false', ref()]);
    expect((await fails(['logout', authRegistry.host])).stderr).toContain('not logged in');
  });

  it("uses credentials from docker's config.json", async () => {
    const home = join(tmp.path, 'home-docker');
    const dockerEnv = isolatedEnv(home);
    mkdirSync(join(home, '.docker'), { recursive: true });
    const auth = Buffer.from(`${LOGIN.username}:${LOGIN.password}`).toString('base64');
    writeFileSync(join(home, '.docker', 'config.json'), JSON.stringify({ auths: { [`http://${authRegistry.host}`]: { auth } } }));
    expect((await ok(['pull', '-q', '--tls-verify=false', ref()], { env: dockerEnv })).stdout.trim()).toBe(ids.private);
  });
});

describe('registry bearer tokens', () => {
  let bearerEnv: NodeJS.ProcessEnv;
  beforeAll(() => {
    bearerEnv = isolatedEnv(join(tmp.path, 'home-bearer'));
  });
  const login = (password: string) =>
    nook(['login', '--tls-verify=false', '-u', LOGIN.username, '--password-stdin', tokenRegistry.host], { env: bearerEnv, input: `${password}\n` });

  it('pulls a public repository with an anonymous token', async () => {
    const result = await ok(['pull', '-q', '--tls-verify=false', `${tokenRegistry.host}/public/busybox:latest`], { env: bearerEnv });
    expect(result.stdout.trim()).toBe(ids.busybox);
  });

  it('needs a login for a private repository', async () => {
    const result = await fails(['pull', '--tls-verify=false', `${tokenRegistry.host}/private/app:latest`], { env: bearerEnv });
    expect(result.stderr).toContain(`${tokenRegistry.host} requires authentication`);
  });

  it('refuses a wrong password at the token server, then pulls with the right one', async () => {
    const wrong = await login('wrong');
    expect(wrong.status, show(wrong)).toBe(125);
    expect(wrong.stderr).toContain('invalid username or password');
    const right = await login(LOGIN.password);
    expect(right.status, show(right)).toBe(0);
    const result = await ok(['pull', '-q', '--tls-verify=false', `${tokenRegistry.host}/private/app:latest`], { env: bearerEnv });
    expect(result.stdout.trim()).toBe(ids.private);
  });
});
