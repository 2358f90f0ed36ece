import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isolatedEnv, nook, NOOK_BIN, show, type NookResult, removeAllContainers, nookOk } from '../helpers/nook.js';
import { makeBusyboxRootfs, tempDir } from '../helpers/rootfs.js';

let tmp: { path: string; cleanup: () => void };
let env: NodeJS.ProcessEnv;
/** A host directory the container's symlinks point at: nothing may ever read or write it through them. */
let hostTarget: string;
let source: string;

beforeAll(() => {
  tmp = tempDir('cp');
  env = isolatedEnv(join(tmp.path, 'home'));
  hostTarget = join(tmp.path, 'host-target');
  mkdirSync(hostTarget);
  writeFileSync(join(hostTarget, 'secret'), 'host secret\n');

  // What is copied in: a file with an unusual mode and an old mtime, and a tree.
  source = join(tmp.path, 'source');
  mkdirSync(join(source, 'tree', 'private'), { recursive: true });
  writeFileSync(join(source, 'file.txt'), 'file content\n');
  chmodSync(join(source, 'file.txt'), 0o640);
  utimesSync(join(source, 'file.txt'), new Date('2001-02-03T04:05:06Z'), new Date('2001-02-03T04:05:06Z'));
  writeFileSync(join(source, 'tree', 'run.sh'), '#!/bin/sh\necho hi\n');
  chmodSync(join(source, 'tree', 'run.sh'), 0o755);
  writeFileSync(join(source, 'tree', 'private', 'key'), 'key\n');
  chmodSync(join(source, 'tree', 'private'), 0o700);
  symlinkSync('run.sh', join(source, 'tree', 'link'));
});

afterAll(async () => {
  await removeAllContainers(env);
  await nook(['unshare', 'rm', '-rf', tmp.path], { env });
  tmp.cleanup();
});

async function ok(args: readonly string[], input?: Buffer): Promise<string> {
  return (await nookOk(args, { env, ...(input === undefined ? {} : { input }) })).stdout;
}

async function fails(args: readonly string[], message: RegExp): Promise<NookResult> {
  const result = await nook(args, { env });
  expect(result.status, show(result)).toBe(125);
  expect(result.stderr).toMatch(message);
  return result;
}

/** nook's stdout as bytes (a tar stream is no UTF-8 text). */
function nookBytes(args: readonly string[]): Promise<{ status: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(NOOK_BIN, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout: Buffer.concat(out), stderr }));
  });
}

function tarList(archive: Buffer | string): string[] {
  const args = typeof archive === 'string' ? ['-tf', archive] : ['-tf', '-'];
  return execFileSync('tar', args, typeof archive === 'string' ? { encoding: 'utf8' } : { input: archive, encoding: 'utf8' }).split('\n').filter(Boolean);
}

const mode = (path: string): number => statSync(path).mode & 0o7777;

/** Owner and mode as the container sees them (container ids, through a user namespace). */
async function containerStat(hostPath: string): Promise<string> {
  return (await ok(['unshare', 'stat', '-c', '%u:%g %a', hostPath])).trim();
}

/** A fresh rootfs with the links a hostile image would plant: to a host path, and out by `..`. */
function hostileRootfs(name: string): string {
  const rootfs = makeBusyboxRootfs(join(tmp.path, name));
  symlinkSync(hostTarget, join(rootfs, 'abs'));
  symlinkSync('../../../../../../../../..' + hostTarget, join(rootfs, 'tmp', 'up'));
  symlinkSync(join(hostTarget, 'secret'), join(rootfs, 'secret-link'));
  symlinkSync(join(hostTarget, 'written'), join(rootfs, 'write-link'));
  return rootfs;
}

function hostTargetUntouched(): void {
  expect(readdirSync(hostTarget)).toEqual(['secret']);
  expect(readFileSync(join(hostTarget, 'secret'), 'utf8')).toBe('host secret\n');
}

