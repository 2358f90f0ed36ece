import { isIP } from 'node:net';
import { UsageError } from '../../errors.js';

/** One --allow-host: a host name (`*.example.com` for its subdomains) or an IP, and a port. */
export interface AllowRule {
  /** Lowercase; an IPv6 address without brackets; `*.` prefix for a domain's subdomains. */
  readonly host: string;
  /** null: the web's ports, 80 and 443. */
  readonly port: number | null;
}

const DEFAULT_PORTS: readonly number[] = [80, 443];
const HOST_NAME = /^(\*\.)?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/;

function parsePort(text: string, given: string): number {
  const port = Number(text);
  if (!/^[0-9]{1,5}$/.test(text) || port < 1 || port > 65535) {
    throw new UsageError(`invalid port in --allow-host ${given}`, 'give HOST or HOST:PORT with a port from 1 to 65535');
  }
  return port;
}

/** `example.com`, `*.example.com:8443`, `127.0.0.1:8080`, `[::1]:8080`. */
export function parseAllowRule(given: string): AllowRule {
  const bracketed = /^\[([0-9a-fA-F:.]+)\](?::([^:]*))?$/.exec(given);
  let host: string;
  let port: string | undefined;
  if (bracketed) {
    [, host = '', port] = bracketed;
  } else if (isIP(given) === 6) {
    host = given;
  } else {
    const colon = given.lastIndexOf(':');
    host = colon < 0 ? given : given.slice(0, colon);
    port = colon < 0 ? undefined : given.slice(colon + 1);
  }
  host = host.toLowerCase();
  if (isIP(host) === 0 && !HOST_NAME.test(host)) {
    throw new UsageError(`invalid host in --allow-host ${given}`, 'give a host name (*.example.com for its subdomains), an IPv4 address or [an IPv6 address]');
  }
  return { host, port: port === undefined ? null : parsePort(port, given) };
}

function hostMatches(rule: string, host: string): boolean {
  if (rule.startsWith('*.')) return host.endsWith(rule.slice(1)) && host.length > rule.length - 1;
  return rule === host;
}

/** Whether a connection to host:port (as the proxy was asked for it) is allowed. */
export function isAllowed(rules: readonly AllowRule[], host: string, port: number): boolean {
  const name = host.toLowerCase().replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
  return rules.some((rule) => hostMatches(rule.host, name) && (rule.port === null ? DEFAULT_PORTS.includes(port) : rule.port === port));
}

/** A rule as the user wrote it, for messages and --explain. */
export function describeRule(rule: AllowRule): string {
  const host = isIP(rule.host) === 6 ? `[${rule.host}]` : rule.host;
  return rule.port === null ? `${host}:80,443` : `${host}:${rule.port}`;
}
