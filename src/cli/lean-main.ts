// dist/lean.cjs: ps, stop and rm without commander and without what other commands need
// (see lean.ts); entry.ts loads it for them.
import { executeLeanCommand, type LeanInvocation } from '../engine/container/lean-commands.js';
import { io, reportFailure } from './io.js';
import { leanInvocation } from './lean.js';

/**
 * Runs `argv` (the arguments after `nook`) when the lean path takes it, and resolves to
 * its exit code; null: the full CLI must run it.
 */
export function runLean(argv: readonly string[]): Promise<number> | null {
  let invocation: LeanInvocation | null;
  try {
    invocation = leanInvocation(argv);
  } catch (err) {
    return Promise.resolve(reportFailure(err));
  }
  if (invocation === null) return null;
  return executeLeanCommand(invocation, io).catch(reportFailure);
}
