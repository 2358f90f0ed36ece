/**
 * Every failure nook reports is a NookError: a stable code, the exit status podman would
 * give (125 nook's own, 126 cannot invoke, 127 not found; rm's 1 no such container and 2
 * running), and a hint saying how to fix it.
 * The top-level handler prints `Error: message` and the hint, then exits with exitCode.
 */
export type ExitCode = 1 | 2 | 125 | 126 | 127;

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

/** The image store is unusable or was changed under us (lock lost, missing files). */
export class StoreError extends NookError {
  constructor(message: string, hint?: string) {
    super('store', message, hint === undefined ? {} : { hint });
    this.name = 'StoreError';
  }
}

/** A local image or image reference is unknown, ambiguous or malformed. */
export class ImageError extends NookError {
  constructor(message: string, hint?: string) {
    super('image', message, hint === undefined ? {} : { hint });
    this.name = 'ImageError';
  }
}

/** A registry could not be reached, refused a request, or served something unusable. */
export class RegistryError extends NookError {
  constructor(message: string, hint?: string) {
    super('registry', message, hint === undefined ? {} : { hint });
    this.name = 'RegistryError';
  }
}

/** A registry refused the credentials, or wants some and has none. */
export class AuthError extends NookError {
  constructor(message: string, hint?: string) {
    super('auth', message, hint === undefined ? {} : { hint });
    this.name = 'AuthError';
  }
}

/** Content did not hash to the digest that names it: refused and not stored. */
export class DigestMismatchError extends NookError {
  constructor(message: string, hint?: string) {
    super('digest-mismatch', message, hint === undefined ? {} : { hint });
    this.name = 'DigestMismatchError';
  }
}

/** An image archive or tarball (load, import) is not one nook can read, or is inconsistent. */
export class ArchiveError extends NookError {
  constructor(message: string, hint?: string) {
    super('archive', message, hint === undefined ? {} : { hint });
    this.name = 'ArchiveError';
  }
}

/** A volume is unknown, already exists, in use, or its host source is missing. */
export class VolumeError extends NookError {
  constructor(message: string, hint?: string) {
    super('volume', message, hint === undefined ? {} : { hint });
    this.name = 'VolumeError';
  }
}

/** A container is unknown, ambiguous, in the wrong state for the command, or its name is taken. */
export class ContainerError extends NookError {
  constructor(message: string, hint?: string, exitCode: ExitCode = 125) {
    super('container', message, hint === undefined ? { exitCode } : { exitCode, hint });
    this.name = 'ContainerError';
  }
}
