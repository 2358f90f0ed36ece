import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, cpSync, lstatSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { list, type ReadEntry } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isolatedEnv, nook, NOOK_BIN, show, type NookResult } from '../helpers/nook.js';
import { OciLayout, type Layer } from '../helpers/oci-image.js';
import { privatePodman, type Podman } from '../helpers/podman.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { makeBusyboxRootfs, tempDir } from '../helpers/rootfs.js';
import { tarball } from '../helpers/tarball.js';
import { hostPlatform } from '../../src/image/platform.js';

/**
 * What an image holds is what the container sees: every mode bit of a layer (setuid,
 * setgid, sticky, group and other write), owners and directory times, whatever the umask
 * nook runs under, through every way an image or a file gets in (pull, import, load, the
 * vfs driver, cp) and out (export); the user's groups; a terminal that carries the
 * container's bytes and nothing else.
 */

let tmp: { path: string; cleanup: () => void };
let registry: TestRegistry;
let podman: Podman;
let imageRef: string;
let treeLayer: Layer;
/** The busybox tree with odd modes, as a tarball: what `import` reads. */
let treeTarball: string;
let ociArchive: string;
let dockerArchive: string;
/** nook for the cleanup: its unshare removes what belongs to container ids. */
let cleanupEnv: NodeJS.ProcessEnv;

/** Entries of a rootfs that carry every kind of mode bit; GNU tar packs it with owners 0, mtime 0. */
const TREE_ENTRIES: readonly { readonly path: string; readonly dir: boolean; readonly mode: number }[] = [
  { path: '/tmp', dir: true, mode: 0o1777 },
  { path: '/var/tmp', dir: true, mode: 0o1777 },
  { path: '/run/lock', dir: true, mode: 0o1777 },
  { path: '/var/local', dir: true, mode: 0o2775 },
  { path: '/srv/open', dir: true, mode: 0o777 },
  { path: '/srv/private', dir: true, mode: 0o700 },
  { path: '/srv/private/key', dir: false, mode: 0o600 },
  { path: '/srv/ro', dir: true, mode: 0o555 },
  { path: '/srv/ro/file', dir: false, mode: 0o644 },
  { path: '/srv/setuid', dir: false, mode: 0o4755 },
  { path: '/srv/setgid', dir: false, mode: 0o2755 },
  { path: '/srv/shared', dir: false, mode: 0o666 },
  { path: '/srv/all', dir: false, mode: 0o777 },
  { path: '/srv/own', dir: false, mode: 0o700 },
];
const TREE_MODES: Record<string, number> = Object.fromEntries(TREE_ENTRIES.map((e) => [e.path, e.mode]));
const CRAFTED_MTIME = 1_700_000_000;

/** `stat -c '%a %u %g %Y %n'` of a path, as the container must show it. */
type Attributes = readonly [mode: number, uid: number, gid: number, mtime: number];

/** Everything the tree layer gives, as the container shows it. */
const TREE: Record<string, Attributes> = Object.fromEntries(Object.entries(TREE_MODES).map(([path, mode]) => [path, [mode, 0, 0, 0] as const]));

/**
 * The image: the tree, then a layer written entry by entry (tarball.ts) whose setuid and
 * setgid entries belong to other ids, so the kernel's clearing of those bits at chown is
 * in play, and whose directories have children written after them.
 */
const IMAGE: Record<string, Attributes> = {
  ...TREE,
  '/srv': [0o755, 0, 0, CRAFTED_MTIME],
  '/var/mail': [0o2775, 0, 8, CRAFTED_MTIME],
  '/srv/team': [0o3770, 0, 2000, CRAFTED_MTIME],
  '/srv/team/notes': [0o664, 1000, 2000, CRAFTED_MTIME],
  '/srv/app-suid': [0o4750, 1000, 1000, CRAFTED_MTIME],
  '/srv/app-sgid': [0o2711, 0, 2000, CRAFTED_MTIME],
};

function craftedLayer(): Buffer {
  return tarball(
    [
      { type: 'dir', path: 'srv/', mode: 0o755 },
      { type: 'dir', path: 'var/', mode: 0o755 },
      { type: 'dir', path: 'var/mail/', mode: 0o2775, gid: 8 },
      { type: 'dir', path: 'srv/team/', mode: 0o3770, gid: 2000 },
      { type: 'file', path: 'srv/team/notes', body: 'team\n', mode: 0o664, uid: 1000, gid: 2000 },
      { type: 'file', path: 'srv/app-suid', body: '#!/bin/sh\n', mode: 0o4750, uid: 1000, gid: 1000 },
      { type: 'file', path: 'srv/app-sgid', body: '#!/bin/sh\n', mode: 0o2711, gid: 2000 },
    ],
    { gzip: false },
  );
}

