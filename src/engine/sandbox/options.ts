/** `--network` of a sandbox: none (the default), a user-mode stack of its own, or the host's. */
export type SandboxNetwork = 'none' | 'pasta' | 'slirp4netns' | 'host';

/** What `nook sandbox` was asked for on its command line (the CLI maps flags onto this). */
export interface SandboxOptions {
  /** --rw / --ro / --hide, as given: relative to the current directory, `~` for $HOME. */
  readonly rw: readonly string[];
  readonly ro: readonly string[];
  readonly hide: readonly string[];
  /** undefined: the profile's, else none. */
  readonly network: SandboxNetwork | undefined;
  /** --allow-host HOST[:PORT], as given. */
  readonly allowHosts: readonly string[];
  /** -e K=V, or -e K to copy K from nook's environment. */
  readonly env: readonly string[];
  /** undefined: the profile's, else false. */
  readonly keepEnv: boolean | undefined;
  readonly timeoutSeconds: number | undefined;
  /** --memory, as given: accepted, not enforced yet (one warning). */
  readonly memory: string | undefined;
  readonly profile: string | undefined;
  readonly explain: 'shell' | 'json' | null;
  readonly command: readonly string[];
}
