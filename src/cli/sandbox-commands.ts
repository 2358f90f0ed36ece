import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import type { SandboxNetwork, SandboxOptions } from '../engine/sandbox/options.js';

/** `nook sandbox …` as parsed (see createProgram). */
export interface SandboxInvocation {
  readonly command: 'sandbox';
  readonly options: SandboxOptions;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

function parseSandboxNetwork(value: string | undefined): SandboxNetwork | undefined {
  if (value === undefined || value === 'none' || value === 'pasta' || value === 'slirp4netns' || value === 'host') return value;
  throw new UsageError(`network mode "${value}" is not supported`, 'use --network none (the default), pasta, slirp4netns or host');
}

function parseTimeout(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[0-9]+(\.[0-9]+)?$/.test(value) || Number(value) <= 0) throw new UsageError(`invalid --timeout "${value}"`, 'give a number of seconds above 0, e.g. --timeout 30');
  return Number(value);
}

function parseExplainFormat(explain: boolean, format: string | undefined): SandboxOptions['explain'] {
  if (format !== undefined && format !== 'shell' && format !== 'json') throw new UsageError(`unknown --format "${format}"`, 'use --format json, or leave it out');
  if (format !== undefined && !explain) throw new UsageError('--format applies to --explain', 'add --explain, or leave --format out');
  return explain ? (format ?? 'shell') : null;
}

/** Adds `nook sandbox`: a command with the host's own tools, read-only, and nothing else. */
export function addSandboxCommand(program: Command, onInvoke: (invocation: SandboxInvocation) => void): void {
  program
    .command('sandbox')
    .description("run an untrusted command with the host's own tools, without your files, secrets or network")
    .usage('[options] [--] COMMAND [ARG...]')
    .argument('<command...>', 'the command and its arguments')
    .passThroughOptions()
    .option('--rw <path>', 'share a file or directory writable ("." for the current directory; repeatable)', collect, [])
    .option('--ro <path>', 'share a file or directory read-only (repeatable)', collect, [])
    .option('--hide <path>', 'hide a file (shows as /dev/null) or directory (shows empty) (repeatable)', collect, [])
    .option('--network <mode>', 'none (default: only lo), pasta or slirp4netns (a namespace of its own, connected), host')
    .option('--allow-host <host[:port]>', 'let HTTP and HTTPS reach this host through nook\'s filtering proxy (default ports 80, 443; repeatable)', collect, [])
    .option('-e, --env <KEY=VALUE>', 'set a variable; -e KEY passes your own KEY (repeatable)', collect, [])
    .option('--keep-env', 'pass your whole environment, except variables that look like secrets')
    .option('--timeout <seconds>', 'kill everything in the sandbox after this long (exit 124)')
    .option('--memory <size>', 'memory limit (accepted, not enforced yet)')
    .option('--profile <name>', 'start from a profile: a built-in (build) or one in $XDG_CONFIG_HOME/nook/sandbox.toml')
    .option('--explain', 'print what the command would see, write and reach, as shell commands; run nothing', false)
    .option('--format <format>', 'with --explain: shell (default) or json')
    .action((command: string[], o: Record<string, unknown>) => {
      onInvoke({
        command: 'sandbox',
        options: {
          rw: o.rw as string[],
          ro: o.ro as string[],
          hide: o.hide as string[],
          network: parseSandboxNetwork(o.network as string | undefined),
          allowHosts: o.allowHost as string[],
          env: o.env as string[],
          keepEnv: o.keepEnv as boolean | undefined,
          timeoutSeconds: parseTimeout(o.timeout as string | undefined),
          memory: o.memory as string | undefined,
          profile: o.profile as string | undefined,
          explain: parseExplainFormat(o.explain as boolean, o.format as string | undefined),
          command,
        },
      });
    });
}
