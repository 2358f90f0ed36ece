import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostPlatform } from '../../src/image/platform.js';
import { nook, show, waitFor, type NookResult, busyboxWorkspace } from '../helpers/nook.js';
import { OciLayout } from '../helpers/oci-image.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { makeBusyboxRootfs } from '../helpers/rootfs.js';
import { tarball } from '../helpers/tarball.js';

let tmp: { path: string; cleanup: () => void };
let env: NodeJS.ProcessEnv;
let rootfs: string;
let registry: TestRegistry;
let image: string;
let linkImage: string;
let linkTarget: string;

const volumesDir = (): string => join(env.XDG_DATA_HOME!, 'nook', 'volumes');
const volumeData = (name: string): string => join(volumesDir(), name, '_data');

/** An image whose config declares VOLUME /cache (absent) and /seeded (with content), pulled into the store. */
beforeAll(async () => {
  ({ tmp, env, rootfs } = busyboxWorkspace('volumes'));
  registry = await startRegistry(join(tmp.path, 'registry'));
  const layout = new OciLayout(join(tmp.path, 'layout'));
  const platform = { os: 'linux', architecture: hostPlatform().architecture };
  const seeded = layout.tarLayer(
    tarball(
      [
        { type: 'dir', path: 'seeded/', uid: 42, gid: 42, mode: 0o750 },
        { type: 'file', path: 'seeded/hello', body: 'from the image\n', uid: 42, gid: 42 },
      ],
      { gzip: false },
    ),
  );
  const withVolume = layout.image([rootfs, seeded], platform, { Env: ['PATH=/bin'], Volumes: { '/cache': {}, '/seeded': {} }, Cmd: ['sh'] });
  layout.ref('vol', withVolume.manifest);
  await layout.push('vol', `${registry.host}/vol:1`);
  image = `${registry.host}/vol:1`;
  // An image whose /data is a link to a host path: a volume there must land inside the container.
  linkTarget = join(tmp.path, 'image-link-target');
  mkdirSync(linkTarget);
  const link = layout.tarLayer(
    tarball(
      [
        { type: 'symlink', path: 'data', target: linkTarget },
        { type: 'dir', path: 'real/' },
        { type: 'file', path: 'real/hello', body: 'behind a link\n' },
        { type: 'symlink', path: 'via-link', target: '/real' },
      ],
      { gzip: false },
    ),
  );
  layout.ref('link', layout.image([rootfs, link], platform, { Env: ['PATH=/bin'], Cmd: ['sh'] }).manifest);
  await layout.push('link', `${registry.host}/link:1`);
  linkImage = `${registry.host}/link:1`;
  for (const ref of [image, linkImage]) {
    const pulled = await nook(['pull', '-q', '--tls-verify=false', ref], { env });
    expect(pulled.status, show(pulled)).toBe(0);
  }
}, 120_000);

afterAll(async () => {
  await registry?.stop();
  await nook(['unshare', 'rm', '-rf', tmp.path], { env });
  tmp.cleanup();
});

function run(args: readonly string[], script: string, root = rootfs): Promise<NookResult> {
  return nook(['run', '--rm', '--rootfs', root, ...args, '--', 'sh', '-c', script], { env });
}

async function runOk(args: readonly string[], script: string, root = rootfs): Promise<string> {
  const result = await run(args, script, root);
  expect(result.status, show(result)).toBe(0);
  return result.stdout;
}

async function volumeNames(): Promise<string[]> {
  const result = await nook(['volume', 'ls', '-q'], { env });
  expect(result.status, show(result)).toBe(0);
  return result.stdout.split('\n').filter(Boolean);
}

/** The mountinfo line of the mount at `path` inside the container. */
function mountLine(mountinfo: string, path: string): string {
  return mountinfo.split('\n').find((line) => line.split(' ')[4] === path) ?? '';
}

