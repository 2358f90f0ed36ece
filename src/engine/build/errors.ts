import { NookError } from '../../errors.js';

/** A build that cannot go on: a bad Containerfile, a missing source, a failed step. */
export class BuildError extends NookError {
  constructor(message: string, hint?: string) {
    super('build', message, hint === undefined ? {} : { hint });
    this.name = 'BuildError';
  }
}

/**
 * A RUN step whose command failed. Not a NookError: like podman, nook build then exits
 * with the command's own status, which no fixed exit code could carry.
 */
export class RunStepFailed extends Error {
  constructor(
    readonly step: string,
    readonly status: number,
  ) {
    super(`building at STEP "${step}": while running runtime: exit status ${status}`);
    this.name = 'RunStepFailed';
  }
}
