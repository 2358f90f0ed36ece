import { NookError, type ExitCode } from '../../errors.js';

/** A build that cannot go on: a bad Containerfile, a missing source, a failed step. */
export class BuildError extends NookError {
  constructor(message: string, hint?: string, exitCode: ExitCode = 125) {
    super('build', message, hint === undefined ? { exitCode } : { hint, exitCode });
    this.name = 'BuildError';
  }
}
