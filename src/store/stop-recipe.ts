import { signalNumber } from '../sys/signals.js';
import type { ContainerRecord } from './container-record.js';

/**
 * In a container's dir, beside its record: what `nook stop` needs of the record, decided
 * here and written in a form bin/nook reads without a JSON parser (native/launcher/stop_command.c),
 * so a stop can run without starting Node (docs/fast-path.md, "Stop"). It is the target of a
 * symlink: no data block (a container costs no more disk), written whole by a rename, read
 * with one readlink. One line each: the magic, the name, the stop signal's number, the
 * signal as configured (for the warning), the stop timeout in seconds. Lines, not
 * length-prefixed fields: a replayed run writes it with a fresh name of another length in
 * place of the recorded one. None of the values can hold a newline (container names cannot;
 * a signal that parses cannot).
 */
export const STOP_RECIPE_FILE = 'stop-recipe';
const MAGIC = 'nook-stop-1';

/** The recipe for `record`; null when its stop signal is not one (the CLI words that at stop). */
export function encodeStopRecipe(record: ContainerRecord): string | null {
  const signal = signalNumber(record.stopSignal);
  if (signal === null) return null;
  return [MAGIC, record.name, String(signal), record.stopSignal, String(record.stopTimeout)].map((line) => `${line}\n`).join('');
}
