import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nook, show, removeAllContainers, busyboxWorkspace, nookOk } from '../helpers/nook.js';

/**
 * nook reads /etc/passwd and /etc/group of images and running containers from the host
 * (for -u). Whatever the image ships or the container writes, those reads stay inside the
 * root, open only regular files and read a bounded amount.
 */

let tmp: { path: string; cleanup: () => void };
let env: NodeJS.ProcessEnv;
let rootfs: string;
/** A directory of the host's with a passwd naming a user no container has. */
let hostDir: string;
const IMAGE = 'localhost/root-files:busybox';
const ESCAPING_IMAGE = 'localhost/root-files:escaping';
const HOST_ONLY = 'hostonly';

beforeAll(async () => {
  ({ tmp, env, rootfs } = busyboxWorkspace('root-files'));
  hostDir = join(tmp.path, 'host-etc');
  mkdirSync(hostDir);
  writeFileSync(join(hostDir, 'passwd'), `${HOST_ONLY}:x:4242:4242::/:/bin/sh\n`);
  writeFileSync(join(hostDir, 'group'), `${HOST_ONLY}:x:4242:\n`);
  execFileSync('tar', ['-C', rootfs, '-cf', join(tmp.path, 'rootfs.tar'), '.']);
  await ok(['import', join(tmp.path, 'rootfs.tar'), IMAGE]);
  // The same tree, with /etc a link to the host's directory (an absolute link: in the
  // container it names a path inside the root, which does not exist there).
  const escaping = join(tmp.path, 'escaping');
  cpSync(rootfs, escaping, { recursive: true, verbatimSymlinks: true });
  renameSync(join(escaping, 'etc'), join(escaping, 'etc.real'));
  symlinkSync(hostDir, join(escaping, 'etc'));
  execFileSync('tar', ['-C', escaping, '-cf', join(tmp.path, 'escaping.tar'), '.']);
  await ok(['import', join(tmp.path, 'escaping.tar'), ESCAPING_IMAGE]);
});

afterAll(async () => {
  await removeAllContainers(env);
  await nook(['unshare', 'rm', '-rf', tmp.path], { env });
  tmp.cleanup();
});

async function ok(args: readonly string[]): Promise<string> {
  return (await nookOk(args, { env })).stdout;
}

async function refused(args: readonly string[], stderr: string): Promise<void> {
  const result = await nook(args, { env });
  expect(result.status, show(result)).toBe(125);
  expect(result.stderr).toBe(stderr);
}

const noSuchUser = (user: string): string =>
  `Error: unable to find user ${user}: no matching entries in the container's /etc/passwd (hint: use -u NAME, -u UID, -u NAME:GROUP or -u UID:GID)\n`;
const FIFO =
  "Error: refusing to read /etc/passwd in the container's root filesystem: it is a FIFO, not a regular file (hint: put a regular file at /etc/passwd)\n";
const TOO_LARGE =
  "Error: refusing to read /etc/passwd in the container's root filesystem: it is larger than 4 MiB" +
  ' (hint: a file that large is not a user or group database; check what the image or the container put at /etc/passwd)\n';

describe('host-side reads of container files', () => {
  it("never follows an image's link out of its root", async () => {
    await refused(['run', '--rm', '-u', HOST_ONLY, ESCAPING_IMAGE, 'true'], noSuchUser(HOST_ONLY));
    await refused(['create', '-u', HOST_ONLY, '--rootfs', join(tmp.path, 'escaping'), '--', 'true'], noSuchUser(HOST_ONLY));
  });

  it('refuses a FIFO or a huge /etc/passwd that a running container puts in place', async () => {
    await ok(['run', '-d', '--name', 'swapper', IMAGE, 'sleep', '600']);
    expect(await ok(['exec', '-u', 'app', 'swapper', 'id', '-un'])).toBe('app\n');
    await ok(['exec', 'swapper', 'sh', '-c', 'rm /etc/passwd && mkfifo /etc/passwd']);
    // Reading the FIFO would block until a writer came: the command would never return.
    await refused(['exec', '-u', 'app', 'swapper', 'true'], FIFO);
    await ok(['exec', 'swapper', 'sh', '-c', 'rm /etc/passwd && dd if=/dev/zero of=/etc/passwd bs=1M count=0 seek=100 2>/dev/null']);
    await refused(['exec', '-u', 'app', 'swapper', 'true'], TOO_LARGE);
    // A link to /dev/zero names the container's /dev/zero, which is no file of its layers.
    await ok(['exec', 'swapper', 'sh', '-c', 'rm /etc/passwd && ln -s /dev/zero /etc/passwd']);
    await refused(['exec', '-u', 'app', 'swapper', 'true'], noSuchUser('app'));
  });

  it('never follows a link a running container puts in place of /etc', async () => {
    const root = join(tmp.path, 'swapped-root');
    cpSync(rootfs, root, { recursive: true, verbatimSymlinks: true });
    await ok(['run', '-d', '--name', 'etc-swapper', '--rootfs', root, '--', 'sleep', '600']);
    await ok(['exec', 'etc-swapper', 'sh', '-c', `mv /etc /etc.real && ln -s ${hostDir} /etc`]);
    await refused(['exec', '-u', HOST_ONLY, 'etc-swapper', 'true'], noSuchUser(HOST_ONLY));
    // A relative link climbing out stops at the root, as the kernel's would.
    await ok(['exec', 'etc-swapper', 'sh', '-c', `rm /etc && ln -s ../../../../../../../..${hostDir} /etc`]);
    await refused(['exec', '-u', HOST_ONLY, 'etc-swapper', 'true'], noSuchUser(HOST_ONLY));
  });
});
