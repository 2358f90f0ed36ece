import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import type { Instruction } from '../../build/parse.js';
import { removeOwnedTrees } from '../../runtime/owned-trees.js';
import type { ContainerMount } from '../../plan/spec.js';
import { layeredKind, resolveLayeredPath } from '../../rootfs/layered.js';
import { runInUserns } from '../../runtime/userns.js';
import { newHash } from './context.js';
import { BuildError } from './errors.js';
import { resolveFrom } from './sources.js';
import { layerDirs, stageDirectory, type Build, type Stage } from './stage.js';

/** RUN --mount: what a step sees besides its root, and what its cache key knows of it. */

function mountFields(value: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    fields.set(eq < 0 ? part : part.slice(0, eq), eq < 0 ? 'true' : part.slice(eq + 1));
  }
  return fields;
}

/** A path inside a tree as a host path, normalised as the runtime wants it (no trailing `/`). */
function hostPath(root: string, inside: string): string {
  return join(root, inside).replace(/(.)\/+$/, '$1');
}

function octal(value: string | undefined, what: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^[0-7]{1,4}$/.test(value)) throw new BuildError(`RUN --mount ${what}=${value} is not an octal mode`);
  return parseInt(value, 8);
}

function id(value: string | undefined, what: string): number {
  if (value === undefined) return 0;
  if (!/^\d+$/.test(value)) throw new BuildError(`RUN --mount ${what}=${value} is not a number`);
  return Number(value);
}

/** A cache mount's directory, made on first use with its mode, uid and gid (as BuildKit: later uses keep it as it is). */
async function makeCacheDir(build: Build, dir: string, fields: Map<string, string>): Promise<void> {
  if (existsSync(dir)) return;
  const mode = octal(fields.get('mode'), 'mode', 0o755);
  const owner = { uid: id(fields.get('uid'), 'uid'), gid: id(fields.get('gid'), 'gid') };
  const temp = `${dir}.tmp-${process.pid}`;
  mkdirSync(join(dir, '..'), { recursive: true, mode: 0o700 });
  mkdirSync(temp, { mode: 0o700 });
  chmodSync(temp, mode);
  // The directory is the user's (container root's); another container id needs container root to give it away.
  if (owner.uid !== 0 || owner.gid !== 0) {
    const chown = await runInUserns(build.maps, ['chown', `${owner.uid}:${owner.gid}`, temp], ['PATH=/usr/bin:/bin'], { capture: true });
    if (chown.status !== 0) throw new BuildError(`cannot give the cache mount to ${owner.uid}:${owner.gid}: ${chown.stderr.trim()}`);
  }
  try {
    renameSync(temp, dir);
  } catch (err) {
    // Another build made it meanwhile: theirs is used.
    if (!existsSync(dir)) throw err;
    await removeOwnedTrees(build.maps, [temp]);
  }
}

export interface RunMounts {
  readonly mounts: ContainerMount[];
  /** What the cache key knows about them (never a secret's content). */
  readonly keyParts: unknown[];
}

/**
 * RUN --mount=type=cache|bind|tmpfs|secret, as the container's volumes. With `materialize`
 * false only the cache key's parts are exact: nothing is made (a cache dir, a stage's
 * copy) for a step the cache may answer.
 */
