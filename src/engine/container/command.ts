import { UsageError } from '../../errors.js';
import { effectiveCommand } from '../../image/run-config.js';
import { existsInRoot } from '../../rootfs/resolve.js';
import type { CreateOptions } from './create-options.js';
import type { PreparedRoot } from './root.js';

/**
 * The command a new container runs: for an image its entrypoint and Cmd as --entrypoint and
 * the arguments change them; for a directory the arguments, else its /bin/sh.
 */
export function containerCommand(opts: Pick<CreateOptions, 'source' | 'entrypoint' | 'command'>, root: PreparedRoot): readonly string[] {
  if (opts.source.kind === 'rootfs') {
    if (opts.command.length > 0) return opts.command;
    if (root.rootfs.kind === 'directory' && existsInRoot(root.rootfs.path, '/bin/sh')) return ['/bin/sh'];
    throw new UsageError(
      `no command given, and rootfs "${opts.source.path}" has no /bin/sh to run by default`,
      `name the command: nook run --rootfs ${opts.source.path} -- CMD [ARG...]`,
    );
  }
  const argv = effectiveCommand(root.config!, opts.entrypoint, opts.command);
  if (argv.length === 0) {
    throw new UsageError(`no command given, and image ${opts.source.name} has no ENTRYPOINT or CMD`, `name the command: nook run ${opts.source.name} CMD [ARG...]`);
  }
  return argv;
}
