import { mkdirSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isolatedEnv, nook, show, waitFor } from '../helpers/nook.js';
import { processEnded } from '../helpers/process.js';
import { makeBusyboxRootfs, tempDir } from '../helpers/rootfs.js';

let tmp: { path: string; cleanup: () => void };
let env: NodeJS.ProcessEnv;

const STORE = (): string => join(env.XDG_DATA_HOME!, 'nook');
/** Above the kernel's largest pid_max: no process has it. */
const DEAD_PID = 2 ** 22 + 7;

beforeAll(async () => {
  tmp = tempDir('check');
  env = isolatedEnv(join(tmp.path, 'home'));
  const rootfs = makeBusyboxRootfs(join(tmp.path, 'rootfs'));
  const tar = join(tmp.path, 'busybox.tar');
  const made = await nook(['unshare', 'tar', '-C', rootfs, '-cf', tar, '.'], { env });
  expect(made.status, show(made)).toBe(0);
  const imported = await nook(['import', tar, 'bb'], { env });
  expect(imported.status, show(imported)).toBe(0);
}, 60_000);

afterAll(async () => {
  await nook(['unshare', 'rm', '-rf', join(tmp.path, 'home')], { env });
  tmp.cleanup();
});


describe('nook system check', () => {
  it('finds nothing in a sound store, and says nothing', async () => {
    const result = await nook(['system', 'check'], { env });
    expect([result.status, result.stdout, result.stderr]).toEqual([0, '', '']);
  });

  it('finds a damaged store, repairs it with --repair, and every command works after', async () => {
    const [listed] = JSON.parse((await nook(['images', '--format', 'json'], { env })).stdout) as { Id: string }[];
    const image = listed!.Id;
    const record = JSON.parse(readFileSync(join(STORE(), 'images', image, 'image.json'), 'utf8')) as { diffIds: string[] };
    const layer = record.diffIds[0]!.slice('sha256:'.length);
    expect((await nook(['create', '--name', 'kept', 'bb', 'true'], { env })).status).toBe(0);
    const started = await nook(['run', '-d', '--name', 'orphaned', 'bb', 'sleep', '60'], { env });
    expect(started.status, show(started)).toBe(0);
    const id = started.stdout.trim();
    const monitor = Number((await nook(['inspect', '-f', '{{.State.ConmonPid}}', 'orphaned'], { env })).stdout.trim());

    // The damage: a monitor killed, a layer deleted, a half-extracted layer, a truncated index.
    process.kill(monitor, 'SIGKILL');
    await waitFor(() => processEnded(monitor), 'the monitor to die');
    const removed = await nook(['unshare', 'rm', '-rf', join(STORE(), 'layers', layer)], { env });
    expect(removed.status, show(removed)).toBe(0);
    const half = `${layer}.tmp-${DEAD_PID}-0123456789ab`;
    mkdirSync(join(STORE(), 'layers', half, 'diff', 'bin'), { recursive: true });
    writeFileSync(join(STORE(), 'layers', half, 'diff', 'bin', 'part'), 'half');
    truncateSync(join(STORE(), 'images', 'index.json'), 25);

    const broken = await nook(['images'], { env });
    expect(broken.status).toBe(125);
    expect(broken.stderr).toMatch(/^Error: the image index \S+ is damaged: not valid JSON .+ \(hint: run "nook system check --repair": it rebuilds the index from the image records\)\n$/);

    const found = await nook(['system', 'check'], { env });
    expect(found.status, show(found)).toBe(125);
    expect(found.stderr).toBe('Error: damage detected in local storage (hint: run "nook system check --repair" to repair it)\n');
    expect(found.stdout.split('\n')).toEqual([
      'Damaged image index:',
      expect.stringMatching(/^\t\* not valid JSON/),
      `Damaged layer ${half}:`,
      '\t* half-extracted: the command extracting it was killed',
      `Damaged image ${image}:`,
      `\t* extracted layer sha256:${layer} is missing`,
      `Damaged container ${id} (orphaned):`,
      `\t* marked running, but its monitor (pid ${monitor}) is gone`,
      '',
    ]);

    const repaired = await nook(['system', 'check', '--repair'], { env });
    expect(repaired.status, show(repaired)).toBe(0);
    expect(repaired.stdout.split('\n').filter((l) => !l.startsWith('Damaged') && !l.startsWith('\t'))).toEqual([
      'Rebuilt the image index from 1 image record',
      `Repaired container ${id}: marked exited`,
      `Deleted damaged layer: ${half}`,
      `Repaired image ${image}: its layers were extracted again`,
      '',
    ]);

    const again = await nook(['system', 'check'], { env });
    expect([again.status, again.stdout, again.stderr]).toEqual([0, '', '']);
    expect(readdirSync(join(STORE(), 'layers'))).toEqual([layer]);

    // Every command works: the names came back with the index, the run state is settled.
    const images = await nook(['images', '--format', 'json'], { env });
    expect(images.status, show(images)).toBe(0);
    expect((JSON.parse(images.stdout) as { Id: string; Names: string[] }[]).map((i) => [i.Id, i.Names])).toEqual([[image, ['localhost/bb:latest']]]);
    const ps = await nook(['ps', '-a', '--format', '{{.Names}} {{.Status}}'], { env });
    expect(ps.stdout.split('\n').filter(Boolean).sort()).toEqual(['kept Created', expect.stringMatching(/^orphaned Exited \(unknown\) /)]);
    const run = await nook(['run', '--rm', 'bb', 'cat', '/bin/busybox'], { env });
    expect(run.status, show(run)).toBe(0);
    expect(Buffer.byteLength(run.stdout, 'latin1')).toBeGreaterThan(0);
    expect((await nook(['start', '-a', 'kept'], { env })).status).toBe(0);
    const rm = await nook(['rm', 'kept', 'orphaned'], { env });
    expect([rm.status, rm.stdout]).toEqual([0, 'kept\norphaned\n']);
    expect((await nook(['rmi', 'bb'], { env })).status).toBe(0);
    expect((await nook(['system', 'check'], { env })).status).toBe(0);
  });
});
