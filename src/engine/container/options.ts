// What each container command is asked for: the CLI maps its flags onto these.
import type { CgroupLimits } from '../../sys/cgroup/limits.js';

/** Where a container command prints: results to `out`, warnings and errors to `err`. */
export interface ContainerIO {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

/** What `nook exec` is asked for. */
export interface ExecOptions {
  readonly container: string;
  readonly argv: readonly string[];
  readonly interactive: boolean;
  readonly tty: boolean;
  readonly user: string | undefined;
  readonly workdir: string | undefined;
  readonly env: readonly string[];
}

/** --format: podman's table, JSON, or a Go template such as '{{.Names}} {{.Status}}'. */
export type OutputFormat = { readonly kind: 'table' } | { readonly kind: 'json' } | { readonly kind: 'template'; readonly template: string };

/** One --filter of ps: podman's keys that scripts use most. */
export type PsFilter = { readonly key: 'name' | 'id' | 'status' | 'ancestor'; readonly value: string };

export interface PsOptions {
  /** Filters of one key match if any matches; filters of different keys must all match. */
  readonly filters: readonly PsFilter[];
  readonly all: boolean;
  readonly quiet: boolean;
  readonly format: OutputFormat;
  readonly noTrunc: boolean;
}

export interface LogsOptions {
  readonly container: string;
  readonly follow: boolean;
  readonly tail: number | null;
  readonly timestamps: boolean;
  /** Only lines logged at or after / before these times (ms since the epoch). */
  readonly since: number | null;
  readonly until: number | null;
}

export interface StatsOptions {
  readonly containers: readonly string[];
  readonly stream: boolean;
  readonly format: 'table' | 'json';
  /** Seconds between two samples while streaming. */
  readonly interval: number;
}

/** The container commands' invocations (see createProgram). */
export type ContainerInvocation =
  | { readonly command: 'start'; readonly containers: readonly string[]; readonly attach: boolean }
  | { readonly command: 'ps'; readonly options: PsOptions }
  | { readonly command: 'logs'; readonly options: LogsOptions }
  | { readonly command: 'exec'; readonly options: ExecOptions }
  | { readonly command: 'stop'; readonly containers: readonly string[]; readonly timeout: number | undefined }
  | { readonly command: 'kill'; readonly containers: readonly string[]; readonly signal: string }
  | { readonly command: 'rm'; readonly containers: readonly string[]; readonly force: boolean; readonly volumes: boolean; readonly timeout: number | undefined }
  | { readonly command: 'wait'; readonly containers: readonly string[] }
  | { readonly command: 'inspect'; readonly names: readonly string[]; readonly only: 'container' | null; readonly format: string | undefined }
  | { readonly command: 'rename'; readonly container: string; readonly name: string }
  | { readonly command: 'container-prune'; readonly force: boolean }
  | { readonly command: 'top'; readonly container: string }
  /** The limits given (null: unchanged). */
  | { readonly command: 'update'; readonly container: string; readonly limits: CgroupLimits }
  | { readonly command: 'stats'; readonly options: StatsOptions }
  | { readonly command: 'port'; readonly container: string; readonly port: string | undefined };
