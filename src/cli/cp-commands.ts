import { Option, type Command } from 'commander';
import type { CopyOptions, ExportOptions, HostLocation } from '../engine/container/cp.js';
import { UsageError } from '../errors.js';

/** One argument of `nook cp`, before it is known which side is the container's. */
export type CopyLocation = HostLocation | { readonly kind: 'container'; readonly container: string; readonly path: string };

/** The invocations of `cp` and `export` (see createProgram). */
export type CpInvocation = { readonly command: 'cp'; readonly options: CopyOptions } | { readonly command: 'export'; readonly options: ExportOptions };

/**
 * One argument of `nook cp`: `-` (a tar stream), `CONTAINER:PATH`, or a host path. As in
 * docker, a colon after a `/` belongs to a host path (`./a:b`, `/x:y`), so a host file
 * whose name holds a colon is written with a `./` or a `/` in front.
 */
export function parseCopyLocation(arg: string): CopyLocation {
  if (arg === '-') return { kind: 'stream' };
  const colon = arg.indexOf(':');
  const slash = arg.indexOf('/');
  if (colon <= 0 || (slash !== -1 && slash < colon) || arg.startsWith('.')) return { kind: 'host', path: arg };
  const path = arg.slice(colon + 1);
  if (path === '') throw new UsageError(`"${arg}" names no path in the container`, `e.g. ${arg}/ for its root directory`);
  return { kind: 'container', container: arg.slice(0, colon), path };
}

/** Exactly one side in a container; `-` only opposite one. */
export function parseCopyArguments(source: string, destination: string, archive: boolean): CopyOptions {
  const from = parseCopyLocation(source);
  const to = parseCopyLocation(destination);
  if (from.kind === 'container') {
    if (to.kind === 'container') throw new UsageError('copying between containers is not supported', 'copy to the host first, then into the other container');
    return { container: from.container, containerPath: from.path, host: to, direction: 'out', archive };
  }
  if (to.kind === 'container') return { container: to.container, containerPath: to.path, host: from, direction: 'in', archive };
  throw new UsageError('one of the paths must be CONTAINER:PATH', 'e.g. nook cp ./file box:/tmp/ or nook cp box:/etc/hosts .');
}

function parseArchive(value: string | undefined): boolean {
  if (value === undefined || value === 'true') return true;
  if (value === 'false') return false;
  throw new UsageError(`--archive takes true or false, not "${value}"`, 'write --archive=false (a lone -a is the default anyway)');
}

/** Adds `cp` and `export` to the program. */
export function addCpCommands(program: Command, onInvoke: (invocation: CpInvocation) => void): void {
  program
    .command('cp')
    .description('copy files between a container and the host ("-": a tar stream on stdin or stdout)')
    .usage('[options] CONTAINER:SRC DEST | SRC CONTAINER:DEST')
    .argument('<source>', 'CONTAINER:PATH, a host path, or -')
    .argument('<destination>', 'CONTAINER:PATH, a host path, or -')
    .addOption(
      new Option('-a, --archive [bool]', "files copied in belong to the container's user (false: keep the owners of the source)")
        .argParser(parseArchive)
        .default(true),
    )
    .action((source: string, destination: string, o: { archive: boolean }) => {
      onInvoke({ command: 'cp', options: parseCopyArguments(source, destination, o.archive) });
    });

  program
    .command('export')
    .description("write a container's root filesystem as a tar archive")
    .argument('<container>', 'container name or ID')
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .action((container: string, o: { output?: string }) => {
      onInvoke({ command: 'export', options: { container, output: o.output ?? null } });
    });
}
