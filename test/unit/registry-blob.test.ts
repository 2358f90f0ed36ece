import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { AuthError, RegistryError } from '../../src/errors.js';
import { RegistryClient } from '../../src/image/registry.js';

/**
 * RegistryClient.getBlob speaks node:http itself (not fetch): its authentication, its
 * redirects and its error answers, against plain HTTP servers on loopback.
 */

const DIGEST = `sha256:${'a'.repeat(64)}` as const;
const BLOB_PATH = `/v2/lib/app/blobs/${DIGEST}`;
const CONTENT = Buffer.from('layer bytes\n'.repeat(1000));
const CREDENTIALS = { username: 'ann', password: 'secret' };
const BASIC = `Basic ${Buffer.from('ann:secret').toString('base64')}`;

type Handler = (path: string, headers: IncomingHttpHeaders) => { status: number; headers?: Record<string, string>; body?: Buffer | string };

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A server that records each request's path and headers; resolves to its host:port. */
async function serve(handler: Handler, seen: { path: string; headers: IncomingHttpHeaders }[] = []): Promise<string> {
  const server = createServer((req, res) => {
    seen.push({ path: req.url ?? '', headers: req.headers });
    const answer = handler(req.url ?? '', req.headers);
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('RegistryClient.getBlob', () => {
  it('answers a Basic challenge with the credentials and streams the blob', async () => {
    const seen: { path: string; headers: IncomingHttpHeaders }[] = [];
    const host = await serve(
      (_path, headers) => (headers.authorization === BASIC ? { status: 200, body: CONTENT } : { status: 401, headers: { 'www-authenticate': 'Basic realm="test"' } }),
      seen,
    );
    const client = new RegistryClient(host, { tlsVerify: false, credentials: CREDENTIALS });
    expect(await readAll(await client.getBlob('lib/app', DIGEST))).toEqual(CONTENT);
    expect(seen.map((r) => [r.path, r.headers.authorization])).toEqual([
      [BLOB_PATH, undefined],
      [BLOB_PATH, BASIC],
    ]);
  });

  it('follows a redirect to another origin without the registry credentials', async () => {
    const cdnSeen: { path: string; headers: IncomingHttpHeaders }[] = [];
    const cdn = await serve(() => ({ status: 200, body: CONTENT }), cdnSeen);
    const host = await serve((_path, headers) =>
      headers.authorization === BASIC ? { status: 307, headers: { location: `http://${cdn}/store/object?sig=1` } } : { status: 401, headers: { 'www-authenticate': 'Basic realm="test"' } },
    );
    const client = new RegistryClient(host, { tlsVerify: false, credentials: CREDENTIALS });
    expect(await readAll(await client.getBlob('lib/app', DIGEST))).toEqual(CONTENT);
    expect(cdnSeen.map((r) => [r.path, r.headers.authorization])).toEqual([['/store/object?sig=1', undefined]]);
  });

  it('keeps the credentials on a redirect within the registry', async () => {
    const seen: { path: string; headers: IncomingHttpHeaders }[] = [];
    const host = await serve((path, headers) => {
      if (headers.authorization !== BASIC) return { status: 401, headers: { 'www-authenticate': 'Basic realm="test"' } };
      return path === BLOB_PATH ? { status: 302, headers: { location: '/elsewhere/blob' } } : { status: 200, body: CONTENT };
    }, seen);
    const client = new RegistryClient(host, { tlsVerify: false, credentials: CREDENTIALS });
    expect(await readAll(await client.getBlob('lib/app', DIGEST))).toEqual(CONTENT);
    expect(seen.map((r) => [r.path, r.headers.authorization])).toEqual([
      [BLOB_PATH, undefined],
      [BLOB_PATH, BASIC],
      ['/elsewhere/blob', BASIC],
    ]);
  });

  it('stops after a bounded number of redirects', async () => {
    const seen: { path: string; headers: IncomingHttpHeaders }[] = [];
    const host = await serve(() => ({ status: 302, headers: { location: BLOB_PATH } }), seen);
    const client = new RegistryClient(host, { tlsVerify: false, credentials: undefined });
    await expect(client.getBlob('lib/app', DIGEST)).rejects.toThrow(new RegistryError(`blob ${DIGEST} of ${host}/lib/app: ${host} answered HTTP 302`));
    expect(seen).toHaveLength(6);
  });

  it('refuses credentials the registry rejects twice', async () => {
    const host = await serve(() => ({ status: 401, headers: { 'www-authenticate': 'Basic realm="test"' } }));
    const client = new RegistryClient(host, { tlsVerify: false, credentials: CREDENTIALS });
    await expect(client.getBlob('lib/app', DIGEST)).rejects.toBeInstanceOf(AuthError);
  });

  it("reports the registry's error answer", async () => {
    const body = JSON.stringify({ errors: [{ code: 'BLOB_UNKNOWN', message: 'blob unknown to registry' }] });
    const host = await serve(() => ({ status: 404, headers: { 'content-type': 'application/json' }, body }));
    const client = new RegistryClient(host, { tlsVerify: false, credentials: undefined });
    await expect(client.getBlob('lib/app', DIGEST)).rejects.toThrow(`blob ${DIGEST} of ${host}/lib/app: not found in the registry (BLOB_UNKNOWN: blob unknown to registry)`);
  });

  it('reports a registry that does not answer', async () => {
    const host = await serve(() => ({ status: 200 }));
    await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
    const client = new RegistryClient(host, { tlsVerify: false, credentials: undefined });
    await expect(client.getBlob('lib/app', DIGEST)).rejects.toThrow(`cannot reach registry ${host}: ECONNREFUSED`);
  });
});
