import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { AuthError, DigestMismatchError, RegistryError } from '../errors.js';
import type { Digest } from '../store/digest.js';
import { parseChallenges, type Challenge } from './auth-challenge.js';
import type { Credentials } from './credentials.js';
import { MANIFEST_ACCEPT } from './manifest.js';
import { registryApiHost } from './reference.js';

export interface RegistryOptions {
  /** false: the registry speaks plain http (podman's --tls-verify=false on a local registry). */
  readonly tlsVerify: boolean;
  readonly credentials: Credentials | undefined;
}

export interface FetchedManifest {
  readonly bytes: Uint8Array;
  readonly contentType: string | null;
  readonly digest: Digest;
}

/** Manifests are small; a registry sending more is broken or hostile. */
const MANIFEST_LIMIT = 4 * 1024 * 1024;
/** Requests other than blob downloads, whose length is not bounded by time. */
const REQUEST_TIMEOUT_MS = 60_000;

/**
 * A client for one registry's v2 API (distribution spec) on Node's fetch. Authentication is
 * negotiated the way registries ask for it: a request answered 401 carries a
 * WWW-Authenticate challenge; for Bearer the client gets a token from the named realm
 * (anonymously, or with the user's credentials as Basic auth) and retries; for Basic it
 * retries with the credentials. Tokens are cached per scope for the client's lifetime.
 */
export class RegistryClient {
  readonly registry: string;
  private readonly base: string;
  private readonly credentials: Credentials | undefined;
  private readonly authorization = new Map<string, string>();
  private readonly tlsVerify: boolean;

  constructor(registry: string, options: RegistryOptions) {
    this.registry = registry;
    this.tlsVerify = options.tlsVerify;
    this.base = `${options.tlsVerify ? 'https' : 'http'}://${registryApiHost(registry)}`;
    this.credentials = options.credentials;
  }

  /** GET a manifest by tag or digest, verifying it against the digest when one was asked for. */
  async getManifest(repository: string, reference: string): Promise<FetchedManifest> {
    const what = `manifest ${this.registry}/${repository}:${reference}`.replace(/:(sha256:)/, '@$1');
    const res = await this.request(`/v2/${repository}/manifests/${reference}`, { accept: MANIFEST_ACCEPT, scope: pullScope(repository), what });
    const bytes = await readLimited(res, MANIFEST_LIMIT, what);
    const digest: Digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (reference.startsWith('sha256:') && digest !== reference) {
      throw new DigestMismatchError(`${what} does not match its digest: it hashes to ${digest}`, 'the registry serves corrupt data; nothing was stored');
    }
    return { bytes, contentType: res.headers.get('content-type'), digest };
  }

  /** GET a blob as a stream; the caller verifies it while storing (BlobStore.write). */
  async getBlob(repository: string, digest: Digest): Promise<Readable> {
    const what = `blob ${digest} of ${this.registry}/${repository}`;
    const res = await this.request(`/v2/${repository}/blobs/${digest}`, { accept: '*/*', scope: pullScope(repository), what, streaming: true });
    if (res.body === null) throw new RegistryError(`${what}: the registry sent no body`);
    return Readable.fromWeb(res.body as WebReadableStream<Uint8Array>);
  }

  /** Proves the credentials are accepted: `GET /v2/` negotiated with them, as podman login does. */
  async checkLogin(): Promise<void> {
    await this.request('/v2/', { accept: 'application/json', scope: undefined, what: `registry ${this.registry}` });
  }

  private async request(
    path: string,
    req: { accept: string; scope: string | undefined; what: string; streaming?: boolean },
  ): Promise<Response> {
    const key = req.scope ?? '';
    let res = await this.send(this.base + path, req.accept, this.authorization.get(key), req.streaming === true);
    if (res.status === 401) {
      await res.body?.cancel();
      const header = await this.authorize(res.headers.get('www-authenticate'), req.scope);
      this.authorization.set(key, header);
      res = await this.send(this.base + path, req.accept, header, req.streaming === true);
      if (res.status === 401) {
        await res.body?.cancel();
        throw this.refused();
      }
    }
    if (!res.ok) throw await responseError(res, req.what, this.registry);
    return res;
  }

