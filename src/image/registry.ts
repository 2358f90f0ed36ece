import { createHash } from 'node:crypto';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { Readable } from 'node:stream';
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

interface RequestSpec {
  readonly method?: 'GET' | 'HEAD' | 'POST' | 'PUT';
  readonly accept: string;
  readonly scope: string | undefined;
  /** Names the request in errors. */
  readonly what: string;
  /** No time limit: the body is a blob of any size. */
  readonly streaming?: boolean;
  /** A 404 is an answer (HEAD of a blob the registry lacks), not an error. */
  readonly missingOk?: boolean;
  /** Made anew for each attempt: a stream cannot be sent twice. */
  readonly body?: () => { body: Uint8Array | ReadableStream<Uint8Array>; contentType: string };
}

/** Manifests are small; a registry sending more is broken or hostile. */
const MANIFEST_LIMIT = 4 * 1024 * 1024;
/** A token answer is a small JSON object. */
const TOKEN_LIMIT = 1024 * 1024;
/** Requests other than blob downloads, whose length is not bounded by time. */
const REQUEST_TIMEOUT_MS = 60_000;
/** Redirects a blob download follows: registries hand blobs over to a CDN or an object store. */
const MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Of an error response's body, what goes into the message. */
const ERROR_BODY_LIMIT = 64 * 1024;