function hostDir(name: string): string {
  const dir = join(tmp.path, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

describe('bind mounts (-v HOST:CTR)', () => {
  it('is writable, and what container root writes belongs to the user on the host', async () => {
    const host = hostDir('bind-rw');
    await runOk(['-v', `${host}:/data/deep/dir`], 'echo hello > /data/deep/dir/file');
    expect(readFileSync(join(host, 'file'), 'utf8')).toBe('hello\n');
    expect(statSync(join(host, 'file')).uid).toBe(process.getuid!());
  });

  it('is read-only with :ro', async () => {
    const host = hostDir('bind-ro');
    const result = await run(['-v', `${host}:/data:ro`], 'echo x > /data/file');
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('Read-only file system');
    expect(existsSync(join(host, 'file'))).toBe(false);
  });

  it('binds a file onto a file it creates', async () => {
    const file = join(hostDir('bind-file'), 'app.conf');
    writeFileSync(file, 'setting=1\n');
    expect(await runOk(['-v', `${file}:/etc/app/app.conf:ro`], 'cat /etc/app/app.conf; test -f /etc/app/app.conf && echo file')).toBe('setting=1\nfile\n');
  });

  it('refuses a source that does not exist, with exit 125, creating nothing', async () => {
    const missing = join(tmp.path, 'no-such-dir');
    const containers = join(env.XDG_DATA_HOME!, 'nook', 'containers');
    const before = existsSync(containers) ? readdirSync(containers) : [];
    const result = await run(['-v', `${missing}:/not-created`], 'true');
    expect(result.status, show(result)).toBe(125);
    expect(result.stderr).toContain(`statfs ${missing}: no such file or directory`);
    expect(result.stderr).toMatch(/^Error: .+ \(hint: .+\)\n$/);
    expect(existsSync(containers) ? readdirSync(containers) : []).toEqual(before);
    expect(existsSync(missing)).toBe(false);
    expect(existsSync(join(rootfs, 'not-created'))).toBe(false);
  });

  it('mounts /a before /a/b whatever the order on the command line', async () => {
    const outer = hostDir('nested-outer');
    const inner = hostDir('nested-inner');
    await runOk(['-v', `${inner}:/nest/b`, '-v', `${outer}:/nest`], 'echo in > /nest/b/f; echo out > /nest/g');
    expect(readFileSync(join(inner, 'f'), 'utf8')).toBe('in\n');
    expect(readFileSync(join(outer, 'g'), 'utf8')).toBe('out\n');
  });

  it('stays writable under --read-only', async () => {
    const host = hostDir('bind-under-ro');
    const out = await runOk(['--read-only', '-v', `${host}:/data`], 'echo x > /data/f && echo written; touch /rootfile 2>/dev/null || echo root-ro');
    expect(out).toBe('written\nroot-ro\n');
  });
});

describe('named volumes', () => {
  it('are created on first use and keep their data across runs', async () => {
    await runOk(['-v', 'keep:/data'], 'echo kept > /data/file');
    expect(await runOk(['-v', 'keep:/other'], 'cat /other/file')).toBe('kept\n');
    expect(statSync(join(volumesDir(), 'keep')).mode & 0o777).toBe(0o700);
    expect(statSync(volumeData('keep')).mode & 0o777).toBe(0o755);
    expect(statSync(join(volumeData('keep'), 'file')).uid).toBe(process.getuid!());
  });

  it('resolves a target through a symlink inside the rootfs, never onto the host', async () => {
    const root = makeBusyboxRootfs(join(tmp.path, 'symlink-rootfs'));
    const outside = hostDir('must-stay-empty');
    symlinkSync(outside, join(root, 'data'));
    await runOk(['-v', 'through-link:/data/sub'], 'echo inside > /data/sub/file', root);
    expect(readdirSync(outside)).toEqual([]);
    expect(readFileSync(join(volumeData('through-link'), 'file'), 'utf8')).toBe('inside\n');
    // The link's target was made inside the rootfs.
    expect(existsSync(join(root, outside, 'sub'))).toBe(true);
  });

  it("resolves a target through a symlink in an image's layers, never onto the host", async () => {
    const result = await nook(['run', '--rm', '-v', 'through-image-link:/data/sub', linkImage, 'sh', '-c', 'echo inside > /data/sub/file; readlink /data'], { env });
    expect(result.status, show(result)).toBe(0);
    expect(result.stdout).toBe(`${linkTarget}\n`);
    expect(readdirSync(linkTarget)).toEqual([]);
    expect(readFileSync(join(volumeData('through-image-link'), 'file'), 'utf8')).toBe('inside\n');
  });

  it("mounts a tmpfs where the image's links lead, inside the container", async () => {
    const result = await nook(['run', '--rm', '--tmpfs', '/data/scratch', linkImage, 'sh', '-c', `echo x > /data/scratch/f && grep -c " ${linkTarget}/scratch tmpfs " /proc/mounts`], { env });
    expect(result.status, show(result)).toBe(0);
    expect(result.stdout).toBe('1\n');
    expect(readdirSync(linkTarget)).toEqual([]);
  });

  it("fills a new volume from the image's content behind a link at its mount point", async () => {
    const result = await nook(['run', '--rm', '-v', 'behind-link:/via-link', linkImage, 'cat', '/via-link/hello'], { env });
    expect(result.status, show(result)).toBe(0);
    expect(result.stdout).toBe('behind a link\n');
    expect(readFileSync(join(volumeData('behind-link'), 'hello'), 'utf8')).toBe('behind a link\n');
  });

  it('are listed, inspected, created and removed', async () => {
    const created = await nook(['volume', 'create', 'made'], { env });
    expect(created.status, show(created)).toBe(0);
    expect(created.stdout).toBe('made\n');
    const again = await nook(['volume', 'create', 'made'], { env });
    expect(again.status).toBe(125);
    expect(again.stderr).toContain('already exists');
    const random = await nook(['volume', 'create'], { env });
    expect(random.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    expect(await volumeNames()).toEqual(expect.arrayContaining(['made', random.stdout.trim()]));

    const inspect = await nook(['volume', 'inspect', 'made'], { env });
    expect(inspect.status, show(inspect)).toBe(0);
    const [info] = JSON.parse(inspect.stdout) as Record<string, unknown>[];
    expect(info).toMatchObject({ Name: 'made', Driver: 'local', Mountpoint: volumeData('made'), Labels: {}, Scope: 'local', Options: {} });
    expect(info!.CreatedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$/);
    const json = await nook(['volume', 'ls', '--format', 'json'], { env });
    expect((JSON.parse(json.stdout) as { Name: string }[]).map((v) => v.Name)).toContain('made');

    await runOk(['-v', 'made:/m', '-u', '1000'], 'true');
    await runOk(['-v', 'made:/m'], 'mkdir /m/d && touch /m/d/f && chown -R 1000:1000 /m/d');
    const removed = await nook(['volume', 'rm', 'made', random.stdout.trim()], { env });
    expect(removed.status, show(removed)).toBe(0);
    expect(await volumeNames()).not.toContain('made');
    expect(existsSync(join(volumesDir(), 'made'))).toBe(false);

    const missing = await nook(['volume', 'rm', 'made'], { env });
    expect(missing.status).toBe(125);
    expect(missing.stderr).toContain('no volume with name "made" found');
    expect((await nook(['volume', 'rm', '-f', 'made'], { env })).status).toBe(0);
    expect((await nook(['volume', 'inspect', 'made'], { env })).status).toBe(125);
  });

  it('are kept from rm and prune while a running container uses them', async () => {
    let child: import('node:child_process').ChildProcess | undefined;
    const running = nook(['run', '--rm', '--rootfs', rootfs, '-v', 'busy:/b', '--', 'sh', '-c', 'touch /b/started; sleep 30'], {
      env,
      onSpawn: (c) => (child = c),
    });
    await waitFor(() => existsSync(join(volumeData('busy'), 'started')), 'the container to start');
    await nook(['volume', 'create', 'idle'], { env });
    const rm = await nook(['volume', 'rm', 'busy'], { env });
    expect(rm.status).toBe(125);
    expect(rm.stderr).toContain('volume busy is being used by container');
    const prune = await nook(['volume', 'prune', '-f'], { env });
    expect(prune.status, show(prune)).toBe(0);
    expect(prune.stdout.split('\n')).toContain('idle');
    expect(prune.stdout.split('\n')).not.toContain('busy');
    expect(await volumeNames()).toEqual(['busy']);
    child!.kill('SIGKILL');
    await running;
  });
});

describe('--tmpfs and --mount', () => {
  it('mounts a tmpfs with its options', async () => {
    const info = await runOk(['--tmpfs', '/scratch:size=1m,mode=700'], 'echo x > /scratch/f && cat /proc/self/mountinfo');
    const line = mountLine(info, '/scratch');
    expect(line).toMatch(/ - tmpfs /);
    expect(line).toContain('nosuid,nodev,noexec');
    expect(line).toContain('size=1024k');
    expect(line).toContain('mode=700');
  });

  it('takes the bind, volume and tmpfs forms', async () => {
    const host = hostDir('mount-bind');
    const info = await runOk(
      ['--mount', `type=bind,src=${host},dst=/b,ro`, '--mount', 'type=volume,src=by-mount,target=/v', '--mount', 'type=tmpfs,destination=/t,tmpfs-size=2m,tmpfs-mode=1777'],
      'echo v > /v/f; touch /b/f 2>/dev/null || echo b-ro; cat /proc/self/mountinfo',
    );
    expect(info.startsWith('b-ro\n')).toBe(true);
    expect(mountLine(info, '/t')).toContain('size=2048k');
    expect(readFileSync(join(volumeData('by-mount'), 'f'), 'utf8')).toBe('v\n');
  });

  it('shows the volumes in --explain, creating nothing', async () => {
    const host = hostDir('explained');
    const result = await nook(['run', '--rootfs', rootfs, '--explain', '-v', `${host}:/e:ro`, '-v', 'not-made:/n', '--tmpfs', '/t', '--', 'true'], { env });
    expect(result.status, show(result)).toBe(0);
    expect(result.stdout).toContain(`mkdir -p ${rootfs}/e && mount --rbind ${host} ${rootfs}/e && mount -o remount,bind,ro ${rootfs}/e`);
    expect(result.stdout).toContain(`mount --rbind ${volumeData('not-made')} ${rootfs}/n`);
    expect(result.stdout).toContain(`mount -t tmpfs -o nosuid,nodev,noexec tmpfs ${rootfs}/t`);
    expect(existsSync(join(volumesDir(), 'not-made'))).toBe(false);
  });
});

describe("an image's VOLUME", () => {
  it('gets an anonymous volume, removed with --rm, kept without', async () => {
    const before = await volumeNames();
    const withRm = await nook(['run', '--rm', image, 'sh', '-c', 'echo x > /cache/f; cat /proc/self/mountinfo'], { env });
    expect(withRm.status, show(withRm)).toBe(0);
    expect(mountLine(withRm.stdout, '/cache')).toMatch(/\/volumes\/[0-9a-f]{64}\/_data \/cache /);
    expect(await volumeNames()).toEqual(before);

    const kept = await nook(['run', image, 'sh', '-c', 'echo x > /cache/f'], { env });
    expect(kept.status, show(kept)).toBe(0);
    // One anonymous volume per VOLUME path: /cache and /seeded.
    const added = (await volumeNames()).filter((n) => !before.includes(n));
    expect(added).toHaveLength(2);
    const cache = added.find((n) => existsSync(join(volumeData(n), 'f')))!;
    expect(readFileSync(join(volumeData(cache), 'f'), 'utf8')).toBe('x\n');
    const inspect = JSON.parse((await nook(['volume', 'inspect', cache], { env })).stdout) as { Anonymous?: boolean }[];
    expect(inspect[0]!.Anonymous).toBe(true);
  });

  it("starts with the image's content at its mount point, owners and mode included", async () => {
    const fresh = await nook(['run', '--rm', image, 'sh', '-c', 'cat /seeded/hello; stat -c "%u:%g %a" /seeded /seeded/hello'], { env });
    expect(fresh.status, show(fresh)).toBe(0);
    expect(fresh.stdout).toBe('from the image\n42:42 750\n42:42 644\n');
    // A named volume is filled once, when it is made; later runs see what was written.
    const first = await nook(['run', '--rm', '-v', 'seeded-vol:/seeded', image, 'sh', '-c', 'cat /seeded/hello; echo changed > /seeded/hello'], { env });
    expect(first.stdout, show(first)).toBe('from the image\n');
    const second = await nook(['run', '--rm', '-v', 'seeded-vol:/seeded', image, 'cat', '/seeded/hello'], { env });
    expect(second.stdout, show(second)).toBe('changed\n');
  });

  it('is left to what the user mounts there', async () => {
    const before = await volumeNames();
    await nook(['run', '--rm', '-v', 'for-cache:/cache', image, 'sh', '-c', 'echo mine > /cache/f'], { env });
    expect(readFileSync(join(volumeData('for-cache'), 'f'), 'utf8')).toBe('mine\n');
    expect((await volumeNames()).filter((n) => !before.includes(n))).toEqual(['for-cache']);
  });
});
