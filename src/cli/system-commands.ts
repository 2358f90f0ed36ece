import type { Command } from 'commander';
import { UsageError } from '../errors.js';

/** The invocations of `nook system …` (see createProgram). */
export type SystemInvocation =
  | { readonly command: 'system-reset'; readonly force: boolean }
  | { readonly command: 'system-prune'; readonly force: boolean; readonly volumes: boolean }
  | { readonly command: 'system-df' }
  | { readonly command: 'system-check'; readonly repair: boolean; readonly maxAgeMs: number };

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration as podman takes it: 24h, 90m, 1h30m, 45s. */
export function parseDuration(value: string, flag: string): number {
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(value)) throw new UsageError(`invalid ${flag} "${value}"`, 'give a duration such as 24h, 90m or 1h30m');
  let ms = 0;
  for (const [, n, unit] of value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) ms += Number(n) * UNIT_MS[unit!]!;
  return ms;
}

/** Adds `system df`, `system check`, `system prune` and `system reset`. */
export function addSystemCommands(program: Command, onInvoke: (invocation: SystemInvocation) => void): void {
  const system = program.command('system').description('manage all of nook\'s data');
  system
    .command('df')
    .description('show the disk space images, containers and volumes take')
    .action(() => onInvoke({ command: 'system-df' }));
  system
    .command('check')
    .description('check the store for what crashes and hand edits leave, and with --repair fix it')
    .option('-r, --repair', 'repair what can be, remove what cannot be used', false)
    .option('-m, --max <duration>', 'leave layers no image uses alone while younger than this (a pull may be committing them)', '24h')
    .action((o: { repair: boolean; max: string }) => onInvoke({ command: 'system-check', repair: o.repair, maxAgeMs: parseDuration(o.max, '--max') }));
  system
    .command('reset')
    .description('remove every container, image and volume: the whole store and runtime dir')
    .option('-f, --force', 'do not ask for confirmation', false)
    .action((o: { force: boolean }) => onInvoke({ command: 'system-reset', force: o.force }));
  system
    .command('prune')
    .description('remove stopped containers and dangling images (and unused volumes with --volumes)')
    .option('-f, --force', 'do not ask for confirmation', false)
    .option('--volumes', 'also remove the volumes no container uses', false)
    .action((o: { force: boolean; volumes: boolean }) => onInvoke({ command: 'system-prune', force: o.force, volumes: o.volumes }));
}
