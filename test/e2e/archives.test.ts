import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isolatedEnv, nook, show, type NookResult, nookOk } from '../helpers/nook.js';
import { privatePodman, type Podman } from '../helpers/podman.js';
import { makeBusyboxRootfs, tempDir } from '../helpers/rootfs.js';

let tmp: { path: string; cleanup: () => void };
let env: NodeJS.ProcessEnv;
let podman: Podman;
/** The busybox rootfs as a gzipped tarball, as `crane export` or a minirootfs ships one. */
let rootfsTarball: string;
/** The image imported from it, by `import … base`. */
let baseId: string;

const tar = (...args: string[]) => execFileSync('tar', args, { maxBuffer: 256 * 1024 * 1024 });

beforeAll(async () => {
  tmp = tempDir('archives');
  env = isolatedEnv(join(tmp.path, 'home'));
  podman = privatePodman(join(tmp.path, 'podman'));
  const rootfs = makeBusyboxRootfs(join(tmp.path, 'rootfs'));
  rootfsTarball = join(tmp.path, 'rootfs.tar.gz');
  tar('--sort=name', '--owner=0', '--group=0', '--numeric-owner', '-C', rootfs, '-czf', rootfsTarball, '.');
});

afterAll(async () => {
  await podman?.cleanup();
  // Extracted layers belong to container ids: only container root may remove them.
  await nook(['unshare', 'rm', '-rf', tmp.path], { env });
  tmp.cleanup();
});

async function ok(args: readonly string[], input?: Buffer): Promise<NookResult> {
  return nookOk(args, { env, ...(input === undefined ? {} : { input }) });
}

async function fails(args: readonly string[], input?: Buffer): Promise<NookResult> {
  const result = await nook(args, { env, ...(input === undefined ? {} : { input }) });
  expect(result.status, show(result)).toBe(125);
  return result;
}

interface ListedImage {
  Id: string;
  RepoTags: string[];
}

async function images(): Promise<ListedImage[]> {
  return JSON.parse((await ok(['images', '--format', 'json'])).stdout) as ListedImage[];
}

/** What is in the store's blobs/ and layers/: a failed command must leave both as they were. */
function storeContent(): { blobs: string[]; layers: string[] } {
  const dir = join(env.XDG_DATA_HOME!, 'nook');
  const list = (d: string) => (existsSync(join(dir, d)) ? readdirSync(join(dir, d)).sort() : []);
  return { blobs: list('blobs/sha256'), layers: list('layers') };
}

/** An archive's member, read with GNU tar (an independent reader). */
const member = (archive: string, name: string) => tar('-xOf', archive, name).toString();
const members = (archive: string) => tar('-tf', archive).toString().split('\n').filter(Boolean);

describe('import', () => {
  it('imports a rootfs tarball as localhost/NAME, prints its id, and runs it', async () => {
    const result = await ok(['import', rootfsTarball, 'base']);
    baseId = result.stdout.trim();
    expect(baseId).toMatch(/^[0-9a-f]{64}$/);
    expect((await images()).find((i) => i.Id === baseId)?.RepoTags).toEqual(['localhost/base:latest']);
    const run = await ok(['run', '--rm', 'base', 'sh', '-c', 'cat /etc/passwd']);
    expect(run.stdout).toContain('app:x:1000:1000:app:/home/app:/bin/sh');
  });

  it("gives the image podman's import config: this host's platform, one layer, no command", async () => {
    const [image] = JSON.parse((await ok(['image', 'inspect', baseId])).stdout) as { Os: string; RootFS: { Layers: string[] }; Config: Record<string, unknown> }[];
    expect(image!.Os).toBe('linux');
    expect(image!.RootFS.Layers).toHaveLength(1);
    expect(image!.Config).toEqual({});
    const run = await fails(['run', '--rm', 'base']);
    expect(run.stderr).toContain('has no ENTRYPOINT or CMD');
  });

  it('reads an uncompressed tarball from standard input, and leaves it nameless without NAME', async () => {
    const plain = execFileSync('gzip', ['-dc', rootfsTarball], { maxBuffer: 256 * 1024 * 1024 });
    const id = (await ok(['import', '-'], plain)).stdout.trim();
    expect((await images()).find((i) => i.Id === id)?.RepoTags).toEqual([]);
    expect((await ok(['run', '--rm', id, 'cat', '/etc/group'])).stdout).toContain('extra:x:2000:app');
  });
});