describe.each([
  { state: 'stopped', start: ['create'] },
  { state: 'running', start: ['run', '-d'] },
])('nook cp with a $state container', ({ state, start }) => {
  let rootfs: string;
  const name = `cp-${state}`;
  const out = (what: string): string => join(tmp.path, `out-${state}-${what}`);

  beforeAll(async () => {
    rootfs = hostileRootfs(`rootfs-${state}`);
    await ok([...start, '--name', name, '--rootfs', rootfs, '--', 'sleep', '1000']);
  });

  it('copies a file in: content, mode and mtime kept, owned by the container\'s root', async () => {
    await ok(['cp', join(source, 'file.txt'), `${name}:/tmp/`]);
    const copied = join(rootfs, 'tmp', 'file.txt');
    expect(readFileSync(copied, 'utf8')).toBe('file content\n');
    expect(mode(copied)).toBe(0o640);
    expect(statSync(copied).mtime.toISOString()).toBe('2001-02-03T04:05:06.000Z');
    expect(await containerStat(copied)).toBe('0:0 640');
    if (state === 'running') expect(await ok(['exec', name, 'cat', '/tmp/file.txt'])).toBe('file content\n');
  });

  it('copies a file in under a new name when only the parent exists', async () => {
    await ok(['cp', join(source, 'file.txt'), `${name}:/tmp/renamed`]);
    expect(readFileSync(join(rootfs, 'tmp', 'renamed'), 'utf8')).toBe('file content\n');
  });

  it('copies a directory in, recursively, with modes and symlinks', async () => {
    await ok(['cp', join(source, 'tree'), `${name}:/tmp/tree-new`]);
    const tree = join(rootfs, 'tmp', 'tree-new');
    expect(readFileSync(join(tree, 'run.sh'), 'utf8')).toBe('#!/bin/sh\necho hi\n');
    expect(mode(join(tree, 'run.sh'))).toBe(0o755);
    expect(mode(join(tree, 'private'))).toBe(0o700);
    expect(readFileSync(join(tree, 'private', 'key'), 'utf8')).toBe('key\n');
    expect(execFileSync('readlink', [join(tree, 'link')], { encoding: 'utf8' }).trim()).toBe('run.sh');
    // Into an existing directory: under the source's name.
    await ok(['cp', join(source, 'tree'), `${name}:/home/`]);
    expect(readFileSync(join(rootfs, 'home', 'tree', 'private', 'key'), 'utf8')).toBe('key\n');
  });

  it('copies a file and a directory out: content and modes kept, owned by the user', async () => {
    writeFileSync(join(rootfs, 'etc', 'conf'), 'conf\n');
    chmodSync(join(rootfs, 'etc', 'conf'), 0o604);
    await ok(['cp', `${name}:/etc/conf`, out('conf')]);
    expect(readFileSync(out('conf'), 'utf8')).toBe('conf\n');
    expect(mode(out('conf'))).toBe(0o604);
    expect(statSync(out('conf')).uid).toBe(process.getuid!());

    await ok(['cp', join(source, 'tree'), `${name}:/tmp/tree-out`]);
    await ok(['cp', `${name}:/tmp/tree-out`, out('tree')]);
    expect(readFileSync(join(out('tree'), 'private', 'key'), 'utf8')).toBe('key\n');
    expect(mode(join(out('tree'), 'private'))).toBe(0o700);
    expect(mode(join(out('tree'), 'run.sh'))).toBe(0o755);
  });

  it('streams a tar archive in and out with "-"', async () => {
    const archive = execFileSync('tar', ['-C', source, '-cf', '-', 'tree']);
    await ok(['cp', '-', `${name}:/root`], archive);
    expect(readFileSync(join(rootfs, 'root', 'tree', 'private', 'key'), 'utf8')).toBe('key\n');

    const streamed = await nookBytes(['cp', `${name}:/root/tree`, '-']);
    expect(streamed.status, streamed.stderr).toBe(0);
    expect(tarList(streamed.stdout).sort()).toEqual(['tree/', 'tree/link', 'tree/private/', 'tree/private/key', 'tree/run.sh']);
  });

  it('never writes to the host through a symlink in the container', async () => {
    for (const dest of ['/abs/new', '/abs/', '/tmp/up/new', '/tmp/up/', '/write-link']) {
      const result = await nook(['cp', join(source, 'file.txt'), `${name}:${dest}`], { env });
      // A link is followed inside the container: where its target is missing the copy
      // fails cleanly, and a link at the destination itself is replaced, not written through.
      expect([0, 125], show(result)).toContain(result.status);
      hostTargetUntouched();
    }
    expect(execFileSync('readlink', [join(rootfs, 'abs')], { encoding: 'utf8' }).trim()).toBe(hostTarget);
    await fails(['cp', join(source, 'tree'), `${name}:/abs/tree`], /no such file or directory/);
    await fails(['cp', '-', `${name}:/tmp/up`], /no such file or directory/);
    hostTargetUntouched();
  });

  it('never reads the host through a symlink in the container', async () => {
    for (const src of ['/abs/secret', '/tmp/up/secret', '/secret-link/', '/abs/.']) {
      const dest = out(`read-${src.replace(/\W/g, '_')}`);
      const result = await nook(['cp', `${name}:${src}`, dest], { env });
      expect(result.status, show(result)).toBe(125);
      expect(result.stderr).toMatch(/no such file or directory/);
      expect(existsSync(dest)).toBe(false);
    }
    // The link itself is copied as a link, as docker cp does.
    await ok(['cp', `${name}:/secret-link`, out('link')]);
    expect(execFileSync('readlink', [out('link')], { encoding: 'utf8' }).trim()).toBe(join(hostTarget, 'secret'));
  });
  it('lands inside the container where the link\'s target exists there', async () => {
    const inside = join(rootfs, hostTarget);
    mkdirSync(inside, { recursive: true });
    await ok(['cp', join(source, 'file.txt'), `${name}:/abs/landed`]);
    await ok(['cp', join(source, 'file.txt'), `${name}:/tmp/up/landed-too`]);
    expect(readdirSync(inside).sort()).toEqual(['landed', 'landed-too']);
    hostTargetUntouched();
  });

});

