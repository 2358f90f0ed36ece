#!/usr/bin/env node
// `npm run bench`: nook's start latency, scale, pull, exec and stop latency and the cost of
// detached containers against the floor and its peers, as a markdown table and JSON on
// stdout and in bench/results/latest.{md,json}. Progress goes to stderr. Options: --runs N
// (start and exec rounds, default 25), --warmup N (default 3), --scale-rounds N (default 5),
// --pull-rounds N (default 5), --pull-warmup N (default 1), --stop-rounds N (default 10),
// --transfer-mb N (network download size, default 200), --transfer-rounds N (default 3),
// --latency-requests N (default 200), --build-rounds N (default 3), --only
// start,scale,pull,exec,stop,detached,sandbox,network,build (default: all). See
// docs/benchmarks.md for how to read it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { childEnv, makeRootfs, makeWorkDir, removeWorkDir } from './lib/fixture.mjs';
import { loadAverage, machineInfo } from './lib/machine.mjs';
import { bwrapPeer, helperVersions, nodePeer, nookImagePeer, nookPeer, podmanPeer } from './lib/peers.mjs';
import { capture } from './lib/spawn.mjs';
import { nookContainers, podmanContainers } from './lib/containers.mjs';
import { notMeasured, toJson, toMarkdown } from './lib/report.mjs';
import { measureBuild } from './build.mjs';
import { measureDetached } from './detached.mjs';
import { measureNetwork } from './network.mjs';
import { measureExec } from './exec.mjs';
import { measurePull } from './pull.mjs';
import { measureSandbox } from './sandbox.mjs';
import { measureScale } from './scale.mjs';
import { measureStart } from './start.mjs';
import { measureStop } from './stop.mjs';

const benchDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(benchDir, '..');
const SCALE_LEVELS = [1, 8, 32];
const SECTIONS = ['start', 'scale', 'pull', 'exec', 'stop', 'detached', 'sandbox', 'network', 'build'];
// The sections that need the fixture's peers (podman's imported image, nook's imported image).
const PEER_SECTIONS = ['start', 'scale', 'exec', 'stop', 'detached', 'network'];

function log(message) {
  process.stderr.write(`${message}\n`);
}

