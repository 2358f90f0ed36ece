import { Option, type Command } from 'commander';
import type { ExistsInvocation } from '../engine/system/exists.js';

/** The volume commands' invocations (see createProgram). */
export type VolumeInvocation =
  | { readonly command: 'volume-create'; readonly name: string | undefined }
  | { readonly command: 'volume-ls'; readonly options: { readonly format: 'table' | 'json'; readonly quiet: boolean } }
  | { readonly command: 'volume-inspect'; readonly names: readonly string[] }
  | { readonly command: 'volume-rm'; readonly options: { readonly names: readonly string[]; readonly force: boolean } }
  | { readonly command: 'volume-prune'; readonly options: { readonly force: boolean } };

/** Adds `volume create|ls|inspect|rm|prune` to the program. */
export function addVolumeCommands(program: Command, onInvoke: (invocation: VolumeInvocation | ExistsInvocation) => void): void {
  const volume = program.command('volume').description('manage volumes');
  volume
    .command('create')
    .description('create a volume (a random name when none is given)')
    .argument('[name]', 'volume name')
    .action((name: string | undefined) => onInvoke({ command: 'volume-create', name }));
  volume
    .command('ls')
    .alias('list')
    .description('list volumes')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .option('-q, --quiet', 'print only the names', false)
    .action((o: Record<string, unknown>) => onInvoke({ command: 'volume-ls', options: { format: o.format as 'table' | 'json', quiet: o.quiet as boolean } }));
  volume
    .command('exists')
    .description('exit 0 if the volume exists, 1 if not')
    .argument('<name>', 'volume name')
    .action((name: string) => onInvoke({ command: 'exists', kind: 'volume', name }));
  volume
    .command('inspect')
    .description('show volumes as JSON')
    .argument('<name...>', 'volume names')
    .action((names: string[]) => onInvoke({ command: 'volume-inspect', names }));
  volume
    .command('rm')
    .alias('remove')
    .description('remove volumes that no container uses')
    .argument('<name...>', 'volume names')
    .option('-f, --force', 'no error for a volume that does not exist', false)
    .action((names: string[], o: Record<string, unknown>) => onInvoke({ command: 'volume-rm', options: { names, force: o.force as boolean } }));
  volume
    .command('prune')
    .description('remove every volume no container uses')
    .option('-f, --force', 'do not ask for confirmation', false)
    .action((o: Record<string, unknown>) => onInvoke({ command: 'volume-prune', options: { force: o.force as boolean } }));
}
