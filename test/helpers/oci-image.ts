import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

/**
 * Fixture images written as an OCI image layout (the format `skopeo copy oci:DIR` reads),
 * with real gzipped tar layers and correct digests, then pushed to a test registry by
 * skopeo: an independent client, so nook's pull is tested against what others produce.
 */
export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly platform?: { os: string; architecture: string; variant?: string };
}

export interface Layer {
  readonly descriptor: Descriptor;
  /** sha256 of the uncompressed tar. */
  readonly diffId: string;
}

export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

const sha256 = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

export class OciLayout {
  readonly dir: string;
  private readonly refs: { descriptor: Descriptor; name: string }[] = [];

  constructor(dir: string) {
    this.dir = dir;
    mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
    writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  }

  blob(bytes: Uint8Array, mediaType: string): Descriptor {
    const digest = sha256(bytes);
    writeFileSync(join(this.dir, 'blobs', 'sha256', digest.slice(7)), bytes);
    return { mediaType, digest, size: bytes.length };
  }

  /** A gzipped layer of `dir`'s tree, deterministic (sorted, owners 0, mtime 0) so equal trees share a digest. */
  layer(dir: string): Layer {
    const tar = execFileSync('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '-C', dir, '-cf', '-', '.'], {
      maxBuffer: 256 * 1024 * 1024,
    });
    return this.tarLayer(tar);
  }

  /** A gzipped layer of an uncompressed tar made by the test (owners, whiteouts …). */
  tarLayer(tar: Buffer): Layer {
    return { descriptor: this.blob(gzipSync(tar), 'application/vnd.oci.image.layer.v1.tar+gzip'), diffId: sha256(tar) };
  }

  /** An image of the given layer dirs (bottom first): its manifest's descriptor, and its id (config digest). */
  image(layerDirs: readonly (string | Layer)[], platform: Platform, config: Record<string, unknown> = {}): { manifest: Descriptor; id: string; layers: Descriptor[] } {
    const layers = layerDirs.map((d) => (typeof d === 'string' ? this.layer(d) : d));
    const configDoc = {
      created: '2024-01-02T03:04:05Z',
      ...platform,
      config: { Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['/bin/sh'], ...config },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      history: layers.map(() => ({ created: '2024-01-02T03:04:05Z', created_by: 'nook test fixture' })),
    };
    const configDesc = this.blob(Buffer.from(JSON.stringify(configDoc)), 'application/vnd.oci.image.config.v1+json');
    const manifest = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: configDesc,
      layers: layers.map((l) => l.descriptor),
    };
    return {
      manifest: { ...this.blob(Buffer.from(JSON.stringify(manifest)), manifest.mediaType), platform },
      id: configDesc.digest.slice('sha256:'.length),
      layers: manifest.layers,
    };
  }

  /** An OCI index over manifests made by image(), each with its platform. */
  index(manifests: readonly Descriptor[]): Descriptor {
    const doc = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests };
    return this.blob(Buffer.from(JSON.stringify(doc)), doc.mediaType);
  }

  /** Names `descriptor` `name` in the layout's index.json, for `oci:DIR:name`. */
  ref(name: string, descriptor: Descriptor): void {
    this.refs.push({ descriptor, name });
    const manifests = this.refs.map((r) => ({
      mediaType: r.descriptor.mediaType,
      digest: r.descriptor.digest,
      size: r.descriptor.size,
      annotations: { 'org.opencontainers.image.ref.name': r.name },
    }));
    writeFileSync(join(this.dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests }));
  }

  /**
   * `skopeo copy` of `oci:DIR:ref` to `docker://DEST` over plain http, all platforms.
   * Asynchronous on purpose: a token server in this process must keep answering skopeo.
   */
  async push(ref: string, dest: string, creds?: { username: string; password: string }, home = join(this.dir, '..')): Promise<void> {
    const args = ['--insecure-policy', 'copy', '--quiet', '--all', '--dest-tls-verify=false'];
    if (creds) args.push('--dest-creds', `${creds.username}:${creds.password}`);
    await promisify(execFile)('skopeo', [...args, `oci:${this.dir}:${ref}`, `docker://${dest}`], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, XDG_RUNTIME_DIR: home, TMPDIR: home },
      timeout: 60_000,
    });
  }
}
