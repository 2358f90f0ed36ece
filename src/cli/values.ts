import { UsageError } from '../errors.js';
import type { OutputFormat, PsFilter } from '../engine/container/options.js';

// Option values the container commands share with the quick parser (quick.ts), which
// must read them exactly as the full one does.

export function parseFormat(value: string | undefined): OutputFormat {
  if (value === undefined || value === 'table') return { kind: 'table' };
  if (value === 'json') return { kind: 'json' };
  return { kind: 'template', template: value };
}

export function parsePsFilter(value: string): PsFilter {
  const eq = value.indexOf('=');
  const key = value.slice(0, eq);
  if (eq < 1 || !['name', 'id', 'status', 'ancestor'].includes(key)) {
    throw new UsageError(`invalid filter "${value}"`, 'use --filter name=REGEX, id=PREFIX, status=created|running|exited or ancestor=IMAGE');
  }
  const filterValue = value.slice(eq + 1);
  if (key === 'status' && !['created', 'running', 'exited'].includes(filterValue)) {
    throw new UsageError(`invalid status "${filterValue}" in --filter`, 'status is created, running or exited');
  }
  if (key === 'name') {
    try {
      new RegExp(filterValue);
    } catch {
      throw new UsageError(`invalid name pattern "${filterValue}" in --filter`, 'name= takes a regular expression, e.g. name=^web');
    }
  }
  return { key: key as PsFilter['key'], value: filterValue };
}

export function parseCount(value: string, flag: string): number {
  if (!/^\d+$/.test(value)) throw new UsageError(`invalid ${flag} "${value}"`, `give ${flag} a whole number`);
  return Number(value);
}
