// Pull: a one-layer image of about Debian's size from a registry on loopback into a cold
// store, for nook, `podman pull` and the floor (curl | gunzip | tar -x); once with every
// store and target dir on tmpfs (the tools' own cost) and once on disk (where each new
// file costs the kernel about a millisecond and the disk sets the pace). As in the start
// section, the tools alternate round by round, so every comparison is between runs taken
// seconds apart.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { pullFixture, IMAGE_REPO, IMAGE_TAG, TARGET } from './lib/pull-fixture.mjs';
import { pushWithSkopeo, skopeoVersion, startRegistry } from './lib/registry.mjs';
import { capture, timeOnce } from './lib/spawn.mjs';
import { endPodmanPause, findOnPath } from './lib/peers.mjs';
import { commandRow, compare } from './lib/stats.mjs';
import { orderFor } from './start.mjs';

/** A pull on a busy disk can take tens of seconds; a hung one must not stall the bench. */
const PULL_TIMEOUT_MS = 300_000;
const TMPFS_MAGIC = 0x01021994;
const UNMOUNT_AND_REMOVE = 'awk \'{print $5}\' /proc/self/mountinfo | grep "^$1/" | sort -r | xargs -r umount -l; rm -rf "$1"';

function firstLine(text) {
  return (text ?? '').split('\n')[0].trim();
}

/** Entries under `dir` (files, links, dirs), as far as this user can read: a sanity check. */
function countEntries(dir) {
  let n = 0;
  const walk = (d) => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      n++;
      if (e.isDirectory()) walk(join(d, e.name));
    }
  };
  walk(dir);
  return n;
}

function isTmpfs(dir) {
  try {
    return statfsSync(dir).type === TMPFS_MAGIC;
  } catch {
    return null;
  }
}

/**
 * The three tools, each as { id, label, prepare(dir) → case, clean(dir) }. A case is what
 * timeOnce runs; prepare and clean are not timed. Every round gets fresh, empty dirs.
 */
function pullTools(repoRoot, env, ref, blobUrl, notes) {
  const tools = [];
  const nook = join(repoRoot, 'bin', 'nook');
  tools.push({
    id: 'nook',
    label: `nook pull --tls-verify=false -q ${ref}`,
    prepare: (dir) => ({ cmd: nook, args: ['pull', '--tls-verify=false', '-q', ref], env: { ...env, XDG_DATA_HOME: dir }, timeoutMs: PULL_TIMEOUT_MS }),
    // The layer's files belong to container ids: removable only inside nook's user namespace.
    clean: (dir) => capture(nook, ['unshare', 'rm', '-rf', dir], env),
    extracted: (dir) => join(dir, 'nook', 'layers'),
  });

  const podman = findOnPath('podman', env.PATH);
  if (!podman) notes.push('pull: podman skipped: podman is not installed (Debian: apt-get install podman)');
  else {
    const store = (dir, driver) => ['--root', join(dir, 'root'), '--runroot', join(dir, 'run'), ...driver];
    const tool = {
      id: 'podman',
      driver: ['--storage-driver', 'overlay'],
      label: `podman pull --tls-verify=false -q ${ref}`,
      // TMPDIR: podman downloads each blob to a temp file (image_copy_tmp_dir, /var/tmp by
      // default) before applying it; on the medium measured, like the store.
      prepare: (dir) => {
        mkdirSync(join(dir, 'tmp'), { recursive: true });
        return {
          cmd: podman,
          args: [...store(dir, tool.driver), 'pull', '--tls-verify=false', '-q', ref],
          env: { ...env, TMPDIR: join(dir, 'tmp') },
          timeoutMs: PULL_TIMEOUT_MS,
        };
      },
      // Inside podman's user namespace, where its files are removable. The overlay driver
      // leaves its home dir bind-mounted in the pause process's mount namespace: unmount
      // whatever is mounted under the store first, or rm fails with EBUSY.
      clean: (dir) => capture(podman, [...store(dir, tool.driver), 'unshare', 'sh', '-c', UNMOUNT_AND_REMOVE, 'clean', dir], env),
      extracted: (dir) => join(dir, 'root'),
      // The overlay driver needs rootless overlay mounts; podman's default driver otherwise.
      fallback: () => {
        if (tool.driver.length === 0) return false;
        tool.driver = [];
        return true;
      },
    };
    tools.push(tool);
  }

  const curl = findOnPath('curl', env.PATH);
  if (!curl) notes.push('pull: the floor (curl | gunzip | tar -x) skipped: curl is not installed');
  else {
    tools.push({
      id: 'floor',
      label: 'curl -s BLOB_URL | gunzip | tar -x -C DIR',
      // As the user: no ownership kept, no digest checked, no store: a floor, not a peer.
      prepare: (dir) => {
        mkdirSync(join(dir, 'root'), { recursive: true });
        return {
          cmd: 'bash',
          args: ['-c', 'set -o pipefail; curl -sSf "$1" | gunzip | tar -x -C "$2"', 'floor', blobUrl, join(dir, 'root')],
          env,
          timeoutMs: PULL_TIMEOUT_MS,
        };
      },
      clean: (dir) => {
        rmSync(dir, { recursive: true, force: true });
        return { ok: true };
      },
      extracted: (dir) => join(dir, 'root'),
    });
  }
  return tools;
}

