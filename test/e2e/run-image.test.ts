import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostPlatform } from '../../src/image/platform.js';
import type { ChildProcess } from 'node:child_process';
import { isolatedEnv, nook, show, waitFor, type NookResult } from '../helpers/nook.js';
import { OciLayout } from '../helpers/oci-image.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { makeBusyboxRootfs, tempDir } from '../helpers/rootfs.js';
import { tarball } from '../helpers/tarball.js';

let tmp: { path: string; cleanup: () => void };
let env: NodeJS.ProcessEnv;
let registry: TestRegistry;
let image: string;
let bare: string;

const STORE = (): string => join(env.XDG_DATA_HOME!, 'nook');

/**
 * An image of three layers: busybox; files with their own owners, a directory and a file
 * the next layer deletes; and that layer, with a whiteout and an opaque directory.
 */
beforeAll(async () => {
  tmp = tempDir('run-image');
  env = isolatedEnv(join(tmp.path, 'home'));
  registry = await startRegistry(join(tmp.path, 'registry'));
  const layout = new OciLayout(join(tmp.path, 'layout'));
  const rootfs = makeBusyboxRootfs(join(tmp.path, 'rootfs'));
  const middle = layout.tarLayer(
    tarball(
      [
        { type: 'dir', path: 'work/', uid: 1000, gid: 1000 },
        { type: 'dir', path: 'data/' },
        { type: 'file', path: 'data/owned', body: 'original\n', uid: 42, gid: 43 },
        { type: 'dir', path: 'lower-dir/' },
        { type: 'file', path: 'lower-dir/a', body: 'a' },
        { type: 'file', path: 'lower-dir/b', body: 'b' },
        { type: 'file', path: 'etc/removed-later', body: 'x' },
      ],
      { gzip: false },
    ),
  );
  const top = layout.tarLayer(
    tarball(
      [
        { type: 'file', path: 'etc/.wh.removed-later' },
        { type: 'dir', path: 'lower-dir/' },
        { type: 'file', path: 'lower-dir/.wh..wh..opq' },
        { type: 'file', path: 'lower-dir/c', body: 'c' },
      ],
      { gzip: false },
    ),
  );
  const platform = { os: 'linux', architecture: hostPlatform().architecture };
  const app = layout.image([rootfs, middle, top], platform, {
    Env: ['PATH=/bin', 'GREETING=hello'],
    WorkingDir: '/work',
    User: 'app',
    Cmd: ['sh', '-c', 'echo default command'],
  });
  layout.ref('app', app.manifest);
  const noCmd = layout.image([rootfs], platform, { Cmd: null });
  layout.ref('bare', noCmd.manifest);
  await Promise.all([layout.push('app', `${registry.host}/app:1`), layout.push('bare', `${registry.host}/bare:1`)]);
  image = `${registry.host}/app:1`;
  bare = `${registry.host}/bare:1`;
  for (const ref of [image, bare]) {
    const pulled = await nook(['pull', '-q', '--tls-verify=false', ref], { env });
    expect(pulled.status, show(pulled)).toBe(0);
  }
}, 120_000);

afterAll(async () => {
  await registry?.stop();
  await nook(['unshare', 'rm', '-rf', tmp.path], { env });
  tmp.cleanup();
});

async function run(args: readonly string[]): Promise<NookResult> {
  return nook(['run', '--rm', ...args], { env });
}

async function runOk(args: readonly string[]): Promise<string> {
  const result = await run(args);
  expect(result.status, show(result)).toBe(0);
  return result.stdout;
}

