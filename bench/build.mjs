// Build: the same multi-stage Containerfile (RUN, COPY, COPY --from, metadata) built by
// `nook build` and `podman build`, cold (empty build cache, base image already in the store)
// and warm (a rebuild with nothing changed), against the floor (`node -e 0`). Each round
// builds once with every tool, order alternating; cold rounds start from a fresh store
// each (made and filled with the base image untimed).
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { capture, timeOnce } from './lib/spawn.mjs';
import { endPodmanPause, findOnPath } from './lib/peers.mjs';
import { commandRow, compare } from './lib/stats.mjs';

const BASE = 'localhost/nook-bench-base:latest';
const BUILD_TIMEOUT_MS = 300_000;

export const CONTAINERFILE = [
  `FROM ${BASE} AS build`,
  'RUN mkdir /out && for i in 1 2 3 4 5 6 7 8 9 10; do echo "line $i" >> /out/data; done',
  'COPY src/ /src/',
  'RUN cat /src/*.txt > /out/all && wc -l /out/data >> /out/all',
  `FROM ${BASE}`,
  'COPY --from=build /out /app',
  'ENV MODE=bench',
  'WORKDIR /app',
  'CMD ["cat", "/app/all"]',
].join('\n');

function makeContext(dir) {
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(join(dir, 'Containerfile'), `${CONTAINERFILE}\n`);
  for (let i = 0; i < 50; i++) writeFileSync(join(dir, 'src', `file${i}.txt`), `content of file ${i}\n`.repeat(20));
  return dir;
}

/** nook with a store of its own under `dir`, the base image imported. */
function nookTool(repoRoot, env, tar) {
  const bin = join(repoRoot, 'bin', 'nook');
  return {
    id: 'nook',
    label: 'nook build -q -t IMAGE CONTEXT',
    prepare(dir) {
      const storeEnv = { ...env, XDG_DATA_HOME: join(dir, 'data') };
      const imported = capture(bin, ['import', tar, BASE], storeEnv);
      if (!imported.ok) throw new Error(`nook cannot import the base image: ${imported.err}`);
      return storeEnv;
    },
    build: (storeEnv, context) => ({ cmd: bin, args: ['build', '-q', '-t', 'bench-built', context], env: storeEnv, timeoutMs: BUILD_TIMEOUT_MS }),
    clean: (dir, storeEnv) => capture(bin, ['unshare', 'rm', '-rf', join(dir, 'data')], storeEnv),
  };
}

/** podman with a store of its own under `dir` (overlay, as nook's), the base image imported. */
function podmanTool(podman, env, tar, notes) {
  let runtime = null;
  const base = (dir) => ['--root', join(dir, 'root'), '--runroot', join(dir, 'run'), '--storage-driver', 'overlay'];
  return {
    id: 'podman',
    label: 'podman build -q -t IMAGE CONTEXT',
    prepare(dir) {
      const imported = capture(podman, [...base(dir), 'import', '-q', tar, BASE], env);
      if (!imported.ok) throw new Error(`podman cannot import the base image: ${imported.err}`);
      return dir;
    },
    build(dir, context) {
      if (runtime === null) {
        // podman's default runtime fails on some hosts: runc, as the start section does.
        const probe = timeOnce({ cmd: podman, args: [...base(dir), 'run', '--rm', '--network', 'none', BASE, 'true'], env });
        runtime = probe.ok ? [] : ['--runtime', 'runc'];
        if (!probe.ok) notes.push(`build: podman's default runtime fails here (${probe.error}); measured with --runtime runc`);
      }
      return { cmd: podman, args: [...base(dir), 'build', ...runtime, '-q', '-t', 'bench-built', context], env, timeoutMs: BUILD_TIMEOUT_MS };
    },
    clean(dir) {
      capture(podman, [...base(dir), 'unshare', 'rm', '-rf', join(dir, 'root'), join(dir, 'run')], env);
      endPodmanPause(env);
    },
  };
}

/**
 * Measures cold and warm builds. `rounds` cold rounds (a fresh store per tool and round),
 * then `rounds` warm rounds in the last cold round's stores.
 */