/**
 * A client for one registry's v2 API (distribution spec): what a pull GETs over node:http(s)
 * (see get()), the rest (push, login) on Node's fetch. Authentication is negotiated the way
 * registries ask for it: a request answered 401 carries a WWW-Authenticate challenge; for
 * Bearer the client gets a token from the named realm (anonymously, or with the user's
 * credentials as Basic auth) and retries; for Basic it retries with the credentials. Tokens
 * are cached per scope for the client's lifetime.
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
    const res = await this.get(`/v2/${repository}/manifests/${reference}`, { accept: MANIFEST_ACCEPT, scope: pullScope(repository), what, timeoutMs: REQUEST_TIMEOUT_MS });
    const bytes = await readLimited(res, MANIFEST_LIMIT, what);
    const digest: Digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (reference.startsWith('sha256:') && digest !== reference) {
      throw new DigestMismatchError(`${what} does not match its digest: it hashes to ${digest}`, 'the registry serves corrupt data; nothing was stored');
    }
    return { bytes, contentType: res.headers['content-type'] ?? null, digest };
  }

  /** GET a blob as a stream; the caller verifies it while storing (BlobStore.write). */
  async getBlob(repository: string, digest: Digest): Promise<Readable> {
    return this.get(`/v2/${repository}/blobs/${digest}`, { accept: '*/*', scope: pullScope(repository), what: `blob ${digest} of ${this.registry}/${repository}` });
  }

  /** Proves the credentials are accepted: `GET /v2/` negotiated with them, as podman login does. */
  async checkLogin(): Promise<void> {
    await this.request('/v2/', { accept: 'application/json', scope: undefined, what: `registry ${this.registry}` });
  }

  /**
   * Whether the registry has a blob (HEAD), so push can skip it. Asked with push rights:
   * the token then also covers the upload that follows.
   */
  async hasBlob(repository: string, digest: Digest): Promise<boolean> {
    const what = `blob ${digest} of ${this.registry}/${repository}`;
    const res = await this.request(`/v2/${repository}/blobs/${digest}`, { method: 'HEAD', accept: '*/*', scope: pushScope(repository), what, missingOk: true });
    return res.status !== 404;
  }

  /**
   * Uploads a blob monolithically: POST opens an upload session, one PUT with the digest
   * sends the content and closes it; the registry verifies the digest. `body` is called
   * again if the PUT must be retried after an authentication challenge.
   */
  async uploadBlob(repository: string, digest: Digest, body: () => Readable): Promise<void> {
    const what = `upload of blob ${digest} to ${this.registry}/${repository}`;
    const scope = pushScope(repository);
    const started = await this.request(`/v2/${repository}/blobs/uploads/`, { method: 'POST', accept: '*/*', scope, what });
    await started.body?.cancel();
    const location = started.headers.get('location');
    if (location === null) throw new RegistryError(`${what}: the registry did not say where to upload (no Location header)`);
    const url = new URL(location, this.base);
    url.searchParams.set('digest', digest);
    const done = await this.request(url.toString(), {
      method: 'PUT',
      accept: '*/*',
      scope,
      what,
      streaming: true,
      body: () => ({ body: Readable.toWeb(body()) as ReadableStream<Uint8Array>, contentType: 'application/octet-stream' }),
    });
    await done.body?.cancel();
  }

  /** PUTs a manifest under a tag or its digest, and checks the registry kept it byte for byte. */
  async putManifest(repository: string, reference: string, bytes: Uint8Array, mediaType: string): Promise<void> {
    const what = `manifest ${this.registry}/${repository}:${reference}`.replace(/:(sha256:)/, '@$1');
    const res = await this.request(`/v2/${repository}/manifests/${reference}`, {
      method: 'PUT',
      accept: '*/*',
      scope: pushScope(repository),
      what,
      body: () => ({ body: bytes, contentType: mediaType }),
    });
    await res.body?.cancel();
    const digest: Digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    const stored = res.headers.get('docker-content-digest');
    if (stored !== null && stored !== digest) throw new RegistryError(`${what}: the registry stored the manifest as ${stored}, not ${digest}`, 'the registry changed the manifest; check what it holds');
  }

  /**
   * GET `path` of the registry, answering an authentication challenge as request() does;
   * resolves to a 200's response, whose body the caller reads. Pulls GET over node:http(s)
   * rather than fetch: only receiving a 70 MB layer took fetch ~0.35 s of CPU, node:http
   * less than that while also hashing it, writing it and piping it to a process, on a pull
   * that competes for the CPU with its own extractor; and loading fetch (undici) costs the
   * first request ~45 ms.
   */
  private async get(path: string, spec: { accept: string; scope: string; what: string; timeoutMs?: number }): Promise<IncomingMessage> {
    const url = new URL(path, this.base);
    let res = await this.getFollowing(url, spec.accept, this.authorization.get(spec.scope), spec.timeoutMs);
    if (res.statusCode === 401) {
      res.resume();
      const authorization = await this.authorize(res.headers['www-authenticate'] ?? null, spec.scope);
      this.authorization.set(spec.scope, authorization);
      res = await this.getFollowing(url, spec.accept, authorization, spec.timeoutMs);
      if (res.statusCode === 401) {
        res.resume();
        throw this.refused();
      }
    }
    if (res.statusCode !== 200) throw statusError(res.statusCode ?? 0, await bodyStart(res), spec.what, this.registry);
    return res;
  }

  /**
   * GET `url`, following redirects (registries hand blobs over to a CDN or an object
   * store). `authorization` is the registry's: it is not sent on once a redirect leaves
   * `url`'s origin, as fetch does.
   */
  private async getFollowing(url: URL, accept: string, authorization: string | undefined, timeoutMs: number | undefined): Promise<IncomingMessage> {
    const origin = url.origin;
    for (let redirects = 0; ; redirects++) {
      const res = await this.getOnce(url, accept, authorization, timeoutMs);
      const location = res.headers.location;
      if (!REDIRECT_STATUSES.has(res.statusCode ?? 0) || location === undefined || redirects === MAX_REDIRECTS) return res;
      res.resume();
      url = new URL(location, url);
      if (url.origin !== origin) authorization = undefined;
    }
  }

  private getOnce(url: URL, accept: string, authorization: string | undefined, timeoutMs: number | undefined): Promise<IncomingMessage> {
    const headers: Record<string, string> = { accept, 'user-agent': 'nook/0.1' };
    if (authorization !== undefined) headers.authorization = authorization;
    const get = url.protocol === 'https:' ? httpsGet : httpGet;
    return new Promise((resolve, reject) => {
      const req = get(url, { headers }, resolve);
      req.on('error', (err) => reject(this.unreachable({ cause: err }, url.host)));
      if (timeoutMs !== undefined) req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error(`no answer in ${timeoutMs / 1000} s`), { code: 'ETIMEDOUT' })));
    });
  }

  /** `path` is a path on the registry, or a full URL it gave (an upload Location). */
  private async request(path: string, req: RequestSpec): Promise<Response> {
    const key = req.scope ?? '';
    const url = new URL(path, this.base).toString();
    let res = await this.send(url, req, this.authorization.get(key));
    if (res.status === 401) {
      await res.body?.cancel();
      const header = await this.authorize(res.headers.get('www-authenticate'), req.scope);
      this.authorization.set(key, header);
      res = await this.send(url, req, header);
      if (res.status === 401) {
        await res.body?.cancel();
        throw this.refused();
      }
    }
    if (req.missingOk === true && res.status === 404) return res;
    if (!res.ok) throw await responseError(res, req.what, this.registry);
    return res;
  }

  private async send(url: string, req: RequestSpec, authorization: string | undefined): Promise<Response> {
    const headers: Record<string, string> = { accept: req.accept, 'user-agent': 'nook/0.1' };
    if (authorization !== undefined) headers.authorization = authorization;
    const init: RequestInit & { duplex?: 'half' } = { method: req.method ?? 'GET', headers };
    const content = req.body?.();
    if (content !== undefined) {
      headers['content-type'] = content.contentType;
      init.body = content.body;
      if (content.body instanceof ReadableStream) init.duplex = 'half';
    }
    if (req.streaming !== true) init.signal = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
    try {
      return await fetch(url, init);
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
    const authorization = this.credentials === undefined ? undefined : basicHeader(this.credentials);
    const res = await this.getFollowing(url, 'application/json', authorization, REQUEST_TIMEOUT_MS);
    const status = res.statusCode ?? 0;
    if (status === 401 || status === 403) {
      res.resume();
      throw this.refused();
    }
    if (status < 200 || status > 299) throw statusError(status, await bodyStart(res), `token for ${this.registry}`, this.registry);
    const body = parseJson(Buffer.from(await readLimited(res, TOKEN_LIMIT, `token for ${this.registry}`)).toString('utf8')) as { token?: unknown; access_token?: unknown };
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

function pushScope(repository: string): string {
  return `repository:${repository}:pull,push`;
}

function basicHeader(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}

/** The JSON in `text`, or an empty object: the caller checks the fields it needs. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return {};
  }
}

async function readLimited(body: AsyncIterable<Uint8Array>, limit: number, what: string): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.length;
    if (total > limit) throw new RegistryError(`${what} is larger than ${limit} bytes`, 'the registry serves something that is not a manifest');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** The start of an error response's body, as text. */
async function bodyStart(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      if (total < ERROR_BODY_LIMIT) chunks.push(chunk);
      total += chunk.length;
    }
  } catch {
    // The status says enough.
  }
  return Buffer.concat(chunks).subarray(0, ERROR_BODY_LIMIT).toString('utf8');
}

/** A registry's error response ({"errors":[{"code","message"}]}) as one NookError. */
async function responseError(res: Response, what: string, registry: string): Promise<RegistryError> {
  return statusError(res.status, await res.text().catch(() => ''), what, registry);
}

function statusError(status: number, text: string, what: string, registry: string): RegistryError {
  let detail = '';
  try {
    const errors = (JSON.parse(text) as { errors?: { code?: string; message?: string }[] }).errors ?? [];
    detail = errors.map((e) => [e.code, e.message].filter(Boolean).join(': ')).join('; ');
  } catch {
    detail = text.slice(0, 200).trim();
  }
  const suffix = detail ? ` (${detail})` : '';
  if (status === 404) return new RegistryError(`${what}: not found in the registry${suffix}`, 'check the image name and tag');
  if (status === 403) return new RegistryError(`${what}: access denied by ${registry}${suffix}`, `you may need to log in: nook login ${registry}`);
  if (status === 429) return new RegistryError(`${what}: ${registry} is rate limiting requests${suffix}`, 'wait, or log in to get a higher limit');
  return new RegistryError(`${what}: ${registry} answered HTTP ${status}${suffix}`);
}