describe('nook run IMAGE', () => {
  it("runs the image's Cmd as its User, in its WorkingDir, with its Env", async () => {
    expect(await runOk([image])).toBe('default command\n');
    expect(await runOk([image, 'sh', '-c', 'id -u; pwd; echo $GREETING $PATH'])).toBe('1000\n/work\nhello /bin\n');
  });

  it('lets -u, -w, -e and --entrypoint override the image', async () => {
    expect(await runOk(['-u', '0', '-w', '/', '-e', 'GREETING=bye', image, 'sh', '-c', 'id -u; pwd; echo $GREETING'])).toBe('0\n/\nbye\n');
    expect(await runOk(['--entrypoint', 'echo', image, 'from', 'entrypoint'])).toBe('from entrypoint\n');
    expect(await runOk(['--entrypoint', '["sh","-c","echo $0"]', image, 'json'])).toBe('json\n');
  });

  it("keeps the image's file owners", async () => {
    expect(await runOk([image, 'stat', '-c', '%u:%g', '/data/owned', '/work'])).toBe('42:43\n1000:1000\n');
  });

  it('hides what upper layers delete: whiteouts and opaque directories', async () => {
    expect(await runOk([image, 'sh', '-c', 'ls /lower-dir; test -e /etc/removed-later && echo present || echo gone'])).toBe('c\ngone\n');
  });

  it('writes into the container, never into the shared layers', async () => {
    expect(await runOk(['-u', '0', image, 'sh', '-c', 'echo changed > /data/owned; rm /lower-dir/c; cat /data/owned'])).toBe('changed\n');
    expect(await runOk([image, 'sh', '-c', 'cat /data/owned; ls /lower-dir'])).toBe('original\nc\n');
  });

  it('shares one copy of the layers between containers running at once', async () => {
    const layersBefore = readdirSync(join(STORE(), 'layers')).sort();
    // Each container holds its overlay until the test closes its stdin.
    const script = 'grep " / / " /proc/self/mountinfo; echo up; read line || true';
    const children: ChildProcess[] = [];
    const outputs: (() => string)[] = [];
    const runs = [0, 1].map((i) =>
      nook(['run', '--rm', '-i', image, 'sh', '-c', script], {
        env,
        keepStdinOpen: true,
        onSpawn: (child, stdout) => {
          children[i] = child;
          outputs[i] = stdout;
        },
      }),
    );
    try {
      await waitFor(() => outputs.length === 2 && outputs.every((out) => out().includes('up')), 'both containers to be up');
      expect(readdirSync(join(STORE(), 'layers')).sort()).toEqual(layersBefore);
      expect(layersBefore.filter((n) => !n.includes('.tmp-'))).toHaveLength(3);
      expect(readdirSync(join(STORE(), 'containers'))).toHaveLength(2);
      const lowerDirs = outputs.map((out) => [...out().matchAll(/lowerdir\+?=([^,\s]+)/g)].map((m) => m[1]));
      expect(lowerDirs[0]).toHaveLength(3);
      expect(lowerDirs[1]).toEqual(lowerDirs[0]);
      for (const dir of lowerDirs[0]!) expect(dir).toMatch(new RegExp(`^${join(STORE(), 'layers')}/[0-9a-f]{64}/diff$`));
      for (const out of outputs) expect(out(), out()).toMatch(/ - overlay overlay /);
    } finally {
      for (const child of children) child.stdin!.end();
    }
    for (const result of await Promise.all(runs)) expect(result.status, show(result)).toBe(0);
  });

  it('needs a command when the image has neither Entrypoint nor Cmd', async () => {
    const result = await run([bare]);
    expect(result.status, show(result)).toBe(125);
    expect(result.stderr).toMatch(/no ENTRYPOINT or CMD/);
  });

  it('pulls a missing image first, as podman does, unless --pull never', async () => {
    const fresh = { ...env, XDG_DATA_HOME: join(tmp.path, 'fresh-store') };
    const pulled = await nook(['run', '--rm', '--tls-verify=false', image, 'cat', '/data/owned'], { env: fresh });
    expect(pulled.status, show(pulled)).toBe(0);
    expect(pulled.stdout).toBe('original\n');
    expect(pulled.stderr).toMatch(/Trying to pull 127\.0\.0\.1:[0-9]+\/app:1/);
    const again = await nook(['run', '--rm', '--pull', 'never', image, 'true'], { env: fresh });
    expect(again.status, show(again)).toBe(0);
    expect(again.stderr).not.toMatch(/Trying to pull/);
    await nook(['unshare', 'rm', '-rf', join(tmp.path, 'fresh-store')], { env });
  });

  it('names an image that is not in the store', async () => {
    const result = await run(['--pull', 'never', 'no-such-image:1', 'true']);
    expect(result.status, show(result)).toBe(125);
    expect(result.stderr).toMatch(/no-such-image:1: image not known/);
    expect(readdirSync(join(STORE(), 'containers'))).toEqual([]);
  });

  it('runs the same image with the vfs driver: a private copy of the layers', async () => {
    const vfs = (args: readonly string[]): Promise<string> => nook(['--storage-driver', 'vfs', 'run', '--rm', ...args], { env }).then((result) => {
      expect(result.status, show(result)).toBe(0);
      return result.stdout;
    });
    expect(await vfs([image])).toBe('default command\n');
    expect(await vfs([image, 'sh', '-c', 'id -u; pwd; stat -c %u:%g /data/owned; ls /lower-dir; test -e /etc/removed-later || echo gone'])).toBe('1000\n/work\n42:43\nc\ngone\n');
    const root = await vfs([image, 'awk', '$5 == "/"', '/proc/self/mountinfo']);
    expect(root).toMatch(/\/containers\/[0-9a-f]{64}\/rootfs \/ /);
    expect(root).not.toMatch(/overlay/);
    expect(await vfs(['-u', '0', image, 'sh', '-c', 'echo changed > /data/owned; cat /data/owned'])).toBe('changed\n');
    expect(await vfs([image, 'cat', '/data/owned'])).toBe('original\n');
    expect(readdirSync(join(STORE(), 'containers'))).toEqual([]);
  });

  it('explains an image run without creating anything', async () => {
    const result = await nook(['run', '--explain', image, 'true'], { env });
    expect(result.status, show(result)).toBe(0);
    expect(result.stdout).toMatch(/mount -t overlay -o lowerdir=.*\/layers\/[0-9a-f]{64}\/diff:.*,userxattr overlay /);
    expect(readFileSync(join(STORE(), 'images', 'index.json'), 'utf8')).toContain('app:1');
    expect(readdirSync(join(STORE(), 'containers'))).toEqual([]);
  });

  it('keeps an image a container runs, and removes layers with their last image', async () => {
    let child: ChildProcess | undefined;
    let out = (): string => '';
    const running = nook(['run', '--rm', '-i', image, 'sh', '-c', 'echo up; read line || true'], {
      env,
      keepStdinOpen: true,
      onSpawn: (c, stdout) => {
        child = c;
        out = stdout;
      },
    });
    try {
      await waitFor(() => out().includes('up'), 'the container to start');
      const refused = await nook(['rmi', image], { env });
      expect(refused.status, show(refused)).toBe(125);
      expect(refused.stderr).toMatch(/in use by container/);
    } finally {
      child?.stdin?.end();
    }
    expect((await running).status).toBe(0);

    const layers = (): string[] => readdirSync(join(STORE(), 'layers')).filter((n) => !n.includes('.tmp-'));
    expect(layers()).toHaveLength(3);
    const removeBare = await nook(['rmi', bare], { env });
    expect(removeBare.status, show(removeBare)).toBe(0);
    // The busybox layer is also the app image's bottom layer: it stays.
    expect(layers()).toHaveLength(3);
    const removeApp = await nook(['rmi', image], { env });
    expect(removeApp.status, show(removeApp)).toBe(0);
    expect(layers()).toEqual([]);
  });
});
