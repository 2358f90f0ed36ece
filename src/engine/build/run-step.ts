import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { commandOf, shellOf } from '../../build/config.js';
import type { Heredoc, Instruction } from '../../build/parse.js';
import { compilePlan } from '../../plan/compile.js';
import { encodePlan } from '../../plan/encode.js';
import { DEFAULT_SECURITY } from '../../plan/security-options.js';
import type { NetworkHelper, Op } from '../../plan/ops.js';
import type { ContainerMount, ContainerSpec, NetworkSetup } from '../../plan/spec.js';
import { isLoopbackAddress, NO_DNS_SETTINGS, parseResolvConf, renderResolvConf } from '../../net/dns.js';
import { PASTA_DNS_FORWARD, pastaArgv } from '../../net/pasta.js';
import { defaultRoute } from '../../sys/route.js';
import { helperBinary } from '../network/default.js';
import { ownNamespaceSysctls } from '../network/prepare.js';
import { LOCALHOST_LINES, renderHosts } from '../../net/hosts.js';
import type { BuildNetwork } from './options.js';
import { layeredKind, resolveLayeredPath } from '../../rootfs/layered.js';
import { imageFiles, resolveUser } from '../../rootfs/users.js';
import { launchRuntime } from '../../runtime/launch.js';
import { runInUserns } from '../../runtime/userns.js';
import { removeOwnedTrees } from '../../image/extract/run.js';
import { reportToError } from '../../runtime/report-error.js';
import { runtimeDir } from '../../sys/paths.js';
import { etcFilePaths, writeEtcFiles, type EtcContent } from '../container/etc-files.js';
import { containerSecurity } from '../container/security.js';
import { newHash } from './context.js';
import { BuildError, RunStepFailed } from './errors.js';
import { diffStep, layerStep, stepRoot } from './layer-step.js';
import { resolveFrom } from './sources.js';
import { randomId } from '../shared/random-id.js';
import { cacheKey, layerDirs, stageDirectory, type Build, type Stage } from './stage.js';

/** Paths the runtime creates in every container's root when the image lacks them. */
const RUNTIME_MOUNT_POINTS = ['/etc/hosts', '/etc/hostname', '/etc/resolv.conf', '/proc', '/dev', '/sys'];
const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Where a RUN heredoc with a `#!` line is put for the step to run it, as BuildKit does. */
const SCRIPT_DIR = '/dev/pipes';

