import { constants } from 'node:os';
import { Command } from 'commander';
import { UsageError } from '../errors.js';
import type { RunSource } from '../engine/container/root.js';
import type { StorageDriver } from '../engine/image/storage-driver.js';
import type { PullPolicy } from '../engine/image/auto-pull.js';
import type { ExistsInvocation } from '../engine/system/exists.js';
import type { ImageInvocation } from '../engine/image/options.js';
import { addImageCommands, tlsVerifyOption } from './image-commands.js';
import { addBuildCommands, type BuildInvocation } from './build-commands.js';
import { parseMountFlags } from './mount-options.js';
import { addNetworkOptions, parseNetworkFlags } from './network-options.js';
import { parseSecurityFlags } from './security-options.js';
import { addCgroupLimitOptions, addProcessLimitOptions, parseContainerLimits } from './limit-options.js';
import { addVolumeCommands, type VolumeInvocation } from './volume-commands.js';
import type { ContainerInvocation } from '../engine/container/options.js';
import { addContainerCommands, environmentFlags, parseRestart } from './container-commands.js';
import { addCpCommands, type CpInvocation } from './cp-commands.js';
import { addSandboxCommand, type SandboxInvocation } from './sandbox-commands.js';
import { addSystemCommands, type SystemInvocation } from './system-commands.js';
import type { CreateOptions } from '../engine/container/create-options.js';
import { isContainerName } from '../store/containers.js';

export interface CliIO {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

/** What a parsed command line asks for: the command's name and its typed options. */
export type Invocation =
  | { readonly command: 'run'; readonly options: import('../engine/container/run.js').RunOptions }
  | { readonly command: 'create'; readonly options: CreateOptions }
  | { readonly command: 'unshare'; readonly argv: readonly string[] }
  | { readonly command: 'info'; readonly options: import('../engine/system/info.js').InfoOptions }
  | ImageInvocation
  | BuildInvocation
  | VolumeInvocation
  | ContainerInvocation
  | CpInvocation
  | SystemInvocation
  | SandboxInvocation
  | ExistsInvocation;

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** podman takes `--entrypoint CMD` or a JSON array; "" clears the image's entrypoint. */
export function parseEntrypoint(value: string): string[] {
  if (value === '') return [];
  if (!value.trimStart().startsWith('[')) return [value];
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    parsed = null;
  }
  if (!Array.isArray(parsed) || !parsed.every((v) => typeof v === 'string')) {
    throw new UsageError(`invalid --entrypoint ${value}`, 'give a command, or a JSON array of strings like \'["/bin/sh","-c"]\'');
  }
  return parsed;
}

function parseStorageDriver(value: unknown): StorageDriver | undefined {
  if (value === undefined || value === 'overlay' || value === 'vfs') return value;
  throw new UsageError(`unknown storage driver "${String(value)}"`, 'use --storage-driver overlay or --storage-driver vfs, or leave it out');
}

function parsePullPolicy(value: string): PullPolicy {
  if (value === 'missing' || value === 'always' || value === 'never') return value;
  throw new UsageError(`unknown pull policy "${value}"`, 'use --pull missing (the default), always or never');
}

function parseRunSource(
  o: Record<string, unknown>,
  args: readonly string[],
  globals: Record<string, unknown>,
): { source: RunSource; command: readonly string[] } {
  if (o.rootfs !== undefined) return { source: { kind: 'rootfs', path: o.rootfs as string }, command: args };
  const [image, ...command] = args;
  if (image === undefined) throw new UsageError('nook run needs an image, or --rootfs DIR', 'nook run IMAGE [COMMAND...] or nook run --rootfs DIR [COMMAND...]');
  const pull = { policy: parsePullPolicy(o.pull as string), tlsVerify: o.tlsVerify as boolean };
  return { source: { kind: 'image', name: image, storageDriver: parseStorageDriver(globals.storageDriver), pull }, command };
}