describe('a running container swapping a directory and a host symlink', () => {
  it('never gets a copy onto the host or the host file into the copy', async () => {
    const rootfs = makeBusyboxRootfs(join(tmp.path, 'rootfs-swap'));
    // The container replaces /tmp/swap by a directory and by a link to the host target, in a loop.
    const script = `while :; do rm -rf /tmp/swap; mkdir /tmp/swap; rm -rf /tmp/swap; ln -s ${hostTarget} /tmp/swap; done`;
    await ok(['run', '-d', '--name', 'swapper', '--rootfs', rootfs, '--', 'sh', '-c', script]);
    for (let i = 0; i < 15; i++) {
      const copyIn = await nook(['cp', join(source, 'file.txt'), `swapper:/tmp/swap/x${i}`], { env });
      expect([0, 125], show(copyIn)).toContain(copyIn.status);
      const dest = join(tmp.path, `swap-out-${i}`);
      const copyOut = await nook(['cp', 'swapper:/tmp/swap/secret', dest], { env });
      expect(copyOut.status, show(copyOut)).toBe(125);
      expect(existsSync(dest)).toBe(false);
    }
    hostTargetUntouched();
    await ok(['rm', '-f', '-t', '0', 'swapper']);
  }, 120_000);
});

describe('archive mode', () => {
  it('gives files the container user\'s ids by default and keeps a tar stream\'s owners with --archive=false', async () => {
    const rootfs = makeBusyboxRootfs(join(tmp.path, 'rootfs-archive'));
    await ok(['create', '--name', 'archive', '--rootfs', rootfs, '--', 'true']);
    const archive = execFileSync('tar', ['-C', source, '--owner=42', '--group=43', '-cf', '-', 'file.txt']);
    await ok(['cp', '-', 'archive:/home'], archive);
    expect(await containerStat(join(rootfs, 'home', 'file.txt'))).toBe('0:0 640');
    await ok(['cp', '--archive=false', '-', 'archive:/tmp'], archive);
    expect(await containerStat(join(rootfs, 'tmp', 'file.txt'))).toBe('42:43 640');
  });

  it('gives them the ids of a container running as another user, and starts a relative path at its working directory', async () => {
    const rootfs = makeBusyboxRootfs(join(tmp.path, 'rootfs-app'));
    await ok(['create', '--name', 'app', '-u', 'app', '-w', '/home/app', '--rootfs', rootfs, '--', 'true']);
    await ok(['cp', join(source, 'file.txt'), 'app:notes']);
    expect(await containerStat(join(rootfs, 'home', 'app', 'notes'))).toBe('1000:1000 640');
  });
});

describe('nook cp and export with an image container (overlay)', () => {
  beforeAll(async () => {
    const rootfs = makeBusyboxRootfs(join(tmp.path, 'rootfs-image'));
    writeFileSync(join(rootfs, 'etc', 'motd'), 'from the image\n');
    const archive = join(tmp.path, 'image.tar');
    execFileSync('tar', ['-C', rootfs, '-cf', archive, '.']);
    await ok(['import', archive, 'cpbase']);
    await ok(['create', '--name', 'img', 'cpbase', 'sleep', '1000']);
  });

  it('copies into and out of the stopped container\'s overlay', async () => {
    await ok(['cp', join(source, 'file.txt'), 'img:/etc/added']);
    await ok(['cp', 'img:/etc/added', join(tmp.path, 'img-added')]);
    expect(readFileSync(join(tmp.path, 'img-added'), 'utf8')).toBe('file content\n');
    await ok(['cp', 'img:/etc/motd', join(tmp.path, 'img-motd')]);
    expect(readFileSync(join(tmp.path, 'img-motd'), 'utf8')).toBe('from the image\n');
  });

  it('exports the root filesystem with what was copied in, to a file or to stdout', async () => {
    const file = join(tmp.path, 'export.tar');
    await ok(['export', '-o', file, 'img']);
    const names = tarList(file);
    expect(names).toEqual(expect.arrayContaining(['bin/busybox', 'etc/passwd', 'etc/motd', 'etc/added']));
    const streamed = await nookBytes(['export', 'img']);
    expect(streamed.status, streamed.stderr).toBe(0);
    expect(tarList(streamed.stdout).sort()).toEqual([...names].sort());
  });

  it('sees what the running container wrote', async () => {
    await ok(['start', 'img']);
    await ok(['exec', 'img', 'sh', '-c', 'echo written inside > /tmp/inside']);
    await ok(['cp', 'img:/tmp/inside', join(tmp.path, 'img-inside')]);
    expect(readFileSync(join(tmp.path, 'img-inside'), 'utf8')).toBe('written inside\n');
    const streamed = await nookBytes(['export', 'img']);
    expect(streamed.status, streamed.stderr).toBe(0);
    const names = tarList(streamed.stdout);
    expect(names).toContain('tmp/inside');
    // Its /proc is a mount of its own: exported empty, as podman leaves mounts out.
    expect(names.filter((n) => n.startsWith('proc/'))).toEqual(['proc/']);
    await ok(['rm', '-f', '-t', '0', 'img']);
  });
});