describe('save and load', () => {
  it('writes a docker-archive as podman does, and loads it back to the same image', async () => {
    const archive = join(tmp.path, 'base-docker.tar');
    await ok(['save', '-o', archive, 'base']);
    const [inspected] = JSON.parse((await ok(['image', 'inspect', 'base'])).stdout) as { RootFS: { Layers: string[] } }[];
    const diffId = inspected!.RootFS.Layers[0]!.slice('sha256:'.length);
    expect(members(archive).sort()).toEqual([`${baseId}.json`, `${diffId}.tar`, 'manifest.json', 'repositories'].sort());
    expect(JSON.parse(member(archive, 'manifest.json'))).toEqual([{ Config: `${baseId}.json`, RepoTags: ['localhost/base:latest'], Layers: [`${diffId}.tar`] }]);
    // The layer is the uncompressed tar whose digest is the diff id.
    expect(execFileSync('sh', ['-c', `tar -xOf '${archive}' '${diffId}.tar' | sha256sum`]).toString()).toContain(diffId);

    await ok(['rmi', 'base']);
    const loaded = await ok(['load', '-i', archive]);
    expect(loaded.stdout).toBe('Loaded image: localhost/base:latest\n');
    expect((await images()).find((i) => i.RepoTags.includes('localhost/base:latest'))?.Id).toBe(baseId);
    expect((await ok(['run', '--rm', 'base', 'cat', '/etc/passwd'])).stdout).toContain('app:x:1000');
  });

  it('writes an oci-archive and loads it back to the same image', async () => {
    const archive = join(tmp.path, 'base-oci.tar');
    await ok(['save', '--format', 'oci-archive', '-o', archive, 'base']);
    const index = JSON.parse(member(archive, 'index.json')) as { manifests: { annotations: Record<string, string> }[] };
    expect(index.manifests[0]!.annotations['org.opencontainers.image.ref.name']).toBe('localhost/base:latest');
    expect(members(archive)).toContain('oci-layout');
    expect(members(archive)).toContain(`blobs/sha256/${baseId}`);

    await ok(['rmi', 'base']);
    expect((await ok(['load', '-i', archive])).stdout).toBe('Loaded image: localhost/base:latest\n');
    expect((await images()).find((i) => i.RepoTags.includes('localhost/base:latest'))?.Id).toBe(baseId);
  });

  it('loads a compressed archive from standard input', async () => {
    const archive = gzipSync(readFileSync(join(tmp.path, 'base-docker.tar')));
    await ok(['rmi', 'base']);
    expect((await ok(['load'], archive)).stdout).toBe('Loaded image: localhost/base:latest\n');
    expect((await images()).find((i) => i.Id === baseId)?.RepoTags).toEqual(['localhost/base:latest']);
  });

  it('saves an image asked for by id without a name', async () => {
    const archive = join(tmp.path, 'by-id.tar');
    await ok(['save', '-o', archive, baseId.slice(0, 12)]);
    expect(JSON.parse(member(archive, 'manifest.json'))[0].RepoTags).toEqual([]);
    expect(members(archive)).not.toContain('repositories');
  });
});

