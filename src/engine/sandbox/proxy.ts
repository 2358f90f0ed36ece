import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { isAllowed, type AllowRule } from './allow.js';

/**
 * The sandbox's filtering proxy: it runs in nook's own process, outside the sandbox, on a
 * Unix socket that the sandbox sees (through nook-forward, as its own 127.0.0.1:PORT). It
 * speaks HTTP CONNECT (HTTPS and anything tunnelled) and plain HTTP forwarding, and opens a
 * connection only to a host:port the rules allow; everything else gets 403 and is reported.
 */
export interface FilteringProxy {
  /** Stops listening and cuts every connection still open. */
  close(): Promise<void>;
}

/** Hop-by-hop headers (RFC 9110 7.6.1) and the proxy's own: never passed on. */
const HOP_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'proxy-authenticate', 'te', 'trailer', 'upgrade']);

function forwardedHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_HEADERS.has(name)));
}

/** "host:port" or "[v6]:port", as a CONNECT request names its target. */
function parseAuthority(authority: string): { host: string; port: number } | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):([0-9]{1,5})$/.exec(authority);
  if (!m) return null;
  const port = Number(m[3]);
  return port >= 1 && port <= 65535 ? { host: (m[1] ?? m[2])!, port } : null;
}

const display = (host: string, port: number): string => `${host.includes(':') ? `[${host}]` : host}:${port}`;

export function startFilteringProxy(socketPath: string, rules: readonly AllowRule[], onRefused: (target: string) => void): Promise<FilteringProxy> {
  const open = new Set<Duplex>();
  const track = (stream: Duplex): void => {
    open.add(stream);
    stream.once('close', () => open.delete(stream));
  };
  const refusedOnce = new Set<string>();
  const refuse = (target: string): void => {
    if (refusedOnce.has(target)) return;
    refusedOnce.add(target);
    onRefused(target);
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '');
    } catch {
      url = new URL('invalid:');
    }
    if (url.protocol !== 'http:') {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('nook sandbox proxy: only absolute http:// URLs and CONNECT\n');
      return;
    }
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const port = url.port === '' ? 80 : Number(url.port);
    if (!isAllowed(rules, host, port)) {
      refuse(display(host, port));
      res.writeHead(403, { 'content-type': 'text/plain' }).end(`nook sandbox: ${display(host, port)} is not an allowed host (--allow-host)\n`);
      return;
    }
    const upstream = request({ host, port, method: req.method, path: `${url.pathname}${url.search}`, headers: forwardedHeaders(req.headers), setHost: false }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, forwardedHeaders(answer.headers));
      answer.pipe(res);
    });
    // A client gone (the sandbox ended) takes its upstream request with it: nook must not
    // wait for a download nobody reads.
    res.once('close', () => upstream.destroy());
    upstream.on('error', (err) => {
      if (res.headersSent) res.destroy();
      else res.writeHead(502, { 'content-type': 'text/plain' }).end(`nook sandbox proxy: ${display(host, port)}: ${err.message}\n`);
    });
    req.pipe(upstream);
  });

  server.on('connect', (req: IncomingMessage, client: Duplex, head: Buffer) => {
    track(client);
    client.on('error', () => client.destroy());
    const target = parseAuthority(req.url ?? '');
    if (target === null) {
      client.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      return;
    }
    if (!isAllowed(rules, target.host, target.port)) {
      refuse(display(target.host, target.port));
      client.end(`HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\nnook sandbox: ${display(target.host, target.port)} is not an allowed host (--allow-host)\n`);
      return;
    }
    const upstream: Socket = connect({ host: target.host, port: target.port });
    track(upstream);
    let established = false;
    upstream.once('connect', () => {
      established = true;
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', (err) => {
      if (!established) client.end(`HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\n\r\n${err.message}\n`);
      else client.destroy();
    });
    client.once('close', () => upstream.destroy());
  });
  server.on('connection', track);

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve({
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            for (const stream of open) stream.destroy();
          }),
      });
    });
  });
}
