import type { Command } from 'commander';

/** The invocations of `nook system …` (see createProgram). */
export type SystemInvocation =
  | { readonly command: 'system-reset'; readonly force: boolean }
  | { readonly command: 'system-prune'; readonly force: boolean; readonly volumes: boolean }
  | { readonly command: 'system-df' };

/** Adds `system df`, `system prune` and `system reset`. */
export function addSystemCommands(program: Command, onInvoke: (invocation: SystemInvocation) => void): void {
  const system = program.command('system').description('manage all of nook\'s data');
  system
    .command('df')
    .description('show the disk space images, containers and volumes take')
    .action(() => onInvoke({ command: 'system-df' }));
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
