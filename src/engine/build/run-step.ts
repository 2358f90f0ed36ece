import { mkdirSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { commandOf, shellOf } from '../../build/config.js';
import type { Heredoc, Instruction } from '../../build/parse.js';
import { compilePlan } from '../../plan/compile.js';
import { encodePlan } from '../../plan/encode.js';
import type { Op } from '../../plan/ops.js';
import { DEFAULT_SECURITY } from '../../plan/security-options.js';
import type { ContainerSpec } from '../../plan/spec.js';
import { layeredKind } from '../../rootfs/layered.js';
import { imageFiles, resolveUser } from '../../rootfs/users.js';
import { launchRuntime } from '../../runtime/launch.js';
import { reportToError } from '../../runtime/report-error.js';
import { runtimeDir } from '../../sys/paths.js';
import { etcFilePaths, writeEtcFiles } from '../container/etc-files.js';
import { containerSecurity } from '../container/security.js';
import { ownNamespaceSysctls } from '../network/prepare.js';
import { randomId } from '../shared/random-id.js';
import { RunStepFailed } from './errors.js';
import { diffStep, layerStep, stepRoot } from './layer-step.js';
import { runMounts } from './run-mounts.js';
import { networkOf, runNetwork } from './run-network.js';
import { cacheKey, layerDirs, type Build, type Stage } from './stage.js';

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

