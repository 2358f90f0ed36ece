import { describe, expect, it, vi } from 'vitest';
import { HostError } from '../../src/errors.js';
import { compileFilter } from '../../src/seccomp/libseccomp.js';

// A host without libseccomp: dlopen fails.
vi.mock('koffi', () => ({
  default: {
    load: (name: string) => {
      throw new Error(`${name}: cannot open shared object file: No such file or directory`);
    },
  },
}));

describe('compileFilter without libseccomp', () => {
  it('fails with exit 125 and says how to go on', () => {
    let error: unknown;
    try {
      compileFilter({ defaultAction: 0x7fff0000, arches: ['x86_64'], rules: [] });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(HostError);
    expect((error as HostError).exitCode).toBe(125);
    expect((error as HostError).message).toMatch(/libseccomp is not available/);
    expect((error as HostError).hint).toMatch(/libseccomp2.*seccomp=unconfined/);
  });
});