/**
 * One medium: `warmup` unrecorded rounds, then `rounds` recorded ones, each pulling once
 * with every tool (order rotated and reversed as in the start section). Before every
 * timed pull the page cache's dirty data is written out (`sync`, untimed), so no tool pays
 * for the previous one's writeback.
 */
function measureMedium(medium, base, tools, { rounds, warmup }, log) {
  const notes = [];
  let active = [...tools];
  const samples = Object.fromEntries(active.map((t) => [t.id, []]));
  const failures = Object.fromEntries(active.map((t) => [t.id, []]));
  const entries = {};
  const recorded = [];
  let serial = 0;

  const pullOnce = (tool) => {
    const dir = join(base, `${tool.id}-${serial++}`);
    mkdirSync(dir, { recursive: true });
    spawnSync('sync');
    const result = timeOnce(tool.prepare(dir));
    if (result.ok && entries[tool.id] === undefined) entries[tool.id] = countEntries(tool.extracted(dir));
    const cleaned = tool.clean(dir);
    if (!cleaned.ok) notes.push(`${medium}: could not remove ${tool.id}'s store ${dir}: ${cleaned.err}`);
    return result;
  };

  for (let round = 0; round < warmup; round++) {
    for (const tool of orderFor(active, round)) {
      let result = pullOnce(tool);
      while (!result.ok && tool.fallback?.()) {
        notes.push(`${medium}: ${tool.id} with overlay storage failed (${result.error}); measured with podman's default driver`);
        result = pullOnce(tool);
      }
      if (!result.ok) {
        notes.push(`${medium}: \`${tool.label}\` ${tool.id === 'nook' ? 'failed in warm-up' : 'dropped, failed in warm-up'} (${result.error})`);
        if (tool.id !== 'nook') active = active.filter((t) => t !== tool);
      }
    }
    log(`pull ${medium}: warm-up ${round + 1}/${warmup} done`);
  }

  for (let round = 0; round < rounds; round++) {
    const times = {};
    for (const tool of orderFor(active, round)) {
      const result = pullOnce(tool);
      if (result.ok) {
        times[tool.id] = result.ms;
        samples[tool.id].push(result.ms);
      } else failures[tool.id].push(result.error);
    }
    recorded.push(times);
    log(`pull ${medium}: round ${round + 1}/${rounds} ${active.map((t) => `${t.id} ${times[t.id]?.toFixed(0) ?? 'failed'}`).join(', ')}`);
  }

  const commands = active.map((t) => ({
    ...commandRow(t.id, t.id === 'podman' && t.driver.length === 0 ? t.label.replace('podman ', 'podman (default driver) ') : t.label, samples[t.id], failures[t.id]),
    entries: entries[t.id] ?? null,
  }));
  return { medium, dir: base, tmpfs: isTmpfs(base), commands, comparisons: comparisons(medium, active, recorded), notes };
}