/** The options run and create share: what the container is. */
function addCreateOptions(cmd: Command): Command {
  addCgroupLimitOptions(cmd);
  addProcessLimitOptions(cmd);
  return addNetworkOptions(cmd)
    .argument('[image-and-command...]', 'the image (unless --rootfs), then the command and its arguments')
    .passThroughOptions()
    .option('--rootfs <dir>', 'use a directory as the root filesystem instead of an image')
    .option('--name <name>', 'name the container (default: a random name)')
    .option('--pull <policy>', 'when to pull the image: missing, always or never', 'missing')
    .addOption(tlsVerifyOption())
    .option('--entrypoint <command>', 'replace the image\'s entrypoint (a command, or a JSON array)')
    .option('--rm', 'remove the container when it exits', false)
    .option('-i, --interactive', 'keep stdin open for the container', false)
    .option('-t, --tty', 'give the container a terminal', false)
    .option('-e, --env <KEY=VALUE>', 'set an environment variable (repeatable)', collect, [])
    .option('--env-file <file>', 'read environment variables from a file (repeatable)', collect, [])
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .option('--hostname <name>', 'container host name')
    .option('-u, --user <user[:group]>', 'user (name or uid) and group to run as')
    .option('--group-add <group>', 'add a supplementary group, by name or gid (repeatable)', collect, [])
    .option('--read-only', 'mount the root filesystem read-only', false)
    .option('--init', 'run a tiny init as PID 1 that reaps orphans and passes signals on to the command', false)
    .option('--restart <policy>', 'restart when it exits: no, on-failure[:MAX] or always', 'no')
    .option('--stop-signal <signal>', 'the signal stop sends first (default: the image\'s, else SIGTERM)')
    .option('--stop-timeout <seconds>', 'how long stop waits before SIGKILL (default: 10)')
    .option('-v, --volume <volume>', 'bind mount HOST-DIR:DIR[:OPTS] or volume NAME:DIR[:OPTS] (repeatable)', collect, [])
    .option('--mount <mount>', 'type=bind|volume|tmpfs,src=…,dst=…[,ro] (repeatable)', collect, [])
    .option('--tmpfs <dir[:opts]>', 'mount a tmpfs, e.g. /dir:size=64m,mode=1777 (repeatable)', collect, [])
    .option('--security-opt <opt>', 'no-new-privileges, seccomp=unconfined|PROFILE.json, mask=PATHS, unmask=ALL|PATHS (repeatable)', collect, [])
    .option('--cap-add <cap>', 'add a capability, or "all" (repeatable)', collect, [])
    .option('--cap-drop <cap>', 'drop a capability, or "all" (repeatable)', collect, [])
    .option('--privileged', 'every capability of the user namespace, no seccomp filter, no masked paths', false)
    .option('--sysctl <name=value>', 'set a namespaced kernel parameter (repeatable)', collect, []);
}

/** A signal's canonical name (SIGTERM) from TERM, term, SIGTERM or 15. */
function signalName(value: string): string {
  const byNumber = Object.entries(constants.signals).find(([, n]) => String(n) === value)?.[0];
  const name = byNumber ?? `SIG${value.toUpperCase().replace(/^SIG/, '')}`;
  if (!(name in constants.signals)) throw new UsageError(`invalid signal "${value}"`, 'give a signal name such as TERM or INT, or its number');
  return name;
}

function parseSeconds(value: string): number {
  if (!/^\d+$/.test(value)) throw new UsageError(`invalid --stop-timeout "${value}"`, 'give a whole number of seconds');
  return Number(value);
}

function createOptions(o: Record<string, unknown>, args: readonly string[], globals: Record<string, unknown>): CreateOptions {
  const { source, command } = parseRunSource(o, args, globals);
  const name = o.name as string | undefined;
  if (name !== undefined && !isContainerName(name)) {
    throw new UsageError(`invalid container name "${name}"`, 'use letters, digits, "_", "." and "-", starting with a letter or digit');
  }
  const restart = parseRestart(o.restart as string);
  if (o.rm && restart.policy !== 'no') {
    throw new UsageError('the --rm option conflicts with --restart', 'a container that removes itself cannot be restarted: choose one');
  }
  return {
    source,
    name,
    entrypoint: o.entrypoint === undefined ? undefined : parseEntrypoint(o.entrypoint as string),
    command,
    env: environmentFlags(o),
    workdir: o.workdir as string | undefined,
    hostname: o.hostname as string | undefined,
    user: o.user as string | undefined,
    groupAdd: o.groupAdd as string[],
    readOnly: o.readOnly as boolean,
    init: o.init as boolean,
    mounts: parseMountFlags({ volume: o.volume as string[], mount: o.mount as string[], tmpfs: o.tmpfs as string[] }),
    network: parseNetworkFlags(o),
    security: parseSecurityFlags({
      securityOpt: o.securityOpt as string[],
      capAdd: o.capAdd as string[],
      capDrop: o.capDrop as string[],
      privileged: o.privileged as boolean,
      sysctl: o.sysctl as string[],
    }),
    tty: o.tty as boolean,
    interactive: o.interactive as boolean,
    restart,
    remove: o.rm as boolean,
    stopSignal: o.stopSignal === undefined ? undefined : signalName(o.stopSignal as string),
    stopTimeout: o.stopTimeout === undefined ? undefined : parseSeconds(o.stopTimeout as string),
    limits: parseContainerLimits(o as { ulimit: string[] }),
  };
}

