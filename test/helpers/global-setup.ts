import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The suite proves nook works for an ordinary user, so it refuses to run as root (where
 * everything would succeed for the wrong reason) and without the built runtime.
 */
export default function setup(): void {
  const root = join(import.meta.dirname, '..', '..');
  for (const built of ['dist/nook.cjs', 'native/build/nook-runtime']) {
    if (!existsSync(join(root, built))) throw new Error(`${built} is missing: run "npm install" (or "npm run build") first`);
  }
  if (process.getuid?.() === 0) {
    throw new Error('the nook test suite must run as an ordinary user, not root: see .ci/run for how CI sets one up');
  }
}
