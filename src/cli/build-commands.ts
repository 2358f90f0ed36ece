import { Option, type Command } from 'commander';
import { UsageError } from '../errors.js';
import type { PullPolicy } from '../engine/image/auto-pull.js';
import type { BuildNetwork, BuildOptions } from '../engine/build/options.js';
import { tlsVerifyOption } from './image-commands.js';

export type BuildInvocation = { readonly command: 'build'; readonly options: BuildOptions };

const collect = (value: string, previous: string[]): string[] => [...previous, value];

function keyValues(values: readonly string[], flag: string, fromEnv: boolean): Map<string, string> {
  const map = new Map<string, string>();
  for (const item of values) {
    const eq = item.indexOf('=');
    if (eq === 0) throw new UsageError(`invalid --${flag} "${item}"`, `use --${flag} KEY=VALUE`);
    if (eq < 0) {
      if (!fromEnv) throw new UsageError(`invalid --${flag} "${item}"`, `use --${flag} KEY=VALUE`);
      // podman: --build-arg NAME takes NAME's value from the environment, if it is set.
      const value = process.env[item];
      if (value !== undefined) map.set(item, value);
      continue;
    }
    map.set(item.slice(0, eq), item.slice(eq + 1));
  }
  return map;
}

const POLICIES = ['true', 'false', 'always', 'missing', 'never'];

function parsePull(value: string | boolean | undefined): PullPolicy {
  if (value === undefined) return 'missing';
  if (value === true || value === 'true' || value === 'always') return 'always';
  if (value === 'missing' || value === 'false') return 'missing';
  if (value === 'never') return 'never';
  throw new UsageError(`unknown pull policy "${String(value)}"`, 'use --pull missing (the default), always or never');
}

function parseNetwork(value: string): BuildNetwork | 'default' {
  if (value === 'default' || value === 'pasta' || value === 'none' || value === 'host') return value;
  throw new UsageError(`network mode "${value}" is not supported for RUN steps`, 'use --network pasta (the default where it is installed), none or host');
}

function parseSecrets(values: readonly string[]): Map<string, string> {
  const secrets = new Map<string, string>();
  for (const value of values) {
    const fields = new Map(value.split(',').map((part) => [part.slice(0, Math.max(0, part.indexOf('='))), part.slice(part.indexOf('=') + 1)] as const));
    const id = fields.get('id');
    const src = fields.get('src') ?? fields.get('source');
    if (!id || !src) throw new UsageError(`invalid --secret "${value}"`, 'use --secret id=NAME,src=FILE');
    secrets.set(id, src.startsWith('/') ? src : `${process.cwd()}/${src}`);
  }
  return secrets;
}

function parseTimestamp(value: string | undefined): number | null {
  const given = value ?? process.env.SOURCE_DATE_EPOCH;
  if (given === undefined || given === '') return null;
  if (!/^\d+$/.test(given)) throw new UsageError(`invalid timestamp "${given}"`, 'give seconds since the epoch, e.g. --timestamp 0');
  return Number(given);
}

function buildOptions(given: string | undefined, o: Record<string, unknown>): BuildOptions {
  const files = o.file as string[];
  // A bare `--pull` takes the word after it as its value: `--pull DIR` means pull always, build DIR.
  let context = given ?? '.';
  if (typeof o.pull === 'string' && !POLICIES.includes(o.pull) && given === undefined) {
    context = o.pull;
    o.pull = true;
  }
  if (files.length > 1) throw new UsageError('nook build reads one Containerfile', 'give -f once');
  return {
    context,
    file: files[0] ?? null,
    tags: o.tag as string[],
    buildArgs: keyValues(o.buildArg as string[], 'build-arg', true),
    target: (o.target as string | undefined) ?? null,
    noCache: o.cache === false,
    pull: parsePull(o.pull as string | boolean | undefined),
    tlsVerify: o.tlsVerify as boolean,
    network: parseNetwork(o.network as string),
    labels: keyValues(o.label as string[], 'label', false),
    platform: (o.platform as string | undefined) ?? null,
    quiet: o.quiet as boolean,
    iidfile: (o.iidfile as string | undefined) ?? null,
    timestamp: parseTimestamp(o.timestamp as string | undefined),
    secrets: parseSecrets(o.secret as string[]),
  };
}

function defineBuild(cmd: Command, onInvoke: (invocation: BuildInvocation) => void): void {
  cmd
    .description('build an image from a Containerfile or Dockerfile')
    .argument('[context]', 'the build context directory (default: .)')
    .option('-t, --tag <name>', 'name the image (repeatable)', collect, [])
    .option('-f, --file <file>', 'the Containerfile (default: Containerfile, else Dockerfile, in the context; - for stdin)', collect, [])
    .option('--build-arg <key=value>', 'set a build argument (repeatable)', collect, [])
    .option('--target <stage>', 'build up to this stage')
    .option('--no-cache', 'run every step, reusing no cached layer')
    .addOption(new Option('--pull [policy]', 'when to pull the base images: missing, always or never'))
    .addOption(tlsVerifyOption())
    .option('--network <mode>', 'network of RUN steps: pasta, none or host (default: pasta where installed)', 'default')
    .option('--label <key=value>', 'add a label to the image (repeatable)', collect, [])
    .option('--platform <os/arch>', 'only this host\'s platform can be built')
    .option('-q, --quiet', 'print only the image id', false)
    .option('--iidfile <file>', 'write the image id to this file')
    .option('--timestamp <seconds>', 'created time of the image and its files, for reproducible builds (default: SOURCE_DATE_EPOCH)')
    .option('--secret <id=X,src=FILE>', 'a secret RUN --mount=type=secret can read (repeatable)', collect, [])
    .action((context: string | undefined, o: Record<string, unknown>) => onInvoke({ command: 'build', options: buildOptions(context, o) }));
}

/** Adds `build` and `image build`. */
export function addBuildCommands(program: Command, onInvoke: (invocation: BuildInvocation) => void): void {
  defineBuild(program.command('build'), onInvoke);
  const image = program.commands.find((c) => c.name() === 'image');
  if (image !== undefined) defineBuild(image.command('build'), onInvoke);
}
