// Networking: what a container's network costs at start, and how fast a published port
// carries data. Start: `nook run --rm … true` with no network, with pasta (the default) and
// with slirp4netns, against podman's `run --rm` with its own default network. Transfer: a
// file downloaded through a published port (the server is busybox httpd in the container,
// the client this process on 127.0.0.1), and the latency of sequential small GETs, for
// nook's two helpers, podman's -p, and the floor: the same httpd on the host.
import { spawn } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { closeSync, mkdirSync, openSync, writeSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { measureRounds, orderFor, pairedComparisons } from './start.mjs';
import { median } from './lib/stats.mjs';

const SMALL = 'index.html';
const BIG = 'big.bin';
const HTTPD = (port) => ['httpd', '-f', '-p', String(port), '-h', '/www'];

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** One GET on a fresh connection: { ok, bytes, ms } (never rejects). */
function fetchOnce(port, path) {
  return new Promise((resolve) => {
    const start = process.hrtime.bigint();
    let bytes = 0;
    const done = (ok) => resolve({ ok, bytes, ms: Number(process.hrtime.bigint() - start) / 1e6 });
    get({ host: '127.0.0.1', port, path: `/${path}`, agent: false }, (res) => {
      res.on('data', (chunk) => (bytes += chunk.length));
      res.on('end', () => done(res.statusCode === 200));
      res.on('error', () => done(false));
    }).on('error', () => done(false));
  });
}

async function untilServing(port) {
  for (let attempt = 0; attempt < 200; attempt++) {
    if ((await fetchOnce(port, SMALL)).ok) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/** The served directory: a small page and a big file of random bytes (nothing compresses or dedups it). */
function makeWww(dir, megabytes) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, SMALL), 'hello\n');
  const fd = openSync(join(dir, BIG), 'w');
  const chunk = Buffer.alloc(1 << 20);
  for (let i = 0; i < megabytes; i++) writeSync(fd, randomFillSync(chunk));
  closeSync(fd);
}

/** Each server: { id, label, port, stop } once it answers, or { id, label, error }. */
async function startServers({ nook, podman, rootfs }, www, busybox) {
  const servers = [];
  const floorPort = await freePort();
  const floor = spawn(busybox, ['httpd', '-f', '-p', `127.0.0.1:${floorPort}`, '-h', www], { stdio: 'ignore' });
  servers.push({ id: 'floor', label: 'busybox httpd on the host (the floor)', port: floorPort, stop: () => floor.kill() });
  const volume = ['-v', `${www}:/www:ro`];
  for (const network of ['pasta', 'slirp4netns']) {
    const port = await freePort();
    const r = nook.start(['--rootfs', rootfs], HTTPD(80), ['--network', network, '-p', `127.0.0.1:${port}:80`, ...volume]);
    const server = { id: `nook-${network}`, label: `nook run -d --network ${network} -p`, port };
    servers.push(r.ok ? { ...server, stop: () => nook.remove([r.id]) } : { ...server, error: r.error });
  }
  if (podman) {
    const port = await freePort();
    const r = podman.start(HTTPD(80), ['-p', `127.0.0.1:${port}:80`, ...volume]);
    const server = { id: 'podman', label: 'podman run -d -p (its default network and port handler)', port };
    servers.push(r.ok ? { ...server, stop: () => podman.remove([r.id]) } : { ...server, error: r.error });
  }
  for (const s of servers) if (!s.error && !(await untilServing(s.port))) s.error = `nothing answered on 127.0.0.1:${s.port}`;
  return servers;
}