describe('interchange with podman', () => {
  it("podman loads nook's docker-archive and oci-archive as the same image", async () => {
    for (const [file, name] of [['base-docker.tar', 'localhost/base:latest'], ['base-oci.tar', 'localhost/base:latest']] as const) {
      await podman.run(['load', '-i', join(tmp.path, file)]);
      const { stdout } = await podman.run(['image', 'inspect', '--format', '{{.Id}} {{.RepoTags}}', name]);
      expect(stdout.trim()).toBe(`${baseId} [${name}]`);
      await podman.run(['rmi', name]);
    }
  });

  it("nook loads podman's docker-archive and oci-archive, and runs them", async () => {
    const podmanId = (await podman.run(['import', '-q', rootfsTarball, 'podbox'])).stdout.trim().replace(/^sha256:/, '');
    const before = storeContent().blobs;
    for (const format of ['docker-archive', 'oci-archive']) {
      const archive = join(tmp.path, `podman-${format}.tar`);
      await podman.run(['save', '--format', format, '-o', archive, 'localhost/podbox:latest']);
      expect((await ok(['load', '-i', archive])).stdout).toBe('Loaded image: localhost/podbox:latest\n');
      expect((await images()).find((i) => i.RepoTags.includes('localhost/podbox:latest'))?.Id).toBe(podmanId);
      expect((await ok(['run', '--rm', 'podbox', 'sh', '-c', 'cat /etc/passwd'])).stdout).toContain('app:x:1000');
      await ok(['rmi', 'podbox']);
      // Nothing of the archive outlives the image (podman's docker-archive has legacy files too).
      expect(storeContent().blobs).toEqual(before);
    }
  });
});

describe('bad input', () => {
  /** Runs a command that must fail with 125 and `message`, and leave the store untouched. */
  async function refused(args: readonly string[], message: RegExp): Promise<void> {
    const before = storeContent();
    const imagesBefore = await images();
    const result = await fails(args);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toContain('hint:');
    expect(storeContent()).toEqual(before);
    expect(await images()).toEqual(imagesBefore);
  }

  /** An archive's members, changed by `edit`, tarred again. */
  function tampered(source: string, edit: (dir: string) => void): string {
    const dir = join(tmp.path, `tamper-${readdirSync(tmp.path).length}`);
    mkdirSync(dir);
    tar('-C', dir, '-xf', join(tmp.path, source));
    edit(dir);
    const out = `${dir}.tar`;
    tar('-C', dir, '-cf', out, '.');
    return out;
  }

  function flipLastByte(file: string): void {
    const bytes = readFileSync(file);
    bytes[bytes.length - 2000]! ^= 0xff;
    writeFileSync(file, bytes);
  }

  it('refuses a file that is not an archive', async () => {
    const file = join(tmp.path, 'not-an-archive');
    writeFileSync(file, 'this is not a tar archive\n'.repeat(100));
    await refused(['load', '-i', file], /not a readable image archive/);
    await refused(['import', file], /not a readable tar archive/);
    await refused(['load', '-i', join(tmp.path, 'missing.tar')], /cannot open .*missing\.tar/);
  });

  it('refuses a truncated archive', async () => {
    const whole = readFileSync(join(tmp.path, 'base-docker.tar'));
    const cut = join(tmp.path, 'truncated.tar');
    writeFileSync(cut, whole.subarray(0, Math.floor(whole.length / 2)));
    await refused(['load', '-i', cut], /not a readable image archive: .*Truncated/);
    const cutGz = join(tmp.path, 'truncated.tar.gz');
    writeFileSync(cutGz, readFileSync(rootfsTarball).subarray(0, 20_000));
    await refused(['import', cutGz], /not a readable tar archive/);
  });

  it("refuses a docker-archive whose layer does not match the config's diff id", async () => {
    const archive = tampered('base-docker.tar', (dir) => {
      const layer = readdirSync(dir).find((n) => n.endsWith('.tar'))!;
      flipLastByte(join(dir, layer));
    });
    await refused(['load', '-i', archive], /does not match its digest/);
  });

  it('refuses an oci-archive blob that does not hash to its name', async () => {
    const archive = tampered('base-oci.tar', (dir) => {
      const blobs = join(dir, 'blobs', 'sha256');
      const layer = readdirSync(blobs).sort((a, b) => readFileSync(join(blobs, b)).length - readFileSync(join(blobs, a)).length)[0]!;
      flipLastByte(join(blobs, layer));
    });
    await refused(['load', '-i', archive], /does not match its digest/);
  });

  it('refuses an archive without an image manifest', async () => {
    const archive = tampered('base-docker.tar', (dir) => execFileSync('rm', [join(dir, 'manifest.json')]));
    await refused(['load', '-i', archive], /neither a docker-archive nor an oci-archive/);
  });
});
