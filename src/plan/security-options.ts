import type { Capability } from './capabilities.js';

export type SeccompChoice =
  | { readonly kind: 'default' }
  | { readonly kind: 'unconfined' }
  | { readonly kind: 'profile'; readonly path: string };

/** What the command line asked for, before it is checked against the container. */
export interface SecurityOptions {
  readonly privileged: boolean;
  readonly capAdd: readonly (Capability | 'ALL')[];
  readonly capDrop: readonly (Capability | 'ALL')[];
  readonly noNewPrivs: boolean;
  readonly seccomp: SeccompChoice;
  readonly mask: readonly string[];
  /** Default masked and read-only paths to leave alone, or all of them. */
  readonly unmask: readonly string[] | 'ALL';
  /** NAME=VALUE, as given. */
  readonly sysctls: readonly string[];
}

export const DEFAULT_SECURITY: SecurityOptions = {
  privileged: false, capAdd: [], capDrop: [], noNewPrivs: false, seccomp: { kind: 'default' }, mask: [], unmask: [], sysctls: [],
};
