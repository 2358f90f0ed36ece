import { NookError } from '../../errors.js';
import type { ContainerRecord } from '../../store/containers.js';
import { findContainer, type OpenedContainers } from './lookup.js';
import type { ContainerIO } from './options.js';

/**
 * Runs `fn` for each named container; carries on past failures as podman does. The first
 * failure is the command's error, the others are printed.
 */
export async function eachContainer(
  refs: readonly string[],
  opened: OpenedContainers,
  io: ContainerIO,
  fn: (record: ContainerRecord, ref: string) => Promise<void>,
  missing: 1 | 125 = 125,
): Promise<number> {
  let first: NookError | null = null;
  for (const ref of refs) {
    try {
      await fn(findContainer(opened.containers, ref, missing), ref);
    } catch (err) {
      if (!(err instanceof NookError)) throw err;
      if (first === null) first = err;
      else io.err(`Error: ${err.message}`);
    }
  }
  if (first !== null) throw first;
  return 0;
}
