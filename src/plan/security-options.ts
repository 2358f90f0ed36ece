import type { Capability } from './capabilities.js';

/** --security-opt seccomp=…, as asked: nook's default, none, or a profile file. */
export type SeccompChoice =
  | { readonly kind: 'default' }
  | { readonly kind: 'unconfined' }
  | { readonly kind: 'profile'; readonly path: string };

/**
 * The choice as a container keeps it: a profile's text is read once, at create, so every
 * start and exec of the container installs the same filter whatever becomes of the file.
 */
export type RecordedSeccomp = Exclude<SeccompChoice, { readonly kind: 'profile' }> | { readonly kind: 'profile'; readonly path: string; readonly text: string };

/** What the command line asked for, before it is checked against the container. */
export interface SecurityOptions<Seccomp = SeccompChoice> {
  readonly privileged: boolean;
  readonly capAdd: readonly (Capability | 'ALL')[];
  readonly capDrop: readonly (Capability | 'ALL')[];
  readonly noNewPrivs: boolean;
  readonly seccomp: Seccomp;
  readonly mask: readonly string[];
  /** Default masked and read-only paths to leave alone, or all of them. */
  readonly unmask: readonly string[] | 'ALL';
  /** NAME=VALUE, as given. */
  readonly sysctls: readonly string[];
}

export const DEFAULT_SECURITY: SecurityOptions<{ readonly kind: 'default' }> = {
  privileged: false, capAdd: [], capDrop: [], noNewPrivs: false, seccomp: { kind: 'default' }, mask: [], unmask: [], sysctls: [],
};

/** The security options a container record holds (see RecordedSeccomp). */
export type RecordedSecurity = SecurityOptions<RecordedSeccomp>;
