// Builds bin/nook (the C launcher), what it runs: the C runtime (native/build/nook-runtime) and the CLI bundle
// (dist/nook.cjs). One CommonJS file keeps start-up near the Node floor: no module
// resolution walk, no ESM loader, nothing loaded that the command does not reach.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const what = process.argv[2] ?? 'all';

const NATIVE_FLAGS = ['-O2', '-g', '-Wall', '-Wextra', '-std=gnu11', '-D_GNU_SOURCE'];

function nativeSources(dir = 'src') {
  const srcDir = join(root, 'native', dir);
  return readdirSync(srcDir).filter((f) => f.endsWith('.c')).map((f) => join(srcDir, f));
}

/** bin/nook's sources: its own, and what it shares with the runtime: the field and number readers, the stop. */
function launcherSources() {
  return [...nativeSources('launcher'), ...['netstring.c', 'decimal.c', 'stop.c', 'proc.c', 'report.c'].map((f) => join(root, 'native', 'src', f))];
}

/** The launcher answers --version itself: the version it prints is package.json's. */
function launcherFlags() {
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  return [`-DNOOK_VERSION="${version}"`];
}

// No -Werror here: a compiler newer than ours, or a distribution's default flags (Ubuntu's
// gcc enables _FORTIFY_SOURCE, which adds warn_unused_result), must not break an install.
// Warnings fail the build in CI instead (checkNative).
function buildNative() {
  const out = join(root, 'native', 'build', 'nook-runtime');
  mkdirSync(dirname(out), { recursive: true });
  execFileSync(process.env.CC ?? 'cc', [...NATIVE_FLAGS, '-o', out, ...nativeSources()], { stdio: 'inherit' });
  // bin/nook, the command users run (native/launcher/main.c).
  execFileSync(process.env.CC ?? 'cc', [...NATIVE_FLAGS, ...launcherFlags(), '-o', join(root, 'bin', 'nook'), ...launcherSources()], { stdio: 'inherit' });
}

/**
 * CI's build of the runtime: every warning an error, with the compilers and hardening
 * flags distributions use (gcc with _FORTIFY_SOURCE 2 and 3, clang). Nothing is kept.
 */
