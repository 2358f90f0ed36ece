import { ImageError } from '../errors.js';

/** The part of an image config (its `config` object) that says how to run the image. */
export interface RunConfig {
  readonly entrypoint: readonly string[];
  readonly cmd: readonly string[];
  readonly env: readonly string[];
  readonly workingDir: string;
  readonly user: string;
  /** `80/tcp` …: recorded, published by networking later. */
  readonly exposedPorts: readonly string[];
  readonly volumes: readonly string[];
  /** The signal that stops the container (podman stop), e.g. SIGTERM; '' when unset. */
  readonly stopSignal: string;
}

function strings(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new ImageError(`the image config's ${field} is not a list of strings`, 'the image is malformed; rebuild or re-pull it');
  }
  return value;
}

export function parseRunConfig(bytes: Uint8Array): RunConfig {
  let doc: { config?: Record<string, unknown> | null };
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8')) as typeof doc;
  } catch {
    throw new ImageError('the image config is not JSON', 'the image is malformed; re-pull it');
  }
  const c = doc.config ?? {};
  const keys = (value: unknown): string[] => (value && typeof value === 'object' ? Object.keys(value) : []);
  return {
    entrypoint: strings(c.Entrypoint, 'Entrypoint'),
    cmd: strings(c.Cmd, 'Cmd'),
    env: strings(c.Env, 'Env'),
    workingDir: typeof c.WorkingDir === 'string' ? c.WorkingDir : '',
    user: typeof c.User === 'string' ? c.User : '',
    exposedPorts: keys(c.ExposedPorts),
    volumes: keys(c.Volumes),
    stopSignal: typeof c.StopSignal === 'string' ? c.StopSignal : '',
  };
}

/**
 * podman's rule: an explicit --entrypoint replaces the image's and drops its Cmd; the
 * command line's arguments replace Cmd.
 */
export function effectiveCommand(config: RunConfig, entrypoint: readonly string[] | undefined, args: readonly string[]): string[] {
  const entry = entrypoint ?? config.entrypoint;
  const cmd = args.length > 0 ? args : entrypoint !== undefined ? [] : config.cmd;
  return [...entry, ...cmd];
}
