// A registry on loopback for the pull section, as the tests start one (test/helpers/
// registry.ts): Debian's `docker-registry` on 127.0.0.1, a free port, plain http, storage in
// the bench's temp dir, run as the bench's user and stopped at the end. The fixture is
// pushed into it by `skopeo copy`, an independent client.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { capture } from './spawn.mjs';
import { findOnPath } from './peers.mjs';

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts the registry in `dir`; resolves to { host, stop } or { skipped } when it is not
 * installed or does not come up (the pull section is then skipped with that note).
 */
export async function startRegistry(dir, env) {
  const bin = findOnPath('docker-registry', env.PATH);
  if (!bin) return { skipped: 'docker-registry is not installed (Debian: apt-get install docker-registry)' };
  const storage = join(dir, 'storage');
  mkdirSync(storage, { recursive: true });
  const host = `127.0.0.1:${await freePort()}`;
  const config = join(dir, 'config.yml');
  writeFileSync(
    config,
    `version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${storage}\nhttp:\n  addr: ${host}\n`,
  );
  const child = spawn(bin, ['serve', config], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  let exited = false;
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  const exit = new Promise((resolve) => child.on('close', () => ((exited = true), resolve())));
  child.on('error', (err) => (stderr += `\n${err.message}`));
  const stop = async () => {
    if (!exited) child.kill('SIGTERM');
    await exit;
  };

  const deadline = Date.now() + 15_000;
  for (;;) {
    if (exited) return { skipped: `docker-registry exited at start: ${stderr.trim().split('\n').pop()}` };
    const status = await fetch(`http://${host}/v2/`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) break;
    if (Date.now() > deadline) {
      await stop();
      return { skipped: `docker-registry did not answer on ${host}` };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const version = capture(bin, ['--version'], env);
  // "/usr/bin/docker-registry github.com/docker/distribution 2.8.2+ds1" → the last word.
  const words = (version.out || version.err).split('\n')[0].trim().split(' ');
  return { host, stop, version: `distribution ${words.at(-1)}` };
}

/** `skopeo copy oci:LAYOUT:TAG docker://HOST/REPO:TAG`; returns null or why it failed. */
export function pushWithSkopeo(layout, tag, dest, env) {
  const skopeo = findOnPath('skopeo', env.PATH);
  if (!skopeo) return 'skopeo is not installed (Debian: apt-get install skopeo)';
  const pushed = capture(skopeo, ['--insecure-policy', 'copy', '--quiet', '--dest-tls-verify=false', `oci:${layout}:${tag}`, `docker://${dest}`], env);
  return pushed.ok ? null : `skopeo copy failed: ${pushed.err}`;
}

export function skopeoVersion(env) {
  const skopeo = findOnPath('skopeo', env.PATH);
  return skopeo ? capture(skopeo, ['--version'], env).out.split('\n')[0].trim() : 'missing';
}
