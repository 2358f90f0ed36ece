import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

/**
 * A real registry for the tests: Debian's `docker-registry` (the CNCF distribution
 * registry) on 127.0.0.1, plain http, storage in a temp dir, run as the test user.
 */
export interface TestRegistry {
  /** `127.0.0.1:PORT`, the registry part of image names. */
  readonly host: string;
  readonly storage: string;
  /** The file the registry serves a blob from: tests corrupt it to see digests checked. */
  blobDataPath(digest: string): string;
  stop(): Promise<void>;
}

export interface Login {
  readonly username: string;
  readonly password: string;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * An htpasswd line with a bcrypt hash (the only kind the registry accepts). perl's crypt()
 * is the C library's, and Debian's libxcrypt does bcrypt ($2b$): no extra package needed.
 */
function htpasswdLine({ username, password }: Login): string {
  const hash = execFileSync('perl', ['-e', 'print crypt($ARGV[0], q($2b$05$) . $ARGV[1])', password, 'nooktestsaltnooktestsu'], { encoding: 'utf8' });
  if (!hash.startsWith('$2b$05$')) throw new Error(`this libc's crypt() cannot make bcrypt hashes (got "${hash}")`);
  return `${username}:${hash}\n`;
}

export interface RegistryAuth {
  /** htpasswd (Basic) authentication with this one user. */
  readonly basicAuth?: Login;
  /** Bearer tokens from a token server (see token-server.ts). */
  readonly tokenAuth?: { readonly realm: string; readonly service: string; readonly issuer: string; readonly certPath: string };
}

export async function startRegistry(dir: string, options: RegistryAuth = {}): Promise<TestRegistry> {
  const storage = join(dir, 'storage');
  mkdirSync(storage, { recursive: true });
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  let auth = '';
  if (options.basicAuth) {
    writeFileSync(join(dir, 'htpasswd'), htpasswdLine(options.basicAuth));
    auth = `auth:\n  htpasswd:\n    realm: nook-test\n    path: ${join(dir, 'htpasswd')}\n`;
  } else if (options.tokenAuth) {
    const t = options.tokenAuth;
    auth = `auth:\n  token:\n    realm: ${t.realm}\n    service: ${t.service}\n    issuer: ${t.issuer}\n    rootcertbundle: ${t.certPath}\n`;
  }
  const config = join(dir, 'config.yml');
  writeFileSync(
    config,
    `version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${storage}\n  delete:\n    enabled: true\nhttp:\n  addr: ${host}\n${auth}`,
  );
  const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  let exited = false;
  const exit = new Promise<void>((resolve) => child.on('exit', () => ((exited = true), resolve())));
  child.on('error', (err) => (stderr += `\n${err.message}: is the docker-registry package installed (.ci/run installs it)?`));

  const deadline = Date.now() + 15_000;
  for (;;) {
    if (exited) throw new Error(`docker-registry exited at start:\n${stderr}`);
    const status = await fetch(`http://${host}/v2/`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200 || status === 401) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`docker-registry did not answer on ${host}:\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  return {
    host,
    storage,
    blobDataPath: (digest) => {
      const hex = digest.replace(/^sha256:/, '');
      return join(storage, 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
    },
    stop: async () => {
      if (!exited) child.kill('SIGTERM');
      await exit;
    },
  };
}
