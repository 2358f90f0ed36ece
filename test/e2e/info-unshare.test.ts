import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isolatedEnv, nook, show } from '../helpers/nook.js';
import { tempDir } from '../helpers/rootfs.js';
import { subordinateStart } from '../helpers/subids.js';

let tmp: { path: string; cleanup: () => void };
let env: NodeJS.ProcessEnv;

beforeAll(() => {
  tmp = tempDir('info');
  env = isolatedEnv(join(tmp.path, 'home'));
});
afterAll(() => tmp.cleanup());

describe('nook info', () => {
  it('reports the id maps, the store and a real overlay probe', async () => {
    const result = await nook(['info', '--format', 'json'], { env });
    expect(result.status, show(result)).toBe(0);
    const info = JSON.parse(result.stdout) as { host: Record<string, string>; store: Record<string, string | number> };
    expect(info.host.uidMap).toBe(`0:${process.getuid!()}:1 1:${subordinateStart('/etc/subuid')}:65536`);
    expect(info.store.graphRoot).toBe(join(env.XDG_DATA_HOME!, 'nook'));
    expect(info.store.driver).toBe('overlay (kernel overlayfs mounts in a user namespace here)');
    expect(info.store.images).toBe(0);
  });

  it('says when the storage driver was chosen by hand', async () => {
    const result = await nook(['--storage-driver', 'vfs', 'info', '--format', 'json'], { env });
    expect(result.status, show(result)).toBe(0);
    expect((JSON.parse(result.stdout) as { store: { driver: string } }).store.driver).toBe('vfs (chosen with --storage-driver)');
    const bad = await nook(['--storage-driver', 'zfs', 'info'], { env });
    expect(bad.status).toBe(125);
    expect(bad.stderr).toMatch(/unknown storage driver "zfs"/);
  });

  it('prints text by default and refuses an unknown format', async () => {
    const text = await nook(['info'], { env });
    expect(text.status, show(text)).toBe(0);
    expect(text.stdout).toMatch(/^host:\n {2}kernel: /);
    const bad = await nook(['info', '--format', 'yaml'], { env });
    expect(bad.status).toBe(125);
    expect(bad.stderr).toMatch(/unknown --format "yaml"/);
  });
});

describe('nook unshare', () => {
  it('runs a command as root of a user namespace with the container id maps', async () => {
    const result = await nook(['unshare', 'sh', '-c', 'id -u; cat /proc/self/uid_map'], { env });
    expect(result.status, show(result)).toBe(0);
    const [uid, ...map] = result.stdout.trim().split('\n');
    expect(uid).toBe('0');
    expect(map.map((l) => l.trim().split(/\s+/).map(Number))).toEqual([
      [0, process.getuid!(), 1],
      [1, subordinateStart('/etc/subuid'), 65536],
    ]);
  });

  it("returns the command's exit code, and 127 for a missing command", async () => {
    expect((await nook(['unshare', 'sh', '-c', 'exit 3'], { env })).status).toBe(3);
    const missing = await nook(['unshare', 'no-such-command'], { env });
    expect(missing.status, show(missing)).toBe(127);
  });
});

describe('a command group without its command', () => {
  it('prints the group\'s help and says what is missing, exit 125', async () => {
    const result = await nook(['volume'], { env });
    expect(result.status, show(result)).toBe(125);
    expect(result.stderr).toMatch(/Commands:[\s\S]*create[\s\S]*\nError: missing command \(hint: .+\)\n$/);
  });
});