function makeTree(dir: string): string {
  makeBusyboxRootfs(dir);
  for (const { path, dir: isDir } of TREE_ENTRIES) {
    if (isDir) mkdirSync(join(dir, path), { recursive: true });
    else writeFileSync(join(dir, path), `${path}\n`);
  }
  // Deepest first: a directory without write permission is filled before its mode is set.
  for (const { path, mode } of [...TREE_ENTRIES].reverse()) chmodSync(join(dir, path), mode);
  chmodSync(dir, 0o755);
  return dir;
}

const STAT = (paths: readonly string[]) => ['stat', '-c', '%a %u %g %Y %n', ...paths];

function statLines(expected: Record<string, Attributes>): string {
  return Object.entries(expected)
    .map(([path, [mode, uid, gid, mtime]]) => `${mode.toString(8)} ${uid} ${gid} ${mtime} ${path}\n`)
    .join('');
}

function freshEnv(name: string): NodeJS.ProcessEnv {
  return isolatedEnv(join(tmp.path, `home-${name}`));
}

async function ok(env: NodeJS.ProcessEnv, umask: string, args: readonly string[], input?: Buffer): Promise<NookResult> {
  const result = await nook(args, { env, umask, ...(input === undefined ? {} : { input }) });
  expect(result.status, `nook ${args.join(' ')}\n${show(result)}`).toBe(0);
  return result;
}

/** Modes on disk of the extracted tree layer. */
function layerModes(env: NodeJS.ProcessEnv, diffId: string): Record<string, number> {
  const diff = join(env.XDG_DATA_HOME!, 'nook', 'layers', diffId.replace('sha256:', ''), 'diff');
  return Object.fromEntries(Object.keys(TREE_MODES).map((path) => [path, lstatSync(join(diff, path)).mode & 0o7777]));
}

/** The container's view of `expected`'s paths, its root's mode, and a non-root write to /tmp. */
async function expectImageInContainer(env: NodeJS.ProcessEnv, umask: string, image: string, expected: Record<string, Attributes>, global: string[] = []): Promise<void> {
  expect((await ok(env, umask, [...global, 'run', '--rm', image, ...STAT(Object.keys(expected))])).stdout).toBe(statLines(expected));
  expect((await ok(env, umask, [...global, 'run', '--rm', image, 'stat', '-c', '%a', '/'])).stdout).toBe('755\n');
  const write = await ok(env, umask, [...global, 'run', '--rm', '-u', '1000', image, 'sh', '-c', 'touch /tmp/f && stat -c "%U %a" /tmp/f']);
  // The container's processes get podman's umask (022), not the caller's.
  expect(write.stdout).toBe('app 644\n');
}

