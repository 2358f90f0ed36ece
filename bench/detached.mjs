// Detached containers: what N containers left running cost in memory and disk, per
// container. For nook that is its monitor (`nook-monitor`, the only process nook keeps per
// container) plus any nook process below it or any nook CLI still alive (there should be
// none), and, shown apart, its network helper (pasta by default, or slirp4netns) under the
// monitor; for podman it is conmon, its monitor, and, shown apart, slirp4netns, the network
// process podman 4 starts per rootless container. The containers' own commands (`sleep`)
// are not counted: they are the same for every tool.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { descendants, findByCmdline, lingeringClis, memoryOf, processTable, sumMemory } from './lib/procmem.mjs';

const SLEEPER = ['sleep', '100000'];
export const DETACHED_LEVELS = [1, 10];
// What the issue asks of nook: per container, ≤ 3 MB of nook processes (podman's conmon
// is about 2.4 MB RSS).
const TARGET_BYTES = 3e6;

function pause(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Bytes `dir` takes on disk (allocated blocks), read as root of the tool's user namespace. */
function diskBytes(tool, dir) {
  if (!existsSync(dir)) return 0;
  const r = tool.unshare(['du', '-s', '-x', '--block-size=1', dir]);
  return r.ok ? Number(r.out.split(/\s/)[0]) : null;
}

function flagValue(args, flag) {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : null;
}

/** The kinds of detached container measured: each with where its tool keeps them. */
function variants({ nook, podman, rootfs, image }) {
  const env = nook.env;
  const nookDirs = { store: join(env.XDG_DATA_HOME, 'nook'), runtime: join(env.XDG_RUNTIME_DIR, 'nook') };
  const out = [
    { id: 'nook-rootfs', label: 'nook run -d --rootfs DIR sleep', tool: nook, start: () => nook.start(['--rootfs', rootfs], SLEEPER), ...nookDirs },
    {
      id: 'nook-slirp4netns',
      label: 'nook run -d --network slirp4netns --rootfs DIR sleep',
      tool: nook,
      start: () => nook.start(['--rootfs', rootfs], SLEEPER, ['--network', 'slirp4netns']),
      ...nookDirs,
    },
  ];
  if (image) out.push({ id: 'nook-image', label: 'nook run -d IMAGE sleep', tool: nook, start: () => nook.start(['--pull', 'never', image], SLEEPER), ...nookDirs });
  if (podman) {
    out.push({
      id: 'podman',
      label: `podman ${podman.base.includes('runc') ? '--runtime runc ' : ''}run -d IMAGE sleep`,
      tool: podman,
      start: () => podman.start(SLEEPER),
      store: flagValue(podman.base, '--root'),
      runtime: flagValue(podman.base, '--runroot'),
    });
  }
  return out;
}

/** The user-mode network stacks: pasta re-executes itself as passt or passt.avx2. */
const NETWORK_HELPER = /^(passt|pasta|slirp4netns)/;

/** The tool's own processes for one container, and its network helper. */
function processesOf(variant, pids, table) {
  if (!pids?.monitor) return { own: [], network: [] };
  if (variant.tool.tool === 'nook') {
    // The monitor and any nook-* process under it (nook-init with --init); not the command.
    const below = descendants(table, pids.monitor);
    const own = below.filter((pid) => table.get(pid)?.comm.startsWith('nook'));
    const network = below.filter((pid) => NETWORK_HELPER.test(table.get(pid)?.comm ?? ''));
    return { own: [pids.monitor, ...own], network };
  }
  return { own: [pids.monitor], network: pids.netns ? findByCmdline(table, 'slirp4netns', pids.netns) : [] };
}

/** Starts `n` containers of one variant, measures them, removes them. */
function measureLevel(variant, n, env, log) {
  const before = { store: diskBytes(variant.tool, variant.store), runtime: diskBytes(variant.tool, variant.runtime) };
  const ids = [];
  const errors = [];
  try {
    for (let i = 0; i < n; i++) {
      const r = variant.start();
      if (r.ok) ids.push(r.id);
      else errors.push(r.error);
    }
    pause(500); // let each monitor finish setting up (conmon forks and settles after run -d returns)
    const table = processTable();
    const own = [];
    const network = [];
    for (const id of ids) {
      const p = processesOf(variant, variant.tool.pids(id), table);
      own.push(...p.own.map(memoryOf));
      network.push(...p.network.map(memoryOf));
    }
    const lingering = variant.tool.tool === 'nook' ? lingeringClis(env.XDG_DATA_HOME) : [];
    const after = { store: diskBytes(variant.tool, variant.store), runtime: diskBytes(variant.tool, variant.runtime) };
    const count = ids.length || 1;
    const perContainer = (sum) => ({
      processes: sum.processes / count,
      rssBytes: (sum.rssKb * 1024) / count,
      pssBytes: sum.pssKb === null ? null : (sum.pssKb * 1024) / count,
      anonBytes: (sum.anonKb * 1024) / count,
    });
    const lingeringMemory = sumMemory(lingering.map(memoryOf));
    const result = {
      id: variant.id,
      label: variant.label,
      n,
      started: ids.length,
      failures: errors.length,
      errors: [...new Set(errors)].slice(0, 3),
      memory: perContainer(sumMemory([...own, ...lingering.map(memoryOf)])),
      lingeringClis: lingering.length,
      lingeringRssBytes: lingeringMemory.rssKb * 1024,
      network: network.length ? perContainer(sumMemory(network)) : null,
      networkHelper: [...new Set(network.filter(Boolean).map((m) => m.comm))].join(', '),
      storeBytes: before.store !== null && after.store !== null ? (after.store - before.store) / count : null,
      runtimeBytes: before.runtime !== null && after.runtime !== null ? (after.runtime - before.runtime) / count : null,
    };
    log(
      `detached: ${variant.id} N=${n}: ${ids.length} started, ${(result.memory.rssBytes / 1e6).toFixed(2)} MB RSS per container, ` +
        `${lingering.length} nook CLIs left, ${result.storeBytes ?? '?'} B of store per container`,
    );
    return result;
  } finally {
    variant.tool.remove(ids);
  }
}

/**
 * Every variant at every level, one after the other, each level starting from an empty
 * set of containers (the store's growth is then what those N containers added).
 */
export function measureDetached(context, log) {
  const out = [];
  for (const variant of variants(context)) {
    for (const n of DETACHED_LEVELS) {
      const result = measureLevel(variant, n, context.nook.env, log);
      if (variant.tool.tool === 'nook') {
        // Judged on Pss (the fair share) when readable, otherwise on RSS, the stricter one.
        const figure = result.memory.pssBytes ?? result.memory.rssBytes;
        result.target = { text: 'nook processes ≤ 3 MB per container', judgedOn: result.memory.pssBytes !== null ? 'Pss' : 'RSS', met: result.started ? figure <= TARGET_BYTES : null };
      }
      out.push(result);
    }
  }
  return { levels: out, notes: [] };
}
