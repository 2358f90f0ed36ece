import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import type { ExistsInvocation } from '../engine/system/exists.js';
import type { RestartPolicy } from '../store/containers.js';
import type { ContainerInvocation } from '../engine/container/options.js';
import { addCgroupLimitOptions, parseCgroupLimits, type LimitFlags } from './limit-options.js';
import { parseCount, parseFormat, parsePsFilter } from './values.js';

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * podman's --since/--until: an RFC 3339 time or date, Unix seconds, or a Go duration before
 * now (10m, 1h30m).
 */
export function parseLogTime(value: string, flag: string, now = Date.now()): number {
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  if (/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(value)) {
    let ms = 0;
    for (const [, n, unit] of value.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) ms += Number(n) * DURATION_UNITS[unit!]!;
    return now - ms;
  }
  const time = Date.parse(value);
  if (Number.isNaN(time)) throw new UsageError(`invalid ${flag} "${value}"`, 'give a time (2024-05-01T10:00:00Z), Unix seconds, or a duration before now (10m, 1h30m)');
  return time;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** podman's --restart: no, on-failure[:N], always (unless-stopped is always here: nothing restarts at boot). */
export function parseRestart(value: string): RestartPolicy {
  const m = /^(no|always|unless-stopped|on-failure)(?::(\d+))?$/.exec(value);
  if (!m || (m[2] !== undefined && m[1] !== 'on-failure')) {
    throw new UsageError(`invalid restart policy "${value}"`, 'use --restart no, on-failure[:MAX-RETRIES] or always');
  }
  const policy = m[1] === 'unless-stopped' ? 'always' : (m[1] as RestartPolicy['policy']);
  return { policy, maxRetries: m[2] === undefined ? 0 : Number(m[2]) };
}

/** --env-file: KEY=VALUE lines; blank lines and # comments skipped; a bare KEY copies the host's. */
export function readEnvFile(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read env file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'give --env-file a readable file of NAME=VALUE lines');
  }
  return text
    .split('\n')
    .map((line) => line.replace(/\r$/, ''))
    .filter((line) => line.trim() !== '' && !line.trimStart().startsWith('#'));
}

/** -e and --env-file in one list, files first (podman applies -e over the files). */
export function environmentFlags(o: Record<string, unknown>): string[] {
  return [...(o.envFile as string[]).flatMap(readEnvFile), ...(o.env as string[])];
}

function addExec(parent: Command, onInvoke: (invocation: ContainerInvocation) => void): void {
  parent
    .command('exec')
    .description('run a command in a running container')
    .usage('[options] CONTAINER COMMAND [ARG...]')
    .argument('<container>', 'name or ID')
    .argument('<command...>', 'the command and its arguments')
    .passThroughOptions()
    .option('-i, --interactive', 'keep stdin open for the command', false)
    .option('-t, --tty', 'give the command a terminal', false)
    .option('-u, --user <user[:group]>', 'user (name or uid) and group to run as')
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .option('-e, --env <KEY=VALUE>', 'set an environment variable (repeatable)', collect, [])
    .option('--env-file <file>', 'read environment variables from a file (repeatable)', collect, [])
    .action((container: string, argv: string[], o: Record<string, unknown>) =>
      onInvoke({
        command: 'exec',
        options: {
          container,
          argv,
          interactive: o.interactive as boolean,
          tty: o.tty as boolean,
          user: o.user as string | undefined,
          workdir: o.workdir as string | undefined,
          env: environmentFlags(o),
        },
      }),
    );
}

/**
 * Adds the container commands, at the top level and (as podman) under `nook container`;
 * `only`: just that one, at the top level (createProgram's quick path).
 */
