/**
 * Every failure nook reports is a NookError: a stable code, the exit status podman would
 * give (125 nook's own, 126 cannot invoke, 127 not found), and a hint saying how to fix it.
 * The top-level handler prints `Error: message` and the hint, then exits with exitCode.
 */
export type ExitCode = 125 | 126 | 127;

export class NookError extends Error {
  readonly code: string;
  readonly exitCode: ExitCode;
  readonly hint: string | undefined;

  constructor(code: string, message: string, options: { hint?: string; exitCode?: ExitCode; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'NookError';
    this.code = code;
    this.exitCode = options.exitCode ?? 125;
    this.hint = options.hint;
  }
}

/** The command line asked for something malformed. */
export class UsageError extends NookError {
  constructor(message: string, hint?: string) {
    super('usage', message, hint === undefined ? {} : { hint });
    this.name = 'UsageError';
  }
}

/** The root filesystem or something in it is unusable. */
export class RootfsError extends NookError {
  constructor(message: string, hint?: string) {
    super('rootfs', message, hint === undefined ? {} : { hint });
    this.name = 'RootfsError';
  }
}

/** The container's command could not be found (127) or started (126). */
export class ExecError extends NookError {
  constructor(message: string, exitCode: 126 | 127, hint?: string) {
    super(exitCode === 127 ? 'exec-not-found' : 'exec-failed', message, hint === undefined ? { exitCode } : { exitCode, hint });
    this.name = 'ExecError';
  }
}

/** The runtime could not build the container (a setup op failed). */
export class RuntimeError extends NookError {
  constructor(message: string, hint?: string) {
    super('runtime', message, hint === undefined ? {} : { hint });
    this.name = 'RuntimeError';
  }
}

/** The host lacks something nook needs and cannot do without. */
export class HostError extends NookError {
  constructor(message: string, hint?: string) {
    super('host', message, hint === undefined ? {} : { hint });
    this.name = 'HostError';
  }
}
