import { UsageError } from '../../errors.js';
import type { NetworkOptions } from '../../net/config.js';
import type { ContainerLimits, RestartPolicy } from '../../store/containers.js';
import type { MountRequest } from './mount-request.js';
import type { RunSource } from './root.js';
import type { SecurityOptions } from '../../plan/security-options.js';

/** Everything `nook create` (and run) is asked for. */
export interface CreateOptions {
  readonly source: RunSource;
  readonly name: string | undefined;
  /** --entrypoint: replaces the image's, and drops its Cmd. */
  readonly entrypoint: readonly string[] | undefined;
  readonly command: readonly string[];
  /** -e and --env-file, in command-line order (files expanded). */
  readonly env: readonly string[];
  readonly workdir: string | undefined;
  readonly hostname: string | undefined;
  readonly user: string | undefined;
  /** --group-add: more supplementary groups, by name or gid. */
  readonly groupAdd: readonly string[];
  readonly readOnly: boolean;
  /** --init: a tiny init as PID 1, reaping orphans and passing signals on to the command. */
  readonly init: boolean;
  /** -v, --mount, --tmpfs */
  readonly mounts: readonly MountRequest[];
  /** --network, -p, -P, --dns*, --add-host, --no-hosts */
  readonly network: NetworkOptions;
  readonly security: SecurityOptions;
  readonly tty: boolean;
  readonly interactive: boolean;
  readonly restart: RestartPolicy;
  readonly remove: boolean;
  /** --stop-signal, --stop-timeout: what stop sends first, and how long it waits. */
  readonly stopSignal: string | undefined;
  readonly stopTimeout: number | undefined;
  /** --memory, --cpus, --pids-limit …, --ulimit, --oom-score-adj. */
  readonly limits: ContainerLimits;
}

const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,62})$/;

/** The checks that need nothing but the options: done before anything is made. */
export function checkCreateOptions(opts: CreateOptions): void {
  if (opts.workdir !== undefined && !opts.workdir.startsWith('/')) {
    throw new UsageError(`working directory "${opts.workdir}" is not an absolute path`, 'give -w a path inside the container starting with /');
  }
  if (opts.hostname !== undefined && !HOSTNAME.test(opts.hostname)) {
    throw new UsageError(`invalid hostname "${opts.hostname}"`, 'use up to 64 letters, digits, dots and dashes');
  }
}
