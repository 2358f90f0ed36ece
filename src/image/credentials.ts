import { mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { AuthError } from '../errors.js';
import { writeFileAtomic } from '../store/atomic.js';

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

interface AuthFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string }>;
  [other: string]: unknown;
}

/**
 * Where podman keeps logins: $REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/auth.json
 * (so they go away at logout from the session), else ~/.config/containers/auth.json.
 */
export function authFileForWrite(): string {
  const env = process.env;
  if (env.REGISTRY_AUTH_FILE) return env.REGISTRY_AUTH_FILE;
  if (env.XDG_RUNTIME_DIR?.startsWith('/')) return join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json');
  return join(configHome(), 'containers', 'auth.json');
}

function configHome(): string {
  const xdg = process.env.XDG_CONFIG_HOME;
  return xdg?.startsWith('/') ? xdg : join(homedir(), '.config');
}

/** Every file credentials are read from, first match wins: podman's, then docker's. */
function authFilesForRead(): string[] {
  const docker = process.env.DOCKER_CONFIG ? join(process.env.DOCKER_CONFIG, 'config.json') : join(homedir(), '.docker', 'config.json');
  return [...new Set([authFileForWrite(), join(configHome(), 'containers', 'auth.json'), docker])];
}

async function readAuthFile(path: string): Promise<AuthFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new AuthError(`cannot read credentials from ${path}: ${(err as Error).message}`);
  }
  try {
    const parsed = JSON.parse(text) as AuthFile;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    return parsed;
  } catch {
    throw new AuthError(`${path} is not a valid auth file`, 'fix or remove it (it should be JSON with an "auths" object)');
  }
}

/** docker's config writes `https://index.docker.io/v1/`; podman writes `docker.io` or `host/namespace`. */
function normaliseKey(key: string): string {
  const k = key.replace(/^[a-z]+:\/\//, '').replace(/\/+$/, '');
  if (k === 'index.docker.io/v1' || k === 'index.docker.io' || k === 'registry-1.docker.io') return 'docker.io';
  return k;
}

function decode(entry: { auth?: string; username?: string; password?: string }, path: string, key: string): Credentials | undefined {
  if (typeof entry.username === 'string' && typeof entry.password === 'string') return { username: entry.username, password: entry.password };
  if (typeof entry.auth !== 'string' || entry.auth === '') return undefined;
  const plain = Buffer.from(entry.auth, 'base64').toString('utf8');
  const colon = plain.indexOf(':');
  if (colon < 0) throw new AuthError(`the credentials for ${key} in ${path} are malformed`, `run "nook login ${key}" again`);
  return { username: plain.slice(0, colon), password: plain.slice(colon + 1) };
}

/**
 * The credentials for a repository: an entry for `registry/repository` or one of its
 * namespaces beats one for the whole registry, as in podman.
 */
export async function findCredentials(registry: string, repository = ''): Promise<Credentials | undefined> {
  const parts = repository === '' ? [] : repository.split('/');
  const candidates = parts.map((_, i) => `${registry}/${parts.slice(0, parts.length - i).join('/')}`).concat(registry);
  for (const path of authFilesForRead()) {
    const auths = (await readAuthFile(path))?.auths ?? {};
    const byKey = new Map(Object.entries(auths).map(([k, v]) => [normaliseKey(k), { key: k, entry: v }]));
    for (const candidate of candidates) {
      const found = byKey.get(candidate);
      const creds = found && decode(found.entry, path, found.key);
      if (creds) return creds;
    }
  }
  return undefined;
}

export async function saveCredentials(registry: string, creds: Credentials): Promise<string> {
  const path = authFileForWrite();
  const file = (await readAuthFile(path)) ?? {};
  file.auths = { ...file.auths, [registry]: { auth: Buffer.from(`${creds.username}:${creds.password}`).toString('base64') } };
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFileAtomic(path, `${JSON.stringify(file, null, 2)}\n`, 0o600);
  return path;
}

/** Removes the login for `registry` from podman's file; false when there was none. */
export async function removeCredentials(registry: string): Promise<boolean> {
  const path = authFileForWrite();
  const file = await readAuthFile(path);
  const key = Object.keys(file?.auths ?? {}).find((k) => normaliseKey(k) === registry);
  if (file?.auths === undefined || key === undefined) return false;
  delete file.auths[key];
  await writeFileAtomic(path, `${JSON.stringify(file, null, 2)}\n`, 0o600);
  return true;
}