function settingsFromArgs() {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '25' },
      warmup: { type: 'string', default: '3' },
      'scale-rounds': { type: 'string', default: '5' },
      'pull-rounds': { type: 'string', default: '5' },
      'pull-warmup': { type: 'string', default: '1' },
      'stop-rounds': { type: 'string', default: '10' },
      'transfer-mb': { type: 'string', default: '200' },
      'transfer-rounds': { type: 'string', default: '3' },
      'latency-requests': { type: 'string', default: '200' },
      'build-rounds': { type: 'string', default: '3' },
      only: { type: 'string', default: SECTIONS.join(',') },
    },
  });
  const sections = values.only.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = sections.filter((s) => !SECTIONS.includes(s));
  if (unknown.length || sections.length === 0) throw new Error(`--only takes a comma-separated list of ${SECTIONS.join(', ')}`);
  const count = (name, min) => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}`);
    return n;
  };
  return {
    sections,
    runs: count('runs', 1),
    warmup: count('warmup', 0),
    scaleRounds: count('scale-rounds', 1),
    scaleWarmup: 1,
    scaleLevels: SCALE_LEVELS,
    pullRounds: count('pull-rounds', 1),
    pullWarmup: count('pull-warmup', 0),
    stopRounds: count('stop-rounds', 1),
    transferMb: count('transfer-mb', 1),
    transferRounds: count('transfer-rounds', 1),
    latencyRequests: count('latency-requests', 1),
    stopWarmup: 1,
    buildRounds: count('build-rounds', 1),
  };
}

/**
 * As root every tool takes its privileged path (no user namespace mapping helpers, no
 * rootless podman), so the numbers would say nothing about what nook is for.
 */
function refuseRoot() {
  if (process.getuid() !== 0) return;
  log('nook bench: run the benchmark as an ordinary user, not root: nook is rootless, and as root');
  log('nook and its peers take other paths, so the numbers would be meaningless.');
  log('e.g.: runuser -u SOMEUSER -- env -i HOME=/home/SOMEUSER PATH=/usr/local/bin:/usr/bin:/bin npm run bench');
  process.exit(1);
}

/** Sets up the fixture and every peer; peers that cannot run here become notes. */
function preparePeers(workDir, rootfs, env, notes) {
  const nook = nookPeer(repoRoot, rootfs, env);
  const node = nodePeer(env);
  const versions = { nook: nook.version, node: node.version, ...helperVersions(env) };
  const cases = [nook.run, nook.cli, node.run, nook.explain, nook.versionCommand, nook.ps];
  const cleanups = [];
  const image = nookImagePeer(repoRoot, workDir, rootfs, env);
  if (image.cleanup) cleanups.push(image.cleanup);
  if (image.skipped) notes.push(`nook run IMAGE skipped: ${image.skipped}`);
  else cases.push(image.run, image.cli);
  let podman = null;
  let podmanRun = null;
  for (const [name, peer] of [
    ['bwrap', bwrapPeer(rootfs, env)],
    ['podman', podmanPeer(workDir, rootfs, env)],
  ]) {
    if (peer.cleanup) cleanups.push(peer.cleanup);
    if (peer.skipped) {
      versions[name] = 'skipped';
      notes.push(`${name} skipped: ${peer.skipped}`);
      continue;
    }
    versions[name] = peer.version;
    notes.push(...(peer.notes ?? []));
    cases.push(peer.run);
    if (peer.containers) podman = peer.containers;
    if (peer.runDefaultNetwork) podmanRun = peer.runDefaultNetwork;
  }
  return { nook, node, cases, versions, cleanups, nookImage: image.skipped ? null : image.image, podman, podmanRun };
}

async function main() {
  refuseRoot();
  const settings = settingsFromArgs();
  const workDir = makeWorkDir();
  const cleanups = [];
  const teardown = () => {
    for (const cleanup of cleanups.splice(0)) cleanup();
    removeWorkDir(workDir);
  };
  // Ctrl-C lands after the running child exits (spawnSync blocks); leave nothing behind.
  process.on('SIGINT', () => {
    teardown();
    process.exit(130);
  });

  try {
    const notes = [];
    const startLoad = loadAverage();
    const env = childEnv(workDir);
    const rootfs = makeRootfs(join(workDir, 'rootfs'));
    const wants = (section) => settings.sections.includes(section);
    let versions = { nook: nookPeer(repoRoot, rootfs, env).version };
    let start = null;
    let scale = null;
    let pull = null;
    let exec = null;
    let stop = null;
    let detached = null;
    let sandbox = null;
    let network = null;
    let build = null;
    if (PEER_SECTIONS.some(wants)) {
      log('preparing peers…');
      const peers = preparePeers(workDir, rootfs, env, notes);
      cleanups.push(...peers.cleanups);
      versions = peers.versions;
      if (wants('start')) {
        log(`start latency: ${peers.cases.map((c) => c.id).join(', ')}`);
        start = measureStart(peers.cases, settings, log);
        notes.push(...start.notes);
      }
      if (wants('scale')) scale = await measureScale(peers.nook.run, settings.scaleLevels, { rounds: settings.scaleRounds, warmup: settings.scaleWarmup }, log);

      // The lifecycle sections start detached containers; whatever is left of them (a
      // section that threw, Ctrl-C) is removed before the stores are, or their monitors
      // and conmons would outlive the bench.
      const nook = nookContainers(repoRoot, env);
      const podman = peers.podman ? podmanContainers(peers.podman, env) : null;
      cleanups.unshift(() => {
        nook.sweep();
        podman?.sweep();
      });
      const lifecycle = { nook, podman, node: peers.node.run, rootfs, image: peers.nookImage };
      // A lifecycle command that is broken or missing (the feature is young) skips its
      // section with a note; the other sections' results are still written.
      const guarded = (section, measure) => {
        let result;
        try {
          result = measure();
        } catch (err) {
          result = { skipped: `the ${section} section failed: ${err.message}` };
        }
        notes.push(...(result.skipped ? [`${section} skipped: ${result.skipped}`] : result.notes));
        return result;
      };
      if (wants('exec')) exec = guarded('exec', () => measureExec(lifecycle, settings, log));
      if (wants('stop')) stop = guarded('stop', () => measureStop(lifecycle, { rounds: settings.stopRounds, warmup: settings.stopWarmup }, log));
      if (wants('detached')) {
        log('detached containers: memory and disk…');
        detached = guarded('detached', () => measureDetached(lifecycle, log));
      }
      if (wants('network')) {
        network = await measureNetwork({ nook, podman, podmanRun: peers.podmanRun, rootfs, workDir, env }, settings, log).catch((err) => ({
          skipped: `the network section failed: ${err.message}`,
        }));
        notes.push(...(network.skipped ? [`network skipped: ${network.skipped}`] : network.notes));
      }
    }
    if (wants('sandbox')) {
      // Needs no image and no rootfs: the host's own tools, as a user runs it.
      sandbox = measureSandbox({ repoRoot, workDir, env, node: nodePeer(env).run }, settings, log);
      versions.bwrap ??= capture('bwrap', ['--version'], env).out || 'skipped';
      notes.push(...(sandbox.skipped ? [`sandbox skipped: ${sandbox.skipped}`] : sandbox.notes));
    }
    if (wants('pull')) {
      log('pull: starting the registry…');
      // Whatever goes wrong here (no tar to build the fixture, a full /dev/shm …) becomes a
      // note: the other sections' results are still written.
      pull = await measurePull(
        { repoRoot, cacheDir: join(benchDir, '.cache'), workDir, env, rounds: settings.pullRounds, warmup: settings.pullWarmup },
        log,
      ).catch((err) => ({ skipped: `the pull section failed: ${err.message}`, versions: {} }));
      for (const [name, version] of Object.entries(pull.versions)) versions[name] ??= version;
      if (pull.skipped) notes.push(`pull skipped: ${pull.skipped}`);
      else notes.push(...pull.notes);
    }

    if (wants('build')) {
      log('build: cold and warm builds…');
      try {
        build = measureBuild({ repoRoot, workDir, rootfs, env, rounds: settings.buildRounds }, log);
      } catch (err) {
        build = { skipped: `the build section failed: ${err.message}` };
      }
      notes.push(...(build.skipped ? [`build skipped: ${build.skipped}`] : build.notes));
    }

    const results = {
      machine: machineInfo(),
      load: { start: startLoad, end: loadAverage() },
      versions,
      settings,
      start,
      scale,
      pull,
      exec,
      stop,
      detached,
      sandbox,
      network,
      build,
      notes,
    };
    results.notMeasured = notMeasured(results);
    const markdown = toMarkdown(results);
    const json = toJson(results);
    const outDir = join(benchDir, 'results');
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, 'latest.md'), markdown);
    writeFileSync(join(outDir, 'latest.json'), json);
    process.stdout.write(`${markdown}\n\`\`\`json\n${json}\`\`\`\n`);
    log(`written: ${join(outDir, 'latest.md')}, ${join(outDir, 'latest.json')}`);
  } finally {
    teardown();
  }
}

main().catch((err) => {
  log(`nook bench: ${err.message}`);
  process.exit(1);
});