function percentile(values, p) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function measureTransfer(context, settings, log) {
  const www = join(context.workDir, 'www');
  makeWww(www, settings.transferMb);
  const servers = await startServers(context, www, join(context.rootfs, 'bin', 'busybox'));
  try {
    const up = servers.filter((s) => !s.error);
    const downloads = Object.fromEntries(up.map((s) => [s.id, []]));
    const latencies = Object.fromEntries(up.map((s) => [s.id, []]));
    const failures = Object.fromEntries(up.map((s) => [s.id, 0]));
    const expected = settings.transferMb << 20;
    // Rounds, every server once per round in a rotating order, as the start section does.
    for (let round = 0; round < settings.transferRounds + 1; round++) {
      for (const s of orderFor(up, round)) {
        const r = await fetchOnce(s.port, BIG);
        if (!r.ok || r.bytes !== expected) failures[s.id]++;
        else if (round > 0) downloads[s.id].push((r.bytes / 1e6) / (r.ms / 1000));
      }
      if (round > 0) log(`network: download round ${round}/${settings.transferRounds} ${up.map((s) => `${s.id} ${downloads[s.id].at(-1)?.toFixed(0) ?? 'failed'} MB/s`).join(', ')}`);
    }
    // Interleaved too: request i goes to every server before request i+1 goes to any.
    for (let i = 0; i < settings.latencyRequests; i++) {
      for (const s of orderFor(up, i)) {
        const r = await fetchOnce(s.port, SMALL);
        if (r.ok) latencies[s.id].push(r.ms);
        else failures[s.id]++;
      }
    }
    log(`network: ${settings.latencyRequests} GETs each: ${up.map((s) => `${s.id} median ${median(latencies[s.id])?.toFixed(2)} ms`).join(', ')}`);
    const rows = servers.map((s) => ({
      id: s.id,
      label: s.label,
      error: s.error ?? null,
      downloadMBps: s.error ? null : median(downloads[s.id]),
      downloads: s.error ? [] : downloads[s.id],
      latencyMedianMs: s.error ? null : median(latencies[s.id]),
      latencyP95Ms: s.error ? null : percentile(latencies[s.id], 95),
      latencyTotalMs: s.error ? null : latencies[s.id].reduce((a, b) => a + b, 0),
      failures: s.error ? null : failures[s.id],
    }));
    const byId = Object.fromEntries(rows.map((r) => [r.id, r]));
    const pasta = byId['nook-pasta'];
    const target = pasta?.downloadMBps && byId.podman?.downloadMBps
      ? { text: "nook (pasta) ≥ podman's throughput", met: pasta.downloadMBps >= byId.podman.downloadMBps }
      : { text: "nook (pasta) ≥ podman's throughput", met: null };
    return { megabytes: settings.transferMb, rounds: settings.transferRounds, requests: settings.latencyRequests, rows, target };
  } finally {
    for (const s of servers) s.stop?.();
  }
}

function startComparisons(active, rounds) {
  const { add, out } = pairedComparisons(active, rounds);
  add('nook-pasta', 'nook-none', 'default network (pasta) vs `--network none`', 'within 20 ms of --network none', (c) =>
    c.medianOfDifferences !== null ? c.medianOfDifferences <= 20 : null,
  );
  add('nook-slirp4netns', 'nook-none', 'slirp4netns vs `--network none`');
  add('nook-pasta', 'podman', 'nook (pasta) vs podman with its default network', 'nook ≤ 0.3 × podman', (c) => (c.medianOfRatios !== null ? c.medianOfRatios <= 0.3 : null));
  return out;
}

/**
 * `context`: { nook (nookContainers), podman (podmanContainers or null), podmanRun (the
 * podman peer's start case or null), rootfs, workDir, env }.
 */
export async function measureNetwork(context, settings, log) {
  const { nook, rootfs, env } = context;
  const run = (id, network) => ({
    id,
    label: `nook run --rm --network ${network} --rootfs DIR true`,
    cmd: nook.bin,
    args: ['run', '--rm', '--network', network, '--rootfs', rootfs, 'true'],
    env,
  });
  const cases = [run('nook-none', 'none'), run('nook-pasta', 'pasta'), run('nook-slirp4netns', 'slirp4netns'), ...(context.podmanRun ? [context.podmanRun] : [])];
  log(`network start: ${cases.map((c) => c.id).join(', ')}`);
  const start = measureRounds(cases, settings, log, { section: 'network start', keep: 'nook-pasta' });
  log(`network transfer: ${settings.transferMb} MB, ${settings.transferRounds} rounds; ${settings.latencyRequests} small GETs each`);
  const transfer = await measureTransfer(context, settings, log);
  return {
    start: { commands: start.commands, comparisons: startComparisons(start.active, start.rounds) },
    transfer,
    notes: [
      ...start.notes,
      ...transfer.rows.filter((r) => r.error).map((r) => `network transfer: ${r.label} could not serve: ${r.error}`),
    ],
  };
}