  private async send(url: string, accept: string, authorization: string | undefined, streaming: boolean): Promise<Response> {
    const headers: Record<string, string> = { accept, 'user-agent': 'nook/0.1' };
    if (authorization !== undefined) headers.authorization = authorization;
    try {
      return await fetch(url, { headers, ...(streaming ? {} : { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) }) });
    } catch (err) {
      throw this.unreachable(err);
    }
  }

  /** The Authorization header that answers a 401's challenge. */
  private async authorize(header: string | null, scope: string | undefined): Promise<string> {
    const challenges = parseChallenges(header ?? '');
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    if (bearer !== undefined) return `Bearer ${await this.fetchToken(bearer, scope)}`;
    if (challenges.some((c) => c.scheme === 'basic')) {
      if (this.credentials === undefined) throw this.refused();
      return basicHeader(this.credentials);
    }
    throw new RegistryError(`${this.registry} asks for an authentication scheme nook does not support: ${header ?? '(none given)'}`, 'nook supports Bearer tokens and Basic auth');
  }

  private async fetchToken(challenge: Challenge, scope: string | undefined): Promise<string> {
    const realm = challenge.params.realm;
    if (realm === undefined) throw new RegistryError(`${this.registry} sent a Bearer challenge without a realm`);
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new RegistryError(`${this.registry} sent a Bearer challenge with an invalid realm "${realm}"`);
    }
    if (challenge.params.service !== undefined) url.searchParams.set('service', challenge.params.service);
    const wanted = scope ?? challenge.params.scope;
    if (wanted !== undefined) url.searchParams.set('scope', wanted);
    if (this.credentials !== undefined) url.searchParams.set('account', this.credentials.username);
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'nook/0.1' };
    if (this.credentials !== undefined) headers.authorization = basicHeader(this.credentials);
    let res: Response;
    try {
      res = await fetch(url, { headers, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    } catch (err) {
      throw this.unreachable(err, url.host);
    }
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel();
      throw this.refused();
    }
    if (!res.ok) throw await responseError(res, `token for ${this.registry}`, this.registry);
    const body = (await res.json().catch(() => ({}))) as { token?: unknown; access_token?: unknown };
    const token = typeof body.token === 'string' ? body.token : body.access_token;
    if (typeof token !== 'string' || token === '') throw new RegistryError(`the token server of ${this.registry} (${url.host}) sent no token`);
    return token;
  }

  private refused(): AuthError {
    if (this.credentials === undefined) {
      return new AuthError(`${this.registry} requires authentication`, `log in first: nook login ${this.registry}`);
    }
    return new AuthError(
      `${this.registry} refused the credentials of "${this.credentials.username}": invalid username or password, or no access`,
      `check them and run: nook login ${this.registry}`,
    );
  }

  private unreachable(err: unknown, host = registryApiHost(this.registry)): RegistryError {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const detail = cause?.code ?? cause?.message ?? (err as Error).message;
    const tlsLike = this.tlsVerify && /SSL|TLS|EPROTO|CERT|ECONNRESET|wrong version/i.test(`${cause?.code} ${cause?.message}`);
    return new RegistryError(
      `cannot reach registry ${host}: ${detail}`,
      tlsLike ? 'if it is a local registry serving plain http, add --tls-verify=false' : 'check the registry address and that it is running',
    );
  }
}

function pullScope(repository: string): string {
  return `repository:${repository}:pull`;
}

function basicHeader(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}

async function readLimited(res: Response, limit: number, what: string): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of res.body as WebReadableStream<Uint8Array>) {
    total += chunk.length;
    if (total > limit) throw new RegistryError(`${what} is larger than ${limit} bytes`, 'the registry serves something that is not a manifest');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** A registry's error response ({"errors":[{"code","message"}]}) as one NookError. */
async function responseError(res: Response, what: string, registry: string): Promise<RegistryError> {
  const text = await res.text().catch(() => '');
  let detail = '';
  try {
    const errors = (JSON.parse(text) as { errors?: { code?: string; message?: string }[] }).errors ?? [];
    detail = errors.map((e) => [e.code, e.message].filter(Boolean).join(': ')).join('; ');
  } catch {
    detail = text.slice(0, 200).trim();
  }
  const suffix = detail ? ` (${detail})` : '';
  if (res.status === 404) return new RegistryError(`${what}: not found in the registry${suffix}`, 'check the image name and tag');
  if (res.status === 403) return new RegistryError(`${what}: access denied by ${registry}${suffix}`, `you may need to log in: nook login ${registry}`);
  if (res.status === 429) return new RegistryError(`${what}: ${registry} is rate limiting requests${suffix}`, 'wait, or log in to get a higher limit');
  return new RegistryError(`${what}: ${registry} answered HTTP ${res.status}${suffix}`);
}