function checkNative() {
  const out = mkdtempSync(join(tmpdir(), 'nook-native-check-'));
  const fortify = (level) => ['-U_FORTIFY_SOURCE', `-D_FORTIFY_SOURCE=${level}`];
  try {
    for (const [cc, extra] of [
      ['gcc', fortify(2)],
      ['gcc', fortify(3)],
      ['clang', fortify(3)],
    ]) {
      console.log(`nook build: ${cc} ${extra.join(' ')} -Werror`);
      execFileSync(cc, [...NATIVE_FLAGS, ...extra, '-Werror', '-o', join(out, 'nook-runtime'), ...nativeSources()], { stdio: 'inherit' });
      execFileSync(cc, [...NATIVE_FLAGS, ...launcherFlags(), ...extra, '-Werror', '-o', join(out, 'nook'), ...launcherSources()], { stdio: 'inherit' });
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** dist/lean.cjs.cache: `nook ps` run once against an empty store of its own. */
function writeLeanCodeCache() {
  const home = mkdtempSync(join(tmpdir(), 'nook-build-'));
  try {
    const env = { PATH: process.env.PATH, HOME: home, XDG_DATA_HOME: join(home, 'data'), XDG_CONFIG_HOME: join(home, 'config'), XDG_RUNTIME_DIR: join(home, 'run'), NOOK_WRITE_CODE_CACHE: '1' };
    mkdirSync(env.XDG_RUNTIME_DIR, { mode: 0o700 });
    execFileSync(process.execPath, [join(root, 'dist', 'nook.cjs'), 'ps', '-a'], { env, stdio: 'ignore' });
  } catch {
    console.warn('nook build: could not write the lean code cache; ps, stop and rm will start a little slower');
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

async function buildCli() {
  const esbuild = await import('esbuild');
  const common = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', sourcemap: 'linked', legalComments: 'none', logLevel: 'warning', minifyWhitespace: true, minifySyntax: true };
  // Every byte of nook.cjs is read and its code cache deserialised at every start, so
  // packages only some commands reach stay in node_modules and are required when reached:
  // koffi (a native addon; compiling a seccomp filter), tar and fzstd (archives, ~150 KB),
  // proper-lockfile (the store lock, ~50 KB with its dependencies), smol-toml (sandbox profiles).
  const external = ['koffi', 'tar', 'fzstd', 'proper-lockfile', 'smol-toml'];
  // nook.cjs only picks the bundle a command needs (src/cli/entry.ts): the full CLI, or
  // the lean one of ps, stop and rm, which leaves out commander and the other commands.
  await esbuild.build({ ...common, entryPoints: [join(root, 'src', 'cli', 'entry.ts')], outfile: join(root, 'dist', 'nook.cjs') });
  await esbuild.build({ ...common, entryPoints: [join(root, 'src', 'cli', 'main.ts')], outfile: join(root, 'dist', 'cli.cjs'), external });
  await esbuild.build({ ...common, entryPoints: [join(root, 'src', 'cli', 'lean-main.ts')], outfile: join(root, 'dist', 'lean.cjs'), external });
  // A cache V8 would take for a changed bundle of the same length must not survive a build;
  // buildCodeCache's run writes cli.cjs's, a `ps` on an empty store lean.cjs's.
  for (const name of ['cli.cjs.cache', 'lean.cjs.cache']) rmSync(join(root, 'dist', name), { force: true });
  writeLeanCodeCache();
  // The layer extractor and the vfs driver's copier run in their own processes, inside a
  // user namespace.
  await esbuild.build({ ...common, entryPoints: [join(root, 'src', 'image', 'extract', 'main.ts')], outfile: join(root, 'dist', 'extract.cjs'), external: ['koffi'] });
  // Its reader thread (decompression and hashing), a worker of its own.
  await esbuild.build({ ...common, entryPoints: [join(root, 'src', 'image', 'extract', 'reader-thread.ts')], outfile: join(root, 'dist', 'extract-reader.cjs') });
  await esbuild.build({ ...common, entryPoints: [join(root, 'src', 'image', 'flatten', 'main.ts')], outfile: join(root, 'dist', 'flatten.cjs'), external: ['koffi'] });
  // nook cp and export: the copier runs as root of the container's user namespace.
  await esbuild.build({ ...common, entryPoints: [join(root, 'src', 'copy', 'main.ts')], outfile: join(root, 'dist', 'copy.cjs'), external: ['koffi'] });
  // nook build: a step's COPY/ADD and the diff of its upper dir into a layer.
  await esbuild.build({ ...common, entryPoints: [join(root, 'src', 'image', 'diff', 'main.ts')], outfile: join(root, 'dist', 'diff.cjs'), external: ['koffi', 'tar'] });
}

/**
 * Writes dist/cli.cjs.cache (see src/cli/entry.ts) by running a representative command: V8's
 * cache then holds the functions a container start compiles, not just the top level.
 */
function buildCodeCache() {
  const rootfs = mkdtempSync(join(tmpdir(), 'nook-build-'));
  try {
    execFileSync(process.execPath, [join(root, 'bin', 'nook.cjs'), 'run', '--explain', '--rootfs', rootfs, '-u', '0:0', '-e', 'A=1', '--', 'true'], {
      env: { ...process.env, NOOK_WRITE_CODE_CACHE: '1' },
      stdio: 'ignore',
    });
  } catch {
    // Only start-up time is lost (e.g. no libseccomp on the build host): nook still works.
    console.warn('nook build: could not write the code cache; nook will start a little slower');
  } finally {
    rmSync(rootfs, { recursive: true, force: true });
  }
}

if (what === 'all' || what === 'native') buildNative();
if (what === 'native-check') checkNative();
if (what === 'all' || what === 'cli') {
  await buildCli();
  buildCodeCache();
}
