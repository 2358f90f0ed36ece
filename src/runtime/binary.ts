import { join } from 'node:path';

/**
 * The C runtime, built next to the CLI by scripts/build.mjs (the CLI runs from dist/).
 * Its own module, so the commands that only signal or wait (stop, kill, rm) do not load
 * what starting a container needs.
 */
export function runtimeBinary(): string {
  return join(__dirname, '..', 'native', 'build', 'nook-runtime');
}