export function measureBuild({ repoRoot, workDir, rootfs, env, rounds }, log) {
  const notes = [];
  const tar = join(workDir, 'build-base.tar');
  const tarred = capture('tar', ['-C', rootfs, '--numeric-owner', '--owner=0', '--group=0', '-cf', tar, '.'], env);
  if (!tarred.ok) return { skipped: `cannot tar the fixture (${tarred.err})` };
  const context = makeContext(join(workDir, 'build-context'));
  const tools = [nookTool(repoRoot, env, tar)];
  const podman = findOnPath('podman', env.PATH);
  if (podman) tools.push(podmanTool(podman, env, tar, notes));
  else notes.push('build: podman skipped: podman is not installed');
  const floor = { id: 'node', label: 'node -e 0', cmd: process.execPath, args: ['-e', '0'], env };

  const samples = { cold: new Map(tools.map((t) => [t.id, []])), warm: new Map([...tools.map((t) => [t.id, []]), ['node', []]]) };
  const failures = { cold: new Map(tools.map((t) => [t.id, []])), warm: new Map([...tools.map((t) => [t.id, []]), ['node', []]]) };
  const pairs = { cold: [], warm: [], warmFloor: [] };
  let stores = [];
  const cleanStores = () => {
    for (const { tool, dir, state } of stores) tool.clean(dir, state);
    stores = [];
  };
  try {
    for (let round = 0; round < rounds; round++) {
      log(`build: cold round ${round + 1}/${rounds}`);
      cleanStores();
      const order = round % 2 ? [...tools].reverse() : tools;
      const times = {};
      for (const tool of order) {
        const dir = mkdtempSync(join(workDir, `build-${tool.id}-`));
        const state = tool.prepare(dir);
        stores.push({ tool, dir, state });
        const result = timeOnce(tool.build(state, context));
        if (result.ok) {
          samples.cold.get(tool.id).push(result.ms);
          times[tool.id] = result.ms;
        } else failures.cold.get(tool.id).push(result.error);
      }
      if (times.nook !== undefined && times.podman !== undefined) pairs.cold.push({ a: times.nook, b: times.podman });
    }
    for (let round = 0; round < rounds; round++) {
      log(`build: warm round ${round + 1}/${rounds}`);
      const times = {};
      const order = round % 2 ? [...stores].reverse() : stores;
      for (const { tool, state } of order) {
        const result = timeOnce(tool.build(state, context));
        if (result.ok) {
          samples.warm.get(tool.id).push(result.ms);
          times[tool.id] = result.ms;
        } else failures.warm.get(tool.id).push(result.error);
      }
      const node = timeOnce(floor);
      if (node.ok) samples.warm.get('node').push(node.ms);
      if (times.nook !== undefined && times.podman !== undefined) pairs.warm.push({ a: times.nook, b: times.podman });
      if (times.nook !== undefined && node.ok) pairs.warmFloor.push({ a: times.nook, b: node.ms });
    }
  } finally {
    cleanStores();
  }
  const rows = (kind, list) => list.map((t) => commandRow(t.id, t.label, samples[kind].get(t.id), failures[kind].get(t.id)));
  const cold = compare(pairs.cold);
  const warm = compare(pairs.warm);
  const warmFloor = compare(pairs.warmFloor);
  return {
    settings: { rounds },
    containerfile: CONTAINERFILE,
    cold: rows('cold', tools),
    warm: rows('warm', [...tools, floor]),
    comparisons: [
      { title: 'cold: nook build / podman build', ...cold, target: '≤ 0.5', met: cold.ratioOfMedians === null ? null : cold.ratioOfMedians <= 0.5, skipped: pairs.cold.length === 0 },
      { title: 'warm (no change): nook build / podman build', ...warm, target: '≤ 0.5', met: warm.ratioOfMedians === null ? null : warm.ratioOfMedians <= 0.5, skipped: pairs.warm.length === 0 },
      {
        title: 'warm (no change): nook build − node -e 0',
        ...warmFloor,
        target: '≤ +100 ms',
        met: warmFloor.medianOfDifferences === null ? null : warmFloor.medianOfDifferences <= 100,
        skipped: pairs.warmFloor.length === 0,
      },
    ],
    notes,
  };
}
