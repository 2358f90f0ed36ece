// Runs the fuzz targets (test/fuzz/README.md): `npm run fuzz [-- TARGET...] [--time SECONDS]`.
// Each target runs for the given time (default 60 s) from its seed corpus; a finding is
// written to native/build/fuzz/findings/ and makes the run fail.
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'native', 'build', 'fuzz');
const findings = join(out, 'findings');
const corpus = (target) => join(root, 'test', 'fuzz', 'corpus', target);

function parseArgs(argv) {
  const targets = [];
  let seconds = 60;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--time') seconds = Number(argv[++i]);
    else targets.push(argv[i]);
  }
  if (!Number.isInteger(seconds) || seconds <= 0) throw new Error('--time takes a whole number of seconds');
  return { targets: targets.length > 0 ? targets : Object.keys(TARGETS), seconds };
}

/** libFuzzer with ASan and UBSan (clang, Debian's libclang-rt-14-dev) on the C plan decoder. */
function planDecoder(seconds) {
  const binary = join(out, 'plan-decoder');
  const src = join(root, 'native', 'src');
  execFileSync(
    process.env.CLANG ?? 'clang',
    [
      ...['-g', '-O1', '-std=gnu11', '-D_GNU_SOURCE', '-Wall', '-Wextra', '-Werror'],
      ...['-fsanitize=fuzzer,address,undefined', '-fno-sanitize-recover=all', '-fno-omit-frame-pointer'],
      ...['-o', binary, join(root, 'test', 'fuzz', 'plan-decoder.c'), join(src, 'plan.c'), join(src, 'netstring.c'), join(src, 'decimal.c'), join(src, 'report.c')],
    ],
    { stdio: 'inherit' },
  );
  // New inputs go to the first directory (a scratch corpus kept between local runs); the
  // seeds in the repository are only read.
  const work = join(out, 'corpus-plan-decoder');
  mkdirSync(work, { recursive: true });
  const logPath = join(out, 'plan-decoder.log');
  const log = openSync(logPath, 'w');
  const status = spawnSync(
    binary,
    [
      `-max_total_time=${seconds}`,
      `-dict=${join(root, 'test', 'fuzz', 'plan-decoder.dict')}`,
      `-artifact_prefix=${findings}/plan-decoder-`,
      '-timeout=10',
      '-rss_limit_mb=2048',
      // Room for plans several times the seeds' size (a seccomp filter alone is kilobytes).
      '-max_len=16384',
      '-print_final_stats=1',
      work,
      corpus('plan-decoder'),
    ],
    { stdio: ['ignore', 'inherit', log] },
  ).status;
  closeSync(log);
  // libFuzzer prints a line per new input (megabytes in a CI log): its end says how it went,
  // and on a finding it holds the report and the input's path.
  const lines = readFileSync(logPath, 'utf8').trimEnd().split('\n');
  console.log(lines.slice(status === 0 ? -12 : -150).join('\n'));
  console.log(`(the whole output: ${logPath})`);
  return status;
}

/** The layer extractor's entry handling, as root of a user namespace like the real one. */
async function layerEntries(seconds) {
  const esbuild = await import('esbuild');
  const bundle = join(out, 'layer-entries.cjs');
  await esbuild.build({
    entryPoints: [join(root, 'test', 'fuzz', 'layer-entries.ts')],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: 'inline',
    external: ['koffi'],
    logLevel: 'warning',
  });
  if (!existsSync(join(root, 'dist', 'nook.cjs'))) execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { stdio: 'inherit' });
  const args = [bundle, '--corpus', corpus('layer-entries'), '--findings', findings, '--time', String(seconds)];
  return spawnSync(join(root, 'bin', 'nook'), ['unshare', '--', process.execPath, '--enable-source-maps', ...args], { stdio: 'inherit' }).status;
}

const TARGETS = { 'plan-decoder': planDecoder, 'layer-entries': layerEntries };

const { targets, seconds } = parseArgs(process.argv.slice(2));
mkdirSync(findings, { recursive: true });
let failed = false;
for (const target of targets) {
  const run = TARGETS[target];
  if (run === undefined) throw new Error(`unknown fuzz target "${target}" (known: ${Object.keys(TARGETS).join(', ')})`);
  console.log(`== fuzz ${target} (${seconds} s)`);
  const status = await run(seconds);
  if (status !== 0) {
    console.error(`fuzz ${target}: exit ${status}; inputs that failed are in ${findings}`);
    failed = true;
  }
}
process.exitCode = failed ? 1 : 0;