beforeAll(async () => {
  tmp = tempDir('fidelity');
  cleanupEnv = isolatedEnv(join(tmp.path, 'home-cleanup'));
  registry = await startRegistry(join(tmp.path, 'registry'));
  podman = privatePodman(join(tmp.path, 'podman'));
  const tree = makeTree(join(tmp.path, 'tree'));
  const layout = new OciLayout(join(tmp.path, 'layout'));
  treeLayer = layout.layer(tree);
  const image = layout.image([treeLayer, layout.tarLayer(craftedLayer())], { os: 'linux', architecture: hostPlatform().architecture });
  layout.ref('modes', image.manifest);
  imageRef = `${registry.host}/modes:1`;
  await layout.push('modes', imageRef);

  treeTarball = join(tmp.path, 'tree.tar');
  execFileSync('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '-C', tree, '-cf', treeTarball, '.']);
  ociArchive = join(tmp.path, 'modes-oci.tar');
  dockerArchive = join(tmp.path, 'modes-docker.tar');
  const skopeo = (dest: string) => execFileSync('skopeo', ['--insecure-policy', 'copy', '--quiet', `oci:${layout.dir}:modes`, dest], { env: { PATH: process.env.PATH, HOME: tmp.path } });
  skopeo(`oci-archive:${ociArchive}:modes:1`);
  skopeo(`docker-archive:${dockerArchive}:modes:1`);
}, 120_000);

afterAll(async () => {
  await registry?.stop();
  await podman?.cleanup();
  // Extracted layers belong to container ids, and some test dirs lack write permission:
  // container root may remove all of it.
  await nook(['unshare', 'rm', '-rf', tmp.path], { env: cleanupEnv });
  tmp.cleanup();
});

describe('every mode bit of a layer reaches the disk and the container', () => {
  for (const umask of ['077', '022']) {
    it(`pulls under umask ${umask} with the archive's modes, owners and directory times (overlay and vfs)`, async () => {
      const env = freshEnv(`pull-${umask}`);
      await ok(env, umask, ['pull', '--tls-verify=false', imageRef]);
      expect(layerModes(env, treeLayer.diffId)).toEqual(TREE_MODES);
      await expectImageInContainer(env, umask, imageRef, IMAGE);
      await expectImageInContainer(env, umask, imageRef, IMAGE, ['--storage-driver', 'vfs']);
    });
  }

  it('imports a rootfs tarball with its modes', async () => {
    const env = freshEnv('import');
    const id = (await ok(env, '077', ['import', treeTarball, 'tree'])).stdout.trim();
    const [inspected] = JSON.parse((await ok(env, '077', ['image', 'inspect', id])).stdout) as { RootFS: { Layers: string[] } }[];
    expect(layerModes(env, inspected!.RootFS.Layers[0]!)).toEqual(TREE_MODES);
    await expectImageInContainer(env, '077', 'tree', TREE);
  });

  for (const format of ['oci-archive', 'docker-archive'] as const) {
    it(`loads a ${format} (written by skopeo) with its modes`, async () => {
      const env = freshEnv(`load-${format}`);
      await ok(env, '077', ['load', '-i', format === 'oci-archive' ? ociArchive : dockerArchive]);
      expect(layerModes(env, treeLayer.diffId)).toEqual(TREE_MODES);
      await expectImageInContainer(env, '077', 'modes:1', IMAGE);
    });
  }

  it('cp into a container keeps modes, from a directory and from a tar stream', async () => {
    const env = freshEnv('cp');
    await ok(env, '077', ['pull', '-q', '--tls-verify=false', imageRef]);
    const source = makeTree(join(tmp.path, 'cp-source'));
    const fromDir = Object.fromEntries(Object.entries(TREE_MODES).map(([path, mode]) => [`/from-dir${path}`, mode]));
    const fromTar: Record<string, number> = { '/from-tar/team': 0o3770, '/from-tar/team/notes': 0o664, '/from-tar/suid': 0o4750, '/from-tar/sgid': 0o2711, '/from-tar/mail': 0o2775 };
    const stream = tarball(
      [
        { type: 'dir', path: 'from-tar/', mode: 0o755 },
        { type: 'dir', path: 'from-tar/team/', mode: 0o3770, gid: 2000 },
        { type: 'file', path: 'from-tar/team/notes', mode: 0o664, uid: 1000 },
        { type: 'file', path: 'from-tar/suid', mode: 0o4750, uid: 1000 },
        { type: 'file', path: 'from-tar/sgid', mode: 0o2711, gid: 2000 },
        { type: 'dir', path: 'from-tar/mail/', mode: 0o2775, gid: 8 },
      ],
      { gzip: false },
    );
    const expected = { ...fromDir, ...fromTar };
    await ok(env, '077', ['create', '--name', 'target', imageRef, 'stat', '-c', '%a %n', ...Object.keys(expected)]);
    await ok(env, '077', ['cp', `${source}/.`, 'target:/from-dir']);
    await ok(env, '077', ['cp', '-', 'target:/'], stream);
    const seen = await ok(env, '077', ['start', '-a', 'target']);
    expect(seen.stdout).toBe(Object.entries(expected).map(([path, mode]) => `${mode.toString(8)} ${path}\n`).join(''));
  });
});

describe('export', () => {
  it('writes every mode bit of the container into the archive, and import brings it back', async () => {
    const env = freshEnv('export');
    await ok(env, '077', ['pull', '-q', '--tls-verify=false', imageRef]);
    await ok(env, '077', ['create', '--name', 'source', imageRef, 'true']);
    const archive = join(tmp.path, 'export.tar');
    await ok(env, '077', ['export', '-o', archive, 'source']);
    const inArchive: Record<string, Attributes> = {};
    await list({
      file: archive,
      onReadEntry: (entry: ReadEntry) => {
        const path = `/${entry.path.replace(/^\.?\//, '').replace(/\/$/, '')}`;
        if (path in IMAGE) inArchive[path] = [entry.mode! & 0o7777, entry.uid!, entry.gid!, entry.mtime!.getTime() / 1000];
      },
    });
    expect(inArchive).toEqual(IMAGE);
    await ok(env, '077', ['import', archive, 'roundtrip']);
    await expectImageInContainer(env, '077', 'roundtrip', IMAGE);
  });
});

describe('users and groups', () => {
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    env = freshEnv('groups');
    await ok(env, '022', ['pull', '-q', '--tls-verify=false', imageRef]);
  });

  const id = async (args: readonly string[]) => (await ok(env, '022', ['run', '--rm', ...args, imageRef, 'id'])).stdout;

  it("gives -u the user's groups from the image's /etc/group, and --group-add more", async () => {
    expect(await id(['-u', '1000'])).toBe('uid=1000(app) gid=1000(app) groups=1000(app),2000(extra)\n');
    expect(await id(['-u', 'app'])).toBe('uid=1000(app) gid=1000(app) groups=1000(app),2000(extra)\n');
    expect(await id(['-u', '1000:1000'])).toBe('uid=1000(app) gid=1000(app) groups=1000(app)\n');
    expect(await id(['-u', 'app:tty', '--group-add', 'extra'])).toBe('uid=1000(app) gid=5(tty) groups=5(tty),2000(extra)\n');
    expect(await id(['-u', '1000', '--group-add', '5', '--group-add', '4242'])).toBe('uid=1000(app) gid=1000(app) groups=5(tty),1000(app),2000(extra),4242\n');
    expect(await id([])).toBe('uid=0(root) gid=0(root)\n');
  });

  it('keeps the --group-add groups for exec -u', async () => {
    await ok(env, '022', ['run', '-d', '--name', 'grouped', '--group-add', 'tty', imageRef, 'sleep', '600']);
    try {
      expect((await ok(env, '022', ['exec', '-u', '1000', 'grouped', 'id'])).stdout).toBe('uid=1000(app) gid=1000(app) groups=5(tty),1000(app),2000(extra)\n');
      expect((await ok(env, '022', ['exec', 'grouped', 'id'])).stdout).toBe('uid=0(root) gid=0(root) groups=5(tty)\n');
      expect((await ok(env, '077', ['exec', 'grouped', 'sh', '-c', 'umask'])).stdout).toBe('0022\n');
    } finally {
      await nook(['rm', '-f', '-t', '0', 'grouped'], { env });
    }
  });

  it('refuses a --group-add group the image does not have', async () => {
    const result = await nook(['run', '--rm', '--group-add', 'nosuch', imageRef, 'id'], { env });
    expect(result.status, show(result)).toBe(125);
    expect(result.stderr).toMatch(/unable to find group nosuch/);
  });

  it('matches podman: ids, groups and the id maps', async () => {
    // podman writes entries for unknown users into a --rootfs: each gets its own copy.
    const rootfs = makeBusyboxRootfs(join(tmp.path, 'groups-nook'));
    const podmanRootfs = join(tmp.path, 'groups-podman');
    cpSync(rootfs, podmanRootfs, { recursive: true, verbatimSymlinks: true });
    const cases = [['-u', '1000'], ['-u', 'app'], ['-u', '1000:1000'], ['-u', 'app:tty'], ['-u', '0:5'], [], ['--group-add', '0'], ['-u', '1000', '--group-add', '5'], ['-u', '1000', '--group-add', 'extra']];
    const command = ['sh', '-c', 'id; cat /proc/self/uid_map /proc/self/gid_map'];
    for (const args of cases) {
      const ours = await ok(env, '022', ['run', '--rm', ...args, '--rootfs', rootfs, ...command]);
      const theirs = await podman.run(['--runtime', 'runc', 'run', '--rm', '--network', 'none', ...args, '--rootfs', podmanRootfs, ...command]);
      expect(ours.stdout, `run ${args.join(' ')}`).toBe(theirs.stdout);
    }
  });
});

describe('a terminal', () => {
  it('carries exactly the container\'s bytes through script(1), with its input at its end', async () => {
    const env = freshEnv('tty');
    await ok(env, '022', ['pull', '-q', '--tls-verify=false', imageRef]);
    for (let i = 0; i < 3; i++) {
      // script's input is /dev/null: it sends the terminal's end-of-file at once, before nook
      // has switched the terminal to raw mode.
      const child = spawn('script', ['-qec', `${NOOK_BIN} run --rm -it ${imageRef} tty`, '/dev/null'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
      const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect(status).toBe(0);
      expect(Buffer.concat(out)).toEqual(Buffer.from('/dev/pts/0\r\n'));
    }
  });
});