/** nook against podman and the floor in one medium, with the issue's targets for that medium. */
function comparisons(medium, active, rounds) {
  const ids = new Set(active.map((t) => t.id));
  const out = [];
  const add = (other, title, target, isMet) => {
    if (!ids.has('nook') || !ids.has(other)) {
      if (target) out.push({ id: `nook/${other}`, title, target, met: null, skipped: true });
      return;
    }
    const pairs = rounds.filter((r) => r.nook !== undefined && r[other] !== undefined).map((r) => ({ a: r.nook, b: r[other] }));
    const c = compare(pairs);
    out.push({ id: `nook/${other}`, title, ...c, target, met: target && c.medianOfRatios !== null ? isMet(c.medianOfRatios) : null });
  };
  const tmpfs = medium === 'tmpfs';
  add('podman', 'nook vs `podman pull`', tmpfs ? 'nook ≤ 0.5 × podman' : null, (r) => r <= 0.5);
  add('floor', 'nook vs curl | gunzip | tar -x (the floor)', tmpfs ? null : 'nook ≤ 1.1 × the floor', (r) => r <= 1.1);
  return out;
}

/**
 * The pull section: fixture (cached), registry, push, then tmpfs and disk. Resolves to
 * { skipped } when the registry or skopeo is missing (a note, never a failure).
 */
export async function measurePull({ repoRoot, cacheDir, workDir, env, rounds, warmup }, log) {
  const curlVersion = firstLine(capture('curl', ['--version'], env).out).split(' ').slice(0, 2).join(' ');
  const versions = { skopeo: skopeoVersion(env), curl: curlVersion || 'missing' };
  const registryDir = join(workDir, 'registry');
  mkdirSync(registryDir, { recursive: true });
  const registry = await startRegistry(registryDir, env);
  if (registry.skipped) return { skipped: registry.skipped, versions };
  versions['docker-registry'] = registry.version;
  let shm = null;
  try {
    shm = mkdtempSync(join('/dev/shm', 'nook-bench-pull-'));
  } catch (err) {
    log(`pull: no tmpfs at /dev/shm (${err.message}): measuring on disk only`);
  }
  try {
    const fixture = await pullFixture(cacheDir, log);
    const ref = `${registry.host}/${IMAGE_REPO}:${IMAGE_TAG}`;
    const pushStart = Date.now();
    const failed = pushWithSkopeo(fixture.layout, IMAGE_TAG, ref, env);
    if (failed) return { skipped: failed, versions };
    log(`pull: fixture ${fixture.cached ? 'from the cache' : 'built'}, pushed to ${ref} in ${((Date.now() - pushStart) / 1000).toFixed(1)} s`);
    const blobUrl = `http://${registry.host}/v2/${IMAGE_REPO}/blobs/${fixture.layer.digest}`;

    const notes = [];
    const tools = pullTools(repoRoot, env, ref, blobUrl, notes);
    const podman = findOnPath('podman', env.PATH);
    if (podman) versions.podman = firstLine(capture(podman, ['--version'], env).out);
    const disk = join(workDir, 'pull-disk');
    mkdirSync(disk, { recursive: true });
    const media = [];
    if (shm === null) notes.push('pull on tmpfs not measured: /dev/shm is missing or not writable');
    for (const [medium, base] of [
      ['tmpfs', shm],
      ['disk', disk],
    ].filter(([, base]) => base !== null)) {
      const result = measureMedium(medium, base, tools, { rounds, warmup }, log);
      if (medium === 'tmpfs' && result.tmpfs === false) notes.push(`tmpfs: ${base} is not a tmpfs here`);
      if (medium === 'disk' && result.tmpfs) notes.push(`disk: ${base} is a tmpfs here (set TMPDIR to a dir on disk)`);
      notes.push(...result.notes);
      media.push(result);
    }
    return {
      fixture: {
        standsInFor: `debian (${TARGET.gzipped / 1e6} MB gzipped, ${TARGET.bytes / 1e6} MB unpacked, ${TARGET.entries} files)`,
        entries: fixture.entries,
        files: fixture.files,
        tarBytes: fixture.tarBytes,
        layerBytes: fixture.layer.size,
        digest: fixture.layer.digest,
        cached: fixture.cached,
      },
      ref,
      settings: { rounds, warmup },
      media,
      notes,
      versions,
    };
  } finally {
    // podman's pause process holds its overlay mounts in /dev/shm: end it before removing.
    endPodmanPause(env);
    await registry.stop();
    try {
      if (shm !== null) rmSync(shm, { recursive: true, force: true });
    } catch (err) {
      log(`nook bench: could not remove ${shm}: ${err.message}`);
    }
  }
}
