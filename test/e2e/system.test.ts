import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isolatedEnv, nook, show, nookOk } from '../helpers/nook.js';
import { makeBusyboxRootfs, tempDir } from '../helpers/rootfs.js';

let tmp: { path: string; cleanup: () => void };
let env: NodeJS.ProcessEnv;
let tarFile: string;

const STORE = (): string => join(env.XDG_DATA_HOME!, 'nook');
const RUNTIME = (): string => join(env.XDG_RUNTIME_DIR!, 'nook');

beforeAll(() => {
  tmp = tempDir('system');
  env = isolatedEnv(join(tmp.path, 'home'));
  const rootfs = makeBusyboxRootfs(join(tmp.path, 'rootfs'));
  tarFile = join(tmp.path, 'rootfs.tar');
  execFileSync('tar', ['-C', rootfs, '-cf', tarFile, '.']);
});

afterAll(async () => {
  await nook(['system', 'reset', '-f'], { env });
  tmp.cleanup();
});

async function ok(args: readonly string[]): Promise<string> {
  return (await nookOk(args, { env })).stdout;
}

describe('nook system', () => {
  it('prune removes stopped containers, dangling images and, with --volumes, unused volumes', async () => {
    await ok(['import', tarFile, 'localhost/kept:1']);
    const dangling = (await ok(['import', tarFile])).trim();
    await ok(['run', '-d', '--name', 'up', 'localhost/kept:1', 'sleep', '100']);
    await ok(['run', '--name', 'done', 'localhost/kept:1', 'true']);
    await ok(['create', '--name', 'made', 'localhost/kept:1', 'true']);
    await ok(['volume', 'create', 'unused']);
    const out = await ok(['system', 'prune', '-f', '--volumes']);
    expect(out).toMatch(/^Deleted Containers\n[0-9a-f]{64}\n[0-9a-f]{64}\nDeleted Volumes\nunused\nDeleted Images\n/);
    expect(out).toContain(dangling.slice(0, 12));
    expect((await ok(['ps', '-a', '--format', '{{.Names}}'])).trim()).toBe('up');
    expect(await ok(['volume', 'ls', '-q'])).toBe('');
    expect(await ok(['images', '--format', 'json'])).toContain('localhost/kept');
    const df = (await ok(['system', 'df'])).split('\n');
    expect(df[0]).toMatch(/^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE$/);
    expect(df[1]).toMatch(/^Images\s+1\s+1\s+[\d.]+ MB\s+0 B$/);
    expect(df[2]).toMatch(/^Containers\s+1\s+1\s+[\d.]+ kB\s+0 B$/);
    expect(df[3]).toMatch(/^Local Volumes\s+0\s+0\s+0 B\s+0 B$/);
  });

  it('reset kills what runs and removes the store, files of container ids included', async () => {
    // A file only container uid 1000 owns, in a container's upper dir and in a volume.
    await ok(['run', '--name', 'owner', '-v', 'data:/data', 'localhost/kept:1', 'sh', '-c', 'mkdir /d && chown 1000:1000 /d && chmod 700 /d && touch /d/f && chown 1000 /data']);
    expect(existsSync(STORE())).toBe(true);
    const reset = await nook(['system', 'reset', '-f'], { env });
    expect(reset.status, show(reset)).toBe(0);
    expect(existsSync(STORE())).toBe(false);
    expect(existsSync(RUNTIME())).toBe(false);
    expect(await ok(['ps', '-a', '-q'])).toBe('');
  });

  it('exists answers 0 or 1 for containers, images and volumes', async () => {
    await ok(['import', tarFile, 'localhost/there:1']);
    await ok(['create', '--name', 'here', 'localhost/there:1', 'true']);
    await ok(['volume', 'create', 'vol-here']);
    for (const [kind, present, absent] of [['container', 'here', 'nowhere'], ['image', 'localhost/there:1', 'localhost/nowhere:1'], ['volume', 'vol-here', 'vol-nowhere']]) {
      expect((await nook([kind!, 'exists', present!], { env })).status, `${kind} ${present}`).toBe(0);
      const missing = await nook([kind!, 'exists', absent!], { env });
      expect(missing.status, show(missing)).toBe(1);
      expect(missing.stderr).toBe('');
    }
  });

  it('asks first, and refuses without a terminal to ask on', async () => {
    const result = await nook(['system', 'reset'], { env });
    expect(result.status, show(result)).toBe(125);
    expect(result.stderr).toMatch(/standard input is not a terminal.*hint: give -f/);
  });
});
