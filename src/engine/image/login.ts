import type { LoginOptions, LogoutOptions } from './options.js';
import { AuthError, UsageError } from '../../errors.js';
import { removeCredentials, saveCredentials } from '../../image/credentials.js';
import { normaliseRegistry } from '../../image/reference.js';
import { RegistryClient } from '../../image/registry.js';
import type { ImageIO } from './options.js';
import { promptHidden, promptLine } from '../shared/prompt.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/**
 * `nook login`: the credentials are tried against the registry first (as podman does), and
 * saved in podman's auth file only when it accepts them.
 */
export async function login(options: LoginOptions, io: ImageIO): Promise<number> {
  const registry = normaliseRegistry(options.registry);
  if (options.passwordStdin && !options.username) {
    throw new UsageError('--password-stdin needs the user name', `nook login -u USER --password-stdin ${options.registry}`);
  }
  const username = options.username || (await promptLine('Username: ', 'user name', '-u USER'));
  const password = options.passwordStdin ? await readStdin() : (options.password ?? (await promptHidden('Password: ', 'password', '-p PASS or --password-stdin')));
  if (username === '' || password === '') {
    throw new UsageError(`no ${username === '' ? 'user name' : 'password'} given`, `e.g. echo PASS | nook login -u USER --password-stdin ${options.registry}`);
  }
  const credentials = { username, password };
  try {
    await new RegistryClient(registry, { tlsVerify: options.tlsVerify, credentials }).checkLogin();
  } catch (err) {
    if (err instanceof AuthError) {
      throw new AuthError(`logging in to ${registry}: invalid username or password for "${username}"`, 'check them and try again; nothing was saved');
    }
    throw err;
  }
  await saveCredentials(registry, credentials);
  io.out('Login Succeeded!');
  return 0;
}

export async function logout(options: LogoutOptions, io: ImageIO): Promise<number> {
  const registry = normaliseRegistry(options.registry);
  if (!(await removeCredentials(registry))) {
    throw new AuthError(`not logged in to ${registry}`, 'logins from ~/.docker/config.json or ~/.config/containers/auth.json are left alone: edit those files');
  }
  io.out(`Removed login credentials for ${registry}`);
  return 0;
}
