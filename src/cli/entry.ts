// dist/nook.cjs, what bin/nook runs: picks the bundle a command needs and loads it with
// V8's code cache. The full CLI (dist/cli.cjs: commander and every command) costs ~10 ms
// to set up; ps, stop and rm run from a small bundle of their own (dist/lean.cjs).
import { readFileSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';
import { LEAN_COMMANDS } from './lean-names.js';

/**
 * Runs a bundle of dist/ as a CommonJS module; its exports. With the code cache written by
 * scripts/build.mjs its functions are not parsed and compiled again at every start (Node
 * 20 has no compile cache for CommonJS); a stale or foreign cache is rejected by V8 and
 * only costs the compile it would have cost anyway.
 */
function loadBundle(name: string): Record<string, unknown> {
  const file = join(__dirname, name);
  const cacheFile = `${file}.cache`;
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  const script = new Script(Module.wrap(readFileSync(file, 'utf8')), { filename: file, ...(cachedData ? { cachedData } : {}) });
  if (process.env.NOOK_WRITE_CODE_CACHE === '1') process.once('exit', () => writeFileSync(cacheFile, script.createCachedData()));
  const bundle = new Module(file, module);
  bundle.filename = file;
  (script.runInThisContext() as (...args: unknown[]) => void)(bundle.exports, Module.createRequire(file), bundle, file, dirname(file));
  return bundle.exports as Record<string, unknown>;
}

type RunLean = (argv: readonly string[]) => Promise<number> | null;

const argv = process.argv.slice(2);
const lean = argv[0] !== undefined && LEAN_COMMANDS.has(argv[0]) ? (loadBundle('lean.cjs').runLean as RunLean)(argv) : null;
if (lean === null) loadBundle('cli.cjs');
else
  lean.then(
    (code) => {
      process.exitCode = code;
    },
    () => {
      process.exitCode = 125;
    },
  );