function addRun(program: Command, onInvoke: (invocation: Invocation) => void): void {
  const run = program
    .command('run')
    .description('run a command in a new container')
    .usage('[options] IMAGE [COMMAND [ARG...]]\n       nook run [options] --rootfs DIR [--] [COMMAND [ARG...]]');
  addCreateOptions(run)
    .option('-d, --detach', 'run in the background and print the container ID', false)
    .option('--explain', 'print the equivalent shell commands instead of running', false)
    .action((args: string[], o: Record<string, unknown>) => {
      onInvoke({ command: 'run', options: { ...createOptions(o, args, program.opts()), detach: o.detach as boolean, explain: o.explain as boolean } });
    });
}

function addCreate(program: Command, onInvoke: (invocation: Invocation) => void): void {
  const create = program
    .command('create')
    .description('create a container without starting it')
    .usage('[options] IMAGE [COMMAND [ARG...]]\n       nook create [options] --rootfs DIR [--] [COMMAND [ARG...]]');
  addCreateOptions(create).action((args: string[], o: Record<string, unknown>) => {
    onInvoke({ command: 'create', options: createOptions(o, args, program.opts()) });
  });
}

/** Commands started often enough that building the rest of the parser shows in their start-up. */
const QUICK_COMMANDS = new Set(['run', 'create', 'exec', 'sandbox', 'build']);

/** The command `argv` names, when it is one of QUICK_COMMANDS and no global option precedes it. */
function quickCommand(argv: readonly string[] | undefined): string | undefined {
  const first = argv?.[0];
  return first !== undefined && QUICK_COMMANDS.has(first) ? first : undefined;
}

/**
 * Builds the command-line parser. Parsing only records the invocation (`onInvoke`), so the
 * parser is tested without running anything. Given the argv it will parse, it leaves out
 * the commands argv cannot reach when that saves start-up time (run, create, exec, sandbox, build).
 */
export function createProgram(io: CliIO, onInvoke: (invocation: Invocation) => void, argv?: readonly string[]): Command {
  const quick = quickCommand(argv);
  const program = new Command('nook')
    .description('rootless containers and sandboxes, as an ordinary user')
    .version('0.1.0', '-v, --version')
    .option('--storage-driver <driver>', 'overlay or vfs (default: overlay where the kernel allows it)')
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.replace(/\n$/, '')), writeErr: (s) => io.err(s.replace(/\n$/, '')), outputError: () => undefined });

  if (quick === undefined || quick === 'run') addRun(program, onInvoke);
  if (quick === undefined || quick === 'create') addCreate(program, onInvoke);
  if (quick === 'exec') addContainerCommands(program, onInvoke, 'exec');
  if (quick === undefined || quick === 'sandbox') addSandboxCommand(program, onInvoke);
  // An unchanged rebuild takes little more than the CLI's start: it pays for no other command.
  if (quick === 'build') addBuildCommands(program, onInvoke);
  if (quick !== undefined) return program;

  program
    .command('unshare')
    .description('run a command (default: your shell) as root of a user namespace with the container id maps')
    .argument('[command...]', 'command and arguments')
    .passThroughOptions()
    .action((argv: string[]) => onInvoke({ command: 'unshare', argv }));

  program
    .command('info')
    .description('show what nook sees of this machine: id maps, store, overlay support')
    .option('--format <format>', 'text or json', 'text')
    .action((o: { format: string }) => {
      if (o.format !== 'text' && o.format !== 'json') throw new UsageError(`unknown --format "${o.format}"`, 'use --format json, or leave it out');
      onInvoke({ command: 'info', options: { format: o.format, storageDriver: parseStorageDriver(program.opts().storageDriver) } });
    });

  addImageCommands(program, onInvoke);
  addBuildCommands(program, onInvoke);
  addVolumeCommands(program, onInvoke);
  addContainerCommands(program, onInvoke, null);
  addCpCommands(program, onInvoke);
  addSystemCommands(program, onInvoke);
  return program;
}