describe('a running container\'s volumes', () => {
  it('are visible to cp, and left out of export', async () => {
    const rootfs = makeBusyboxRootfs(join(tmp.path, 'rootfs-volume'));
    await ok(['run', '-d', '--name', 'vol', '-v', 'cpdata:/data', '--rootfs', rootfs, '--', 'sleep', '1000']);
    await ok(['exec', 'vol', 'sh', '-c', 'echo in the volume > /data/file']);
    await ok(['cp', 'vol:/data/file', join(tmp.path, 'from-volume')]);
    expect(readFileSync(join(tmp.path, 'from-volume'), 'utf8')).toBe('in the volume\n');
    await ok(['cp', join(source, 'file.txt'), 'vol:/data/']);
    expect(await ok(['exec', 'vol', 'cat', '/data/file.txt'])).toBe('file content\n');
    // The volume lives on the same filesystem as the rootfs: a mount all the same.
    const streamed = await nookBytes(['export', 'vol']);
    expect(streamed.status, streamed.stderr).toBe(0);
    const names = tarList(streamed.stdout);
    expect(names).toContain('data/');
    expect(names.filter((n) => n.startsWith('data/'))).toEqual(['data/']);
    await ok(['rm', '-f', '-t', '0', 'vol']);
  });
});

describe('export of a stopped --rootfs container', () => {
  it('lists the container\'s files', async () => {
    const rootfs = makeBusyboxRootfs(join(tmp.path, 'rootfs-export'));
    writeFileSync(join(rootfs, 'root', 'note'), 'note\n');
    await ok(['create', '--name', 'exp', '--rootfs', rootfs, '--', 'true']);
    const file = join(tmp.path, 'exp.tar');
    await ok(['export', '--output', file, 'exp']);
    expect(tarList(file)).toEqual(expect.arrayContaining(['bin/sh', 'etc/passwd', 'root/note', 'tmp/']));
    expect(execFileSync('tar', ['-xOf', file, 'root/note'], { encoding: 'utf8' })).toBe('note\n');
  });
});

describe('bad input', () => {
  beforeAll(async () => {
    await ok(['create', '--name', 'bad', '--rootfs', makeBusyboxRootfs(join(tmp.path, 'rootfs-bad')), '--', 'true']);
  });

  it('names a missing container', async () => {
    await fails(['cp', join(source, 'file.txt'), 'no-such-ctr:/tmp'], /no container with name or ID "no-such-ctr"/);
    await fails(['export', '-o', join(tmp.path, 'x.tar'), 'no-such-ctr'], /no container with name or ID "no-such-ctr"/);
  });

  it('names a missing path in the container, and a missing parent', async () => {
    await fails(['cp', 'bad:/no/such', join(tmp.path, 'x')], /"\/no\/such": no such file or directory/);
    await fails(['cp', join(source, 'file.txt'), 'bad:/no/such/file'], /"\/no\/such": no such file or directory/);
    await fails(['cp', join(tmp.path, 'no-such-host-file'), 'bad:/tmp'], /no-such-host-file": no such file or directory/);
  });

  it('wants exactly one side in a container', async () => {
    await fails(['cp', join(source, 'file.txt'), join(tmp.path, 'y')], /one of the paths must be CONTAINER:PATH/);
    await fails(['cp', 'bad:/etc/passwd', 'bad:/tmp/'], /between containers/);
  });

  it('refuses a directory over a file, and stdin that is no tar archive', async () => {
    await fails(['cp', join(source, 'tree'), 'bad:/etc/passwd'], /cannot copy directory/);
    const result = await nook(['cp', '-', 'bad:/tmp'], { env, input: 'not a tar archive at all' });
    expect(result.status, show(result)).toBe(125);
    expect(result.stderr).toMatch(/not a valid tar archive/);
  });
});