export async function runMounts(build: Build, stage: Stage, ins: Instruction, workdir: string, materialize: boolean): Promise<RunMounts> {
  const result: RunMounts = { mounts: [], keyParts: [] };
  for (const flag of ins.flags.filter((f) => f.name === 'mount')) {
    const fields = mountFields(flag.value ?? '');
    const type = fields.get('type') ?? 'bind';
    const targetRaw = fields.get('target') ?? fields.get('dst') ?? fields.get('destination');
    const target = targetRaw === undefined ? undefined : posix.normalize(targetRaw.startsWith('/') ? targetRaw : posix.join(workdir, targetRaw));
    switch (type) {
      case 'cache': {
        if (target === undefined) throw new BuildError('RUN --mount=type=cache needs target=DIR');
        const id = fields.get('id') ?? target;
        const dir = join(build.store.root, 'build-cache-mounts', createHash('sha256').update(id).digest('hex').slice(0, 32));
        if (materialize) await makeCacheDir(build, dir, fields);
        result.mounts.push({ kind: 'bind', source: dir, destination: target, directory: true, readOnly: fields.get('ro') === 'true' || fields.get('readonly') === 'true', options: [], propagation: 'private' });
        result.keyParts.push(['cache', id, target]);
        break;
      }
      case 'tmpfs': {
        if (target === undefined) throw new BuildError('RUN --mount=type=tmpfs needs target=DIR');
        const size = fields.get('size') ?? fields.get('tmpfs-size');
        result.mounts.push({ kind: 'tmpfs', destination: target, flags: ['nosuid', 'nodev'], data: size === undefined ? 'mode=1777' : `mode=1777,size=${size}` });
        result.keyParts.push(['tmpfs', target]);
        break;
      }
      case 'secret': {
        const id = fields.get('id') ?? (target === undefined ? undefined : posix.basename(target));
        if (id === undefined) throw new BuildError('RUN --mount=type=secret needs id=NAME');
        const source = build.options.secrets.get(id);
        if (source === undefined) {
          if (fields.get('required') === 'true') throw new BuildError(`the secret "${id}" is required but was not given`, `pass it with --secret id=${id},src=FILE`);
          break;
        }
        result.mounts.push({ kind: 'bind', source, destination: target ?? `/run/secrets/${id}`, directory: false, readOnly: true, options: ['nosuid', 'nodev', 'noexec'], propagation: 'private' });
        result.keyParts.push(['secret', id, target ?? null]);
        break;
      }
      case 'bind': {
        if (target === undefined) throw new BuildError('RUN --mount=type=bind needs target=DIR');
        const from = fields.get('from') ?? fields.get('source-from');
        const sourcePath = fields.get('source') ?? fields.get('src') ?? '/';
        const readOnly = !(fields.get('rw') === 'true' || fields.get('readwrite') === 'true');
        let host: string;
        let directory: boolean;
        if (from === undefined) {
          // The context is the user's own directory: a step never writes into it.
          if (!readOnly) throw new BuildError('RUN --mount=type=bind,rw of the build context is not supported', 'mount it read-only, or COPY what the step must change');
          const inside = resolveLayeredPath([build.context.dir], sourcePath) ?? '/';
          host = hostPath(build.context.dir, inside);
          try {
            directory = statSync(host).isDirectory();
          } catch {
            throw new BuildError(`RUN --mount source "${sourcePath}" is not in the build context`);
          }
          // What the step reads decides whether it may be reused: the content, not the path.
          const content = newHash();
          build.context.hashSource(inside.slice(1) || '.', content);
          result.keyParts.push(['bind', 'context', sourcePath, content.digest('hex'), target, readOnly]);
        } else {
          const source = await resolveFrom(build, stage, from);
          // A read-write mount gets a copy: writes must never reach the stored layers.
          const root = materialize ? await stageDirectory(build, source, !readOnly) : '/';
          const dirs = layerDirs(build, source);
          const inside = resolveLayeredPath(dirs, sourcePath) ?? sourcePath;
          const kind = dirs.length === 0 ? 'dir' : layeredKind(dirs, inside);
          if (kind === null) throw new BuildError(`RUN --mount source "${sourcePath}" is not in ${from}`);
          host = hostPath(root, inside);
          directory = kind === 'dir';
          result.keyParts.push(['bind', source.key, sourcePath, target, readOnly]);
        }
        result.mounts.push({ kind: 'bind', source: host, destination: target, directory, readOnly, options: [], propagation: 'private' });
        break;
      }
      default:
        throw new BuildError(`RUN --mount=type=${type} is not supported`, 'nook supports type=cache, bind, tmpfs and secret');
    }
  }
  return result;
}

