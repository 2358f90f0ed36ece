import { afterEach, describe, expect, it, vi } from 'vitest';
import { containerEnv } from '../../src/engine/container/env.js';
import { UsageError } from '../../src/errors.js';

describe('containerEnv', () => {
  const defaults = { PATH: '/usr/bin:/bin', TERM: 'xterm', container: 'nook' };

  afterEach(() => vi.unstubAllEnvs());

  it('starts from the defaults', () => {
    expect(containerEnv(defaults, [])).toEqual(['PATH=/usr/bin:/bin', 'TERM=xterm', 'container=nook']);
  });

  it('lets -e override a default in place and append new variables', () => {
    expect(containerEnv(defaults, ['TERM=dumb', 'NEW=1'])).toEqual(['PATH=/usr/bin:/bin', 'TERM=dumb', 'container=nook', 'NEW=1']);
  });

  it('keeps the last of repeated assignments, once', () => {
    expect(containerEnv({}, ['A=1', 'B=2', 'A=3'])).toEqual(['A=3', 'B=2']);
  });

  it('splits at the first = only, and allows empty values', () => {
    expect(containerEnv({}, ['A=b=c', 'EMPTY='])).toEqual(['A=b=c', 'EMPTY=']);
  });

  it('copies a bare -e KEY from the host environment', () => {
    vi.stubEnv('NOOK_UNIT_FROM_HOST', 'host value');
    expect(containerEnv(defaults, ['NOOK_UNIT_FROM_HOST'])).toContain('NOOK_UNIT_FROM_HOST=host value');
  });

  it('skips a bare -e KEY that the host does not set', () => {
    vi.stubEnv('NOOK_UNIT_UNSET', undefined);
    expect(containerEnv(defaults, ['NOOK_UNIT_UNSET'])).toEqual(containerEnv(defaults, []));
  });

  it('refuses a variable without a name', () => {
    expect(() => containerEnv(defaults, ['=x'])).toThrow(UsageError);
    expect(() => containerEnv(defaults, [''])).toThrow(UsageError);
  });
});