export function addContainerCommands(program: Command, onInvoke: (invocation: ContainerInvocation | ExistsInvocation) => void, only: 'exec' | null): void {
  if (only === 'exec') {
    addExec(program, onInvoke);
    return;
  }
  const group = program.command('container').description('manage containers');
  for (const parent of [program, group]) {
    parent
      .command('start')
      .description('start created or stopped containers')
      .argument('<container...>', 'names or IDs')
      .option('-a, --attach', 'stay attached: print its output and return its exit code', false)
      .action((containers: string[], o: Record<string, unknown>) => onInvoke({ command: 'start', containers, attach: o.attach as boolean }));
    const ps = parent === program ? parent.command('ps') : parent.command('ls').aliases(['list', 'ps']);
    ps.description('list containers')
      .option('-a, --all', 'show every container, not only running ones', false)
      .option('-q, --quiet', 'print only the IDs', false)
      .option('--no-trunc', 'show full IDs and commands')
      .option('--format <format>', "table, json, or a Go template such as '{{.Names}} {{.Status}}'")
      .option('-f, --filter <key=value>', 'name=REGEX, id=PREFIX, status=STATE or ancestor=IMAGE (repeatable)', collect, [])
      .action((o: Record<string, unknown>) =>
        onInvoke({
          command: 'ps',
          options: {
            all: o.all as boolean,
            quiet: o.quiet as boolean,
            format: parseFormat(o.format as string | undefined),
            noTrunc: o.trunc === false,
            filters: (o.filter as string[]).map(parsePsFilter),
          },
        }),
      );
    parent
      .command('logs')
      .description("show a container's output")
      .argument('<container>', 'name or ID')
      .option('-f, --follow', 'keep printing new output until the container stops', false)
      .option('--tail <n>', 'only the last N lines')
      .option('-t, --timestamps', 'prefix each line with its time', false)
      .option('--since <time>', 'only lines since a time, or a duration before now (10m)')
      .option('--until <time>', 'only lines before a time, or a duration before now')
      .action((container: string, o: Record<string, unknown>) =>
        onInvoke({
          command: 'logs',
          options: {
            container,
            follow: o.follow as boolean,
            tail: o.tail === undefined ? null : parseCount(o.tail as string, '--tail'),
            timestamps: o.timestamps as boolean,
            since: o.since === undefined ? null : parseLogTime(o.since as string, '--since'),
            until: o.until === undefined ? null : parseLogTime(o.until as string, '--until'),
          },
        }),
      );
    addExec(parent, onInvoke);
    parent
      .command('stop')
      .description('stop running containers: the stop signal, then SIGKILL after the timeout')
      .argument('<container...>', 'names or IDs')
      .option('-t, --time <seconds>', 'seconds to wait before killing (default: 10)')
      .action((containers: string[], o: Record<string, unknown>) =>
        onInvoke({ command: 'stop', containers, timeout: o.time === undefined ? undefined : parseCount(o.time as string, '--time') }),
      );
    parent
      .command('kill')
      .description('send a signal to running containers')
      .argument('<container...>', 'names or IDs')
      .option('-s, --signal <signal>', 'signal name or number', 'KILL')
      .action((containers: string[], o: Record<string, unknown>) => onInvoke({ command: 'kill', containers, signal: o.signal as string }));
    parent
      .command('rm')
      .alias('remove')
      .description('remove containers')
      .argument('<container...>', 'names or IDs')
      .option('-f, --force', 'stop running containers first (the stop signal, then SIGKILL after the timeout)', false)
      .option('-t, --time <seconds>', 'with -f: seconds to wait before killing (default: the container\'s stop timeout, 10)')
      .option('-v, --volumes', 'also remove their anonymous volumes', false)
      .action((containers: string[], o: Record<string, unknown>) =>
        onInvoke({
          command: 'rm',
          containers,
          force: o.force as boolean,
          volumes: o.volumes as boolean,
          timeout: o.time === undefined ? undefined : parseCount(o.time as string, '--time'),
        }),
      );
    parent
      .command('wait')
      .description('wait for containers to stop and print their exit codes')
      .argument('<container...>', 'names or IDs')
      .action((containers: string[]) => onInvoke({ command: 'wait', containers }));
    parent
      .command('top')
      .description("show a running container's processes")
      .argument('<container>', 'name or ID')
      .action((container: string) => onInvoke({ command: 'top', container }));
    addCgroupLimitOptions(
      parent
        .command('update')
        .description("change a container's cgroup limits (at once if it runs with them enforced)")
        .argument('<container>', 'name or ID'),
    ).action((container: string, o: LimitFlags) => onInvoke({ command: 'update', container, limits: parseCgroupLimits(o) }));
    parent
      .command('stats')
      .description('show what running containers use: CPU, memory, processes')
      .argument('[container...]', 'names or IDs (default: every running container)')
      .option('--no-stream', 'print once and exit')
      .option('--format <format>', 'table or json', 'table')
      .option('-i, --interval <seconds>', 'seconds between updates while streaming', '5')
      .action((containers: string[], o: Record<string, unknown>) => {
        const format = o.format as string;
        if (format !== 'table' && format !== 'json') throw new UsageError(`unknown --format "${format}"`, 'use --format json, or leave it out');
        const interval = parseCount(o.interval as string, '--interval');
        if (interval < 1) throw new UsageError('--interval must be at least 1 second', 'give a whole number of seconds');
        onInvoke({ command: 'stats', options: { containers, stream: o.stream as boolean, format, interval } });
      });
    parent
      .command('port')
      .description("list a container's published ports, or the host addresses of one")
      .argument('<container>', 'name or ID')
      .argument('[port]', 'a container port, e.g. 80 or 53/udp')
      .action((container: string, port: string | undefined) => onInvoke({ command: 'port', container, port }));
    parent
      .command('rename')
      .description('rename a container')
      .argument('<container>', 'name or ID')
      .argument('<name>', 'the new name')
      .action((container: string, name: string) => onInvoke({ command: 'rename', container, name }));
  }
  group
    .command('inspect')
    .description('show containers as JSON')
    .argument('<container...>', 'names or IDs')
    .option('-f, --format <template>', "a Go template instead of JSON, e.g. '{{.State.Pid}}'")
    .action((names: string[], o: Record<string, unknown>) => onInvoke({ command: 'inspect', names, only: 'container', format: o.format as string | undefined }));
  group
    .command('exists')
    .description('exit 0 if the container exists, 1 if not')
    .argument('<container>', 'name or ID')
    .action((name: string) => onInvoke({ command: 'exists', kind: 'container', name }));
  group
    .command('prune')
    .description('remove every container that is not running')
    .option('-f, --force', 'do not ask for confirmation', false)
    .action((o: Record<string, unknown>) => onInvoke({ command: 'container-prune', force: o.force as boolean }));
  program
    .command('inspect')
    .description('show containers or images as JSON')
    .argument('<name...>', 'container or image names or IDs')
    .option('-f, --format <template>', "a Go template instead of JSON, e.g. '{{.State.Pid}}'")
    .action((names: string[], o: Record<string, unknown>) => onInvoke({ command: 'inspect', names, only: null, format: o.format as string | undefined }));
}
