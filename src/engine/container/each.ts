import { NookError } from '../../errors.js';
import type { ContainerRecord } from '../../store/containers.js';
import { CorruptContainerError, findContainer, type OpenedContainers } from './lookup.js';
import type { ContainerIO } from './options.js';

/**
 * Runs `fn` for each named container; carries on past failures as podman does. The first
 * failure is the command's error, the others are printed. A container whose record is
 * corrupt goes to `corrupt` (by default, a failure).
 */
export async function eachContainer(
  refs: readonly string[],
  opened: OpenedContainers,
  io: ContainerIO,
  fn: (record: ContainerRecord, ref: string) => Promise<void>,
  missing: 1 | 125 = 125,
  corrupt: (err: CorruptContainerError, ref: string) => Promise<void> = (err) => Promise.reject(err),
): Promise<number> {
  let first: NookError | null = null;
  for (const ref of refs) {
    try {
      let record: ContainerRecord;
      try {
        record = findContainer(opened.containers, ref, missing);
      } catch (err) {
        if (!(err instanceof CorruptContainerError)) throw err;
        await corrupt(err, ref);
        continue;
      }
      await fn(record, ref);
    } catch (err) {
      if (!(err instanceof NookError)) throw err;
      if (first === null) first = err;
      else io.err(`Error: ${err.message}`);
    }
  }
  if (first !== null) throw first;
  return 0;
}
