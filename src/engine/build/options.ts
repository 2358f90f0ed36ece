import type { PullPolicy } from '../image/auto-pull.js';

/**
 * The network of RUN steps: their own namespace reached through pasta (nook run's default
 * network), one with only lo, or the host's.
 */
export type BuildNetwork = 'pasta' | 'none' | 'host';

/** What `nook build` is asked for (the CLI maps its flags onto this). */
export interface BuildOptions {
  /** The build context: a directory. */
  readonly context: string;
  /** -f: a path (from the current directory), '-' for stdin; null: Containerfile or Dockerfile in the context. */
  readonly file: string | null;
  /** -t, each normalised as podman does (localhost/NAME:latest). */
  readonly tags: readonly string[];
  /** --build-arg K=V (K alone takes the value from nook's environment). */
  readonly buildArgs: ReadonlyMap<string, string>;
  readonly target: string | null;
  readonly noCache: boolean;
  readonly pull: PullPolicy;
  readonly tlsVerify: boolean;
  /** RUN steps' network; 'default': pasta where nook run would use it, else none. */
  readonly network: BuildNetwork | 'default';
  /** --label K=V on the final image. */
  readonly labels: ReadonlyMap<string, string>;
  /** --platform: only this host's platform can be built (RUN steps run here). */
  readonly platform: string | null;
  readonly quiet: boolean;
  readonly iidfile: string | null;
  /** --timestamp or SOURCE_DATE_EPOCH: created times and file times, in seconds. */
  readonly timestamp: number | null;
  /** --secret id=X,src=FILE */
  readonly secrets: ReadonlyMap<string, string>;
}

export interface BuildIO {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}
