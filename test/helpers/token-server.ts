import { execFileSync } from 'node:child_process';
import { randomBytes, sign, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { Login } from './registry.js';

/**
 * A Docker-style token server for a test registry in `auth: token` mode: the registry
 * answers 401 with `Bearer realm=…`, the client asks this server for a JWT, and the
 * registry verifies the JWT's signature against our certificate. Repositories under
 * `public/` may be pulled anonymously; everything else needs `login`.
 */
export interface TokenServer {
  readonly realm: string;
  readonly service: string;
  readonly issuer: string;
  /** The certificate the registry trusts (its `rootcertbundle`). */
  readonly certPath: string;
  stop(): Promise<void>;
}

const b64url = (data: string | Buffer) => Buffer.from(data).toString('base64url');

function grant(scope: string | null, user: string | undefined): { type: string; name: string; actions: string[] }[] {
  if (scope === null) return [];
  const [type, name, actions] = [scope.split(':')[0]!, scope.split(':').slice(1, -1).join(':'), scope.split(':').at(-1)!.split(',')];
  if (type !== 'repository') return [];
  const allowed = user !== undefined ? actions : name.startsWith('public/') ? actions.filter((a) => a === 'pull') : [];
  return [{ type, name, actions: allowed }];
}

export async function startTokenServer(dir: string, login: Login): Promise<TokenServer> {
  const keyPath = join(dir, 'token-key.pem');
  const certPath = join(dir, 'token-cert.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=nook test token issuer', '-keyout', keyPath, '-out', certPath],
    { stdio: 'ignore' },
  );
  const key = readFileSync(keyPath);
  const certDer = new X509Certificate(readFileSync(certPath)).raw;
  const issuer = 'nook-test-issuer';
  const service = 'nook-test-registry';

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    let user: string | undefined;
    const auth = req.headers.authorization;
    if (auth !== undefined) {
      const [u, ...p] = Buffer.from(auth.replace(/^Basic /, ''), 'base64').toString().split(':');
      if (u !== login.username || p.join(':') !== login.password) {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"incorrect username or password"}');
        return;
      }
      user = u;
    }
    const now = Math.floor(Date.now() / 1000);
    const header = b64url(JSON.stringify({ alg: 'ES256', typ: 'JWT', x5c: [certDer.toString('base64')] }));
    const claims = b64url(
      JSON.stringify({
        iss: issuer,
        sub: user ?? '',
        aud: url.searchParams.get('service') ?? service,
        exp: now + 300,
        nbf: now - 10,
        iat: now,
        jti: randomBytes(8).toString('hex'),
        access: grant(url.searchParams.get('scope'), user),
      }),
    );
    const signature = sign('sha256', Buffer.from(`${header}.${claims}`), { key, dsaEncoding: 'ieee-p1363' });
    const token = `${header}.${claims}.${b64url(signature)}`;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, access_token: token, expires_in: 300 }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('token server has no address');
  return {
    realm: `http://127.0.0.1:${address.port}/token`,
    service,
    issuer,
    certPath,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
