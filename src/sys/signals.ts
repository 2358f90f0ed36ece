import { constants } from 'node:os';
import { UsageError } from '../errors.js';

/** A signal as podman takes it (KILL, SIGKILL, kill or 9): its number, or null. */
export function signalNumber(value: string): number | null {
  if (/^\d+$/.test(value)) {
    const n = Number(value);
    return n >= 1 && n <= 64 ? n : null;
  }
  const name = value.toUpperCase().replace(/^SIG/, '');
  return (constants.signals as Record<string, number>)[`SIG${name}`] ?? null;
}

/** signalNumber, or the UsageError that says what a signal looks like. */
export function parseSignal(value: string): number {
  const n = signalNumber(value);
  if (n === null) throw new UsageError(`invalid signal "${value}"`, 'give a signal name such as TERM or KILL, or its number');
  return n;
}