/** `RUN <<EOF` alone: the heredoc is the whole command. */
function soleHeredoc(ins: Instruction): Heredoc | null {
  return ins.heredocs.length === 1 && /^<<-?(["']?)[A-Za-z_][A-Za-z0-9_]*\1$/.test(ins.args.trim()) ? ins.heredocs[0]! : null;
}

/** A sole heredoc starting with `#!`: a script the kernel runs with its own interpreter. */
function heredocScript(ins: Instruction): Heredoc | null {
  const doc = soleHeredoc(ins);
  return doc !== null && doc.content.startsWith('#!') ? doc : null;
}

/** The command a RUN runs: exec form, shell form, or a heredoc script given to the shell. */
export function runArgv(ins: Instruction, config: Stage['doc']['config']): string[] {
  if (ins.heredocs.length === 0) return commandOf(ins, config);
  const script = heredocScript(ins);
  if (script !== null) return [`${SCRIPT_DIR}/${script.name}`];
  const sole = soleHeredoc(ins);
  if (sole !== null) return [...shellOf(config), sole.content];
  // `RUN python3 <<EOF`: the shell reads the heredocs after the command line, as written.
  return [...shellOf(config), `${ins.args}\n${ins.heredocs.map((h) => `${h.content}${h.name}\n`).join('')}`];
}

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

interface RunMounts {
  readonly mounts: ContainerMount[];
  /** What the cache key knows about them (never a secret's content). */
  readonly keyParts: unknown[];
}

/**
 * RUN --mount=type=cache|bind|tmpfs|secret, as the container's volumes. With `materialize`
 * false only the cache key's parts are exact: nothing is made (a cache dir, a stage's
 * copy) for a step the cache may answer.
 */
async function runMounts(build: Build, stage: Stage, ins: Instruction, workdir: string, materialize: boolean): Promise<RunMounts> {
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

/** Mount points the runtime will create for this RUN that the image does not have: with their new parents, deepest first. */
function createdMountPoints(lowerDirs: readonly string[], paths: readonly string[]): string[] {
  const drop = new Set<string>();
  for (const path of paths) {
    const parts = posix.normalize(path).split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) {
      const sub = `/${parts.slice(0, i).join('/')}`;
      if (lowerDirs.length === 0 || layeredKind(lowerDirs, sub) === null) drop.add(sub.slice(1));
    }
  }
  return [...drop].sort((a, b) => b.split('/').length - a.split('/').length || b.localeCompare(a));
}

function networkOf(build: Build, ins: Instruction): BuildNetwork {
  const flag = ins.flags.find((f) => f.name === 'network')?.value;
  if (flag === undefined || flag === null || flag === 'default') return build.network;
  if (flag === 'none' || flag === 'host' || flag === 'pasta') return flag;
  throw new BuildError(`RUN --network=${flag} is not supported`, 'use pasta, none or host');
}

function hostFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/**
 * A RUN container's network and its /etc/hosts and resolv.conf, as nook run sets them up for
 * the same network (without published ports: a step serves nothing).
 */
function runNetwork(network: BuildNetwork, hostname: string, stepDir: string): { setup: NetworkSetup; etc: EtcContent } {
  const hosts = (base: string, ownAddress: string | null, hostAddress: string | null): string => renderHosts({ base, addHosts: [], ownAddress, names: [hostname], hostAddress });
  const hostDns = parseResolvConf(hostFile('/etc/resolv.conf'));
  switch (network) {
    case 'none':
      return { setup: { kind: 'none' }, etc: { hosts: hosts(LOCALHOST_LINES, null, null), hostname: `${hostname}\n`, resolvConf: renderResolvConf(NO_DNS_SETTINGS, 'no network (--network none): no name servers') } };
    case 'host':
      return { setup: { kind: 'host' }, etc: { hosts: hosts(hostFile('/etc/hosts'), null, null), hostname: `${hostname}\n`, resolvConf: renderResolvConf(hostDns) } };
    case 'pasta': {
      const route = defaultRoute();
      // As nook run: a host name server pasta's namespace cannot reach is asked through pasta's forwarder.
      const forward = hostDns.servers.length === 0 || hostDns.servers.some((s) => isLoopbackAddress(s) || s === route?.gateway);
      const dns = forward ? { ...hostDns, servers: [PASTA_DNS_FORWARD] } : hostDns;
      const helper: NetworkHelper = { start: 'clone', argv: pastaArgv(helperBinary('pasta'), [], [], forward), log: join(stepDir, 'network.log'), apiSocket: null, requests: [] };
      return { setup: { kind: 'helper', helper }, etc: { hosts: hosts(LOCALHOST_LINES, route?.address ?? null, route?.gateway ?? null), hostname: `${hostname}\n`, resolvConf: renderResolvConf(dns) } };
    }
  }
}

/** The environment of a RUN: the stage's ENV, the args in scope that ENV does not set, a PATH. */
function runEnv(stage: Stage, hostname: string): string[] {
  const env = [...(stage.doc.config.Env ?? [])];
  const set = new Set(env.map((e) => e.slice(0, Math.max(0, e.indexOf('=')))));
  for (const [k, v] of stage.args) if (v !== undefined && !set.has(k)) env.push(`${k}=${v}`);
  if (!set.has('PATH')) env.unshift(DEFAULT_PATH);
  if (!set.has('HOSTNAME')) env.push(`HOSTNAME=${hostname}`);
  if (!set.has('HOME')) env.push('HOME=/root');
  return env;
}

/** RUN: the command in a container over the stage's layers; its upper dir becomes the layer. */
export async function runStep(build: Build, stage: Stage, ins: Instruction, stepText: string): Promise<void> {
  const config = stage.doc.config;
  const argv = runArgv(ins, config);
  const workdir = config.WorkingDir || '/';
  const network = networkOf(build, ins);
  const planned = await runMounts(build, stage, ins, workdir, false);
  const args = [...stage.args].filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`);
  const createdBy = `${args.length > 0 ? `|${args.length} ${args.join(' ')} ` : ''}${argv.join(' ')}`;
  const script = heredocScript(ins);
  const key = cacheKey([stage.key, 'RUN', argv, script?.content ?? null, planned.keyParts, network]);
  await layerStep(build, stage, key, createdBy, async () => {
    const mounts = await runMounts(build, stage, ins, workdir, true);
    const step = await stepRoot(build, stage);
    const lowerDirs = layerDirs(build, stage);
    const user = resolveUser(imageFiles(lowerDirs), config.User || undefined, build.maps);
    const hostname = randomId().slice(0, 12);
    if (script !== null) {
      // Bound into /dev (a tmpfs of the container's own): it never lands in the layer.
      const source = join(step.dir, `script-${script.name}`);
      writeFileSync(source, script.content, { mode: 0o755 });
      mounts.mounts.push({ kind: 'bind', source, destination: argv[0]!, directory: false, readOnly: true, options: ['nosuid', 'nodev'], propagation: 'private' });
    }
    const userdata = join(step.dir, 'userdata');
    mkdirSync(userdata, { mode: 0o700 });
    const etcFiles = etcFilePaths(userdata, true);
    const net = runNetwork(network, hostname, step.dir);
    writeEtcFiles(etcFiles, net.etc);
    const security = await containerSecurity(DEFAULT_SECURITY, network, { dir: runtimeDir(), write: true });
    const spec: ContainerSpec = {
      id: hostname,
      rootfs: { kind: 'overlay', overlay: step.overlay },
      uidMap: build.maps.uid,
      gidMap: build.maps.gid,
      network: net.setup,
      hostname,
      readOnly: false,
      etcFiles,
      mounts: mounts.mounts,
      workdir,
      user: { uid: user.uid, gid: user.gid, groups: user.groups },
      ...security,
      // The step's own network namespace gets nook run's parameters (ping, low ports).
      sysctls: [...(network === 'host' ? [] : ownNamespaceSysctls(build.maps)), ...security.sysctls],
      init: false,
      tty: false,
      process: { rlimits: [], oomScoreAdj: null },
      argv,
      env: runEnv(stage, hostname),
    };
    // The monitor carries the step's stdio, as for nook run: no terminal of the user's reaches it.
    const plan: Op[] = [{ op: 'stdio', tty: false, stdin: false, log: null }, ...compilePlan(spec)];
    const result = await launchRuntime(encodePlan(plan), runtimeDir(), build.options.quiet ? { capture: true } : { passStdin: false });
    if (result.report !== null) throw reportToError(result.report, { rootfs: `stage ${stage.name ?? stage.index}` });
    if (result.status !== 0) {
      // -q kept the step's output back: a failed step's is what says why.
      if (build.options.quiet) for (const line of `${result.stdout}${result.stderr}`.split('\n').filter(Boolean)) build.io.err(line);
      throw new RunStepFailed(stepText, result.status);
    }
    const drop = createdMountPoints(lowerDirs, [...RUNTIME_MOUNT_POINTS, ...mounts.mounts.map((m) => m.destination)]);
    return diffStep(build, step, { writes: [], drop, views: [] });
  });
}
