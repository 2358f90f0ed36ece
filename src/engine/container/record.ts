import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ContainerError } from '../../errors.js';
import { resolveUser } from '../../rootfs/users.js';
import { NameInUseError, type ContainerRecord, type ContainerStore } from '../../store/containers.js';
import type { NetworkConfig } from '../../net/config.js';
import type { ContainerIdMaps } from '../../sys/idmap.js';
import { randomName } from '../shared/random-name.js';
import { containerCommand } from './command.js';
import type { CreateOptions } from './create-options.js';
import { newContainerEnv } from './env.js';
import { containerMounts } from './mounts.js';
import { normalPath } from './path.js';
import type { PreparedRoot } from './root.js';
import { recordSecurity } from './security.js';

/** How many taken plain names a create tries before it adds a number to the name. */
const PLAIN_NAME_ATTEMPTS = 64;

/** podman's stop timeout when the image and the command line say nothing. */
const DEFAULT_STOP_TIMEOUT = 10;

/** Claims `name` for the container `id`, or says who holds it and what to do. */
export function claimContainerName(containers: ContainerStore, name: string, id: string, hint: string): void {
  try {
    containers.claimName(name, id);
  } catch (err) {
    if (!(err instanceof NameInUseError)) throw err;
    throw new ContainerError(`the container name "${name}" is already in use by ${err.holder.slice(0, 12)}`, hint);
  }
}

/** Claims the asked-for name, or a random free one. */
export function claimNewName(containers: ContainerStore, asked: string | undefined, id: string): string {
  if (asked !== undefined) {
    claimContainerName(containers, asked, id, `remove that container (nook rm ${asked}) or choose another name with --name`);
    return asked;
  }
  // Plain names first; once they keep colliding (most are taken), numbered ones.
  for (let attempt = 0; ; attempt++) {
    const name = randomName(attempt >= PLAIN_NAME_ATTEMPTS);
    try {
      containers.claimName(name, id);
      return name;
    } catch (err) {
      if (!(err instanceof NameInUseError)) throw err;
    }
  }
}

/**
 * Decides what the new container is: user, command, environment and volumes (made here,
 * unless `dryRun`), from the options and its prepared root. Nothing is committed: the
 * record is the caller's to write.
 */
export async function buildRecord(
  opts: CreateOptions,
  maps: ContainerIdMaps,
  c: { readonly id: string; readonly name: string; readonly dir: string; readonly root: PreparedRoot; readonly network: NetworkConfig; readonly dryRun: boolean },
): Promise<ContainerRecord> {
  const config = c.root.config;
  const userSpec = opts.user ?? (config?.user || undefined);
  const user = resolveUser(c.root.files, userSpec, maps, opts.groupAdd);
  const argv = containerCommand(opts, c.root);
  const hostname = opts.hostname ?? c.id.slice(0, 12);
  const env = newContainerEnv(config, { hostname, user }, opts.env);
  const volumes = await containerMounts(opts.mounts, c.root, maps, { dryRun: c.dryRun, stateDir: c.dir });
  if (!c.dryRun) mkdirSync(join(c.dir, 'userdata'), { mode: 0o700 });
  return {
    id: c.id,
    name: c.name,
    created: new Date().toISOString(),
    image: opts.source.kind === 'image' ? { name: opts.source.name, id: c.root.imageId! } : null,
    rootfsDir: opts.source.kind === 'rootfs' && c.root.rootfs.kind === 'directory' ? c.root.rootfs.path : null,
    rootfs: c.root.rootfs,
    entrypoint: opts.entrypoint ?? null,
    argv,
    env,
    workdir: normalPath(opts.workdir ?? (config?.workingDir || '/')),
    hostname,
    user: { uid: user.uid, gid: user.gid, groups: user.groups, spec: userSpec ?? '0', groupAdd: opts.groupAdd },
    readOnly: opts.readOnly,
    init: opts.init,
    mounts: volumes.mounts,
    volumes: volumes.names,
    anonymousVolumes: volumes.anonymous,
    network: c.network,
    security: recordSecurity(opts.security),
    tty: opts.tty,
    interactive: opts.interactive,
    restart: opts.restart,
    autoRemove: opts.remove,
    stopSignal: opts.stopSignal ?? (config?.stopSignal || 'SIGTERM'),
    stopTimeout: opts.stopTimeout ?? DEFAULT_STOP_TIMEOUT,
    limits: opts.limits,
  };
}
