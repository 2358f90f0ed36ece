import { describe, expect, it } from 'vitest';
import { leanInvocation } from '../../src/cli/lean.js';
import { createProgram, type Invocation } from '../../src/cli/program.js';

/** What the full parser makes of `argv`: the invocation, or the error it throws. */
function fullParse(argv: readonly string[]): { invocation?: Invocation; error?: unknown } {
  let invocation: Invocation | undefined;
  const quiet = { out: () => undefined, err: () => undefined };
  try {
    createProgram(quiet, (i) => (invocation = i), argv).parse([...argv], { from: 'user' });
  } catch (error) {
    return { error };
  }
  return invocation === undefined ? {} : { invocation };
}

function leanParse(argv: readonly string[]): { invocation?: Invocation | null; error?: unknown } {
  try {
    return { invocation: leanInvocation(argv) };
  } catch (error) {
    return { error };
  }
}

describe('the lean parser', () => {
  it('reads the plain command lines of ps, stop and rm as the full parser does', () => {
    const lines = [
      ['ps'], ['ps', '-a'], ['ps', '--all'], ['ps', '-q'], ['ps', '-aq'], ['ps', '-qa'], ['ps', '--quiet', '--all'], ['ps', '--no-trunc'],
      ['ps', '-a', '--format', 'json'], ['ps', '--format={{.Names}} {{.Status}}'], ['ps', '--format', 'table'],
      ['ps', '-f', 'name=web', '--filter', 'status=running'], ['ps', '--filter=id=ab', '-a'],
      ['stop', 'web'], ['stop', 'a', 'b'], ['stop', '-t', '10', 'web'], ['stop', 'web', '-t', '0'], ['stop', '--time', '3', 'web'], ['stop', '--time=3', 'web'],
      ['rm', 'web'], ['rm', '-f', 'web'], ['rm', '-fv', 'a', 'b'], ['rm', '--force', '--volumes', 'web'], ['rm', '-f', '-t', '0', 'web'], ['rm', 'web', '--time=2', '-v'],
    ];
    for (const argv of lines) {
      const lean = leanParse(argv);
      expect([argv, lean.invocation]).not.toEqual([argv, null]);
      expect([argv, lean]).toEqual([argv, fullParse(argv)]);
    }
  });

  it('throws the full parser\'s error for a bad value', () => {
    for (const argv of [['stop', '-t', 'soon', 'web'], ['rm', '-f', '--time', '1.5', 'web'], ['ps', '-f', 'colour=red'], ['ps', '--filter', 'status=paused'], ['ps', '-f', 'name=(']]) {
      const lean = leanParse(argv);
      expect(lean.error).toBeDefined();
      expect([argv, lean]).toEqual([argv, fullParse(argv)]);
    }
  });

  it('leaves every other line to the full parser', () => {
    const lines = [
      [], ['run', 'alpine'], ['ps', 'extra'], ['ps', '--help'], ['ps', '-h'], ['ps', '-x'], ['ps', '--'], ['ps', '--all=yes'], ['ps', '--format'], ['ps', '--format', '-a'],
      ['ps', '-af', 'name=x'], ['stop'], ['stop', '-t', '5'], ['stop', '-t'], ['stop', '-t5', 'web'], ['stop', '-t', '1', '-t', '2', 'web'], ['stop', '--', 'web'], ['stop', '-', 'web'],
      ['rm'], ['rm', '-f'], ['rm', '-ft', '0', 'web'], ['rm', '-f', '-f', 'web'], ['rm', '--time=', 'web'], ['remove', 'web'], ['--storage-driver', 'vfs', 'ps'],
    ];
    for (const argv of lines) expect([argv, leanInvocation(argv)]).toEqual([argv, null]);
  });
});
