import { encodePlan } from '../plan/encode.js';
import { compileUsernsPlan } from '../plan/userns.js';
import type { ContainerIdMaps } from '../sys/idmap.js';
import { runtimeDir } from '../sys/paths.js';
import { launchRuntime, type LaunchOptions, type RuntimeResult } from './launch.js';
import { reportToError } from './report-error.js';

/**
 * Runs a host command as root of a new user namespace with the container id maps, so that
 * the files it creates or removes can belong to any container id. Throws the runtime's
 * own failures (no newuidmap range, command not found …) as NookErrors.
 */
export async function runInUserns(
  maps: ContainerIdMaps,
  argv: readonly string[],
  env: readonly string[],
  options: LaunchOptions = {},
): Promise<RuntimeResult> {
  const result = await launchRuntime(encodePlan(compileUsernsPlan(maps, argv, env)), runtimeDir(), options);
  if (result.report !== null) throw reportToError(result.report, { rootfs: '/' });
  return result;
}
