import { runInUserns } from '../../runtime/userns.js';
import { containerIdMaps } from '../../sys/idmap.js';

/**
 * `nook unshare [CMD...]`, as `podman unshare`: a command (default: your shell) as root of a
 * user namespace with the container id maps, to inspect or clean up files that belong to
 * container ids (for example the layers in nook's store).
 */
export async function unshareCommand(command: readonly string[], warn: (line: string) => void): Promise<number> {
  const maps = containerIdMaps();
  if (maps.warning !== null) warn(`WARN: ${maps.warning}`);
  const argv = command.length > 0 ? command : [process.env.SHELL || '/bin/sh'];
  const env = Object.entries(process.env).flatMap(([key, value]) => (value === undefined || key === '' ? [] : [`${key}=${value}`]));
  return (await runInUserns(maps, argv, env)).status;
}
