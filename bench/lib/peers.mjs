// The commands measured: nook, the floor (`node -e 0`) and the tools a user would pick
// instead (bubblewrap, podman). A peer is used when it is installed and can start the
// fixture here; otherwise it is skipped with a note saying why. The bench never fails
// because of a peer.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { capture, timeOnce } from './spawn.mjs';

const PODMAN_IMAGE = 'localhost/nook-bench-busybox:latest';

export function findOnPath(name, path) {
  for (const dir of path.split(':')) {
    const candidate = join(dir, name);
    if (dir && existsSync(candidate)) return candidate;
  }
  return null;
}

function firstLine(text) {
  return text.split('\n')[0].trim();
}

/**
 * nook as a user runs it: bin/nook (the C launcher, which runs the CLI with the node on PATH). Its version is
 * the package's, plus the commit when the checkout is a git clone.
 */
export function nookPeer(repoRoot, rootfs, env) {
  const bin = join(repoRoot, 'bin', 'nook');
  for (const built of ['dist/nook.cjs', 'native/build/nook-runtime']) {
    if (!existsSync(join(repoRoot, built))) throw new Error(`${built} is missing: run "npm install" (or "npm run build") first`);
  }
  let version = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version;
  const git = capture('git', ['-C', repoRoot, 'rev-parse', '--short', 'HEAD'], env);
  if (git.ok && git.out) version += ` (${git.out})`;
  return {
    version,
    // --network none here and for podman: the start section measures the runtime; what a
    // network costs on top is the network section's (pasta, slirp4netns, podman's default).
    // The same command again and again: from the second on, bin/nook replays it without
    // Node (docs/fast-path.md). The `cli` row is what a first run, or one whose inputs
    // changed, takes: the CLI deciding it afresh.
    run: { id: 'nook', label: 'nook run --rm --network none --rootfs DIR true', cmd: bin, args: ['run', '--rm', '--network', 'none', '--rootfs', rootfs, 'true'], env },
    cli: { id: 'nook-cli', label: 'NOOK_NO_FAST_PATH=1 nook run --rm --network none --rootfs DIR true', cmd: bin, args: ['run', '--rm', '--network', 'none', '--rootfs', rootfs, 'true'], env: { ...env, NOOK_NO_FAST_PATH: '1' } },
    // The commands that only read (the "within 5 ms of node" pair).
    versionCommand: { id: 'nook-version', label: 'nook --version', cmd: bin, args: ['--version'], env },
    ps: { id: 'nook-ps', label: 'nook ps', cmd: bin, args: ['ps'], env },
    // Plans the same container and prints it, starting nothing: the CLI's own share of a start.
    explain: { id: 'nook-explain', label: 'nook run --rm --network none --rootfs DIR --explain true', cmd: bin, args: ['run', '--rm', '--network', 'none', '--rootfs', rootfs, '--explain', 'true'], env },
  };
}

/**
 * nook running an image: the same files `nook import`ed (owned by root, as podman gets
 * them), so the row differs from the rootfs one by the store, the overlay and the image
 * config. Its store's layers belong to container ids: cleanup goes through nook unshare.
 */
export function nookImagePeer(repoRoot, workDir, rootfs, env) {
  const bin = join(repoRoot, 'bin', 'nook');
  const tar = join(workDir, 'nook-rootfs.tar');
  const tarred = capture('tar', ['-C', rootfs, '--numeric-owner', '--owner=0', '--group=0', '-cf', tar, '.'], env);
  if (!tarred.ok) return { skipped: `cannot tar the fixture for nook import (${tarred.err})` };
  const cleanup = () => capture(bin, ['unshare', 'rm', '-rf', join(env.XDG_DATA_HOME, 'nook')], env);
  const imported = capture(bin, ['import', tar, 'nook-bench-busybox'], env);
  if (!imported.ok) return { skipped: `nook cannot import the fixture (${imported.err})`, cleanup };
  const run = { id: 'nook-image', label: 'nook run --rm --network none IMAGE true', cmd: bin, args: ['run', '--rm', '--network', 'none', '--pull', 'never', 'nook-bench-busybox', 'true'], env };
  if (!timeOnce(run).ok) return { skipped: 'nook cannot run the imported fixture', cleanup };
  const cli = { ...run, id: 'nook-image-cli', label: 'NOOK_NO_FAST_PATH=1 nook run --rm --network none IMAGE true', env: { ...env, NOOK_NO_FAST_PATH: '1' } };
  return { run, cli, image: 'nook-bench-busybox', cleanup };
}

/** The floor: the node that nook's shebang finds, starting and doing nothing. */
export function nodePeer(env) {
  const node = findOnPath('node', env.PATH) ?? process.execPath;
  return {
    version: capture(node, ['--version'], env).out || process.version,
    run: { id: 'node', label: 'node -e 0', cmd: node, args: ['-e', '0'], env },
  };
}

/**
 * bubblewrap over the same directory with every namespace it can create, mapped to root
 * inside as nook is: the closest thing to a nook container without images or a store.
 */
export function bwrapPeer(rootfs, env) {
  const bwrap = findOnPath('bwrap', env.PATH);
  if (!bwrap) return { skipped: 'bwrap is not installed (Debian: apt-get install bubblewrap)' };
  const run = {
    id: 'bwrap',
    label: 'bwrap --unshare-all --uid 0 --gid 0 --bind DIR / --proc /proc --dev /dev true',
    cmd: bwrap,
    args: ['--unshare-all', '--uid', '0', '--gid', '0', '--bind', rootfs, '/', '--proc', '/proc', '--dev', '/dev', 'true'],
    env,
  };
  const probe = timeOnce(run);
  if (!probe.ok) return { skipped: `bwrap cannot start a sandbox here (${probe.error})` };
  return { version: firstLine(capture(bwrap, ['--version'], env).out), run };
}

/**
 * podman with a private store in the work dir: the fixture tarred (owned by root, as in
 * an image) and imported. The storage driver is overlay when the kernel allows it rootless
 * (podman's fast path), else podman's default. The OCI runtime is podman's default (crun)
 * unless it cannot start a container here, then runc: crun refuses hybrid cgroup v1/v2
 * hosts. Every fallback is noted in the report.
 */
export function podmanPeer(workDir, rootfs, env) {
  const podman = findOnPath('podman', env.PATH);
  if (!podman) return { skipped: 'podman is not installed (Debian: apt-get install podman)' };
  const notes = [];
  const store = join(workDir, 'podman');
  const storeArgs = ['--root', join(store, 'root'), '--runroot', join(store, 'run')];
  let base = storeArgs; // grows the storage driver once one works; cleanup must name it too
  const cleanup = () => podmanCleanup(podman, base, store, env);

  const tar = join(workDir, 'rootfs.tar');
  const tarred = capture('tar', ['-C', rootfs, '--numeric-owner', '--owner=0', '--group=0', '-cf', tar, '.'], env);
  if (!tarred.ok) return { skipped: `cannot tar the fixture for podman import (${tarred.err})` };

  let imported = null;
  for (const driver of [['--storage-driver', 'overlay'], []]) {
    base = [...storeArgs, ...driver];
    imported = capture(podman, [...base, 'import', '-q', tar, PODMAN_IMAGE], env);
    if (imported.ok) break;
    if (driver.length) notes.push(`podman: overlay storage unavailable (${imported.err}); using podman's default driver`);
    cleanup(); // a store is tied to its driver: start the next attempt from nothing
  }
  if (!imported.ok) return { skipped: `podman cannot import the fixture (${imported.err})`, cleanup };

  const runArgs = (runtime, network = ['--network', 'none']) => [...base, ...runtime, 'run', '--rm', ...network, PODMAN_IMAGE, 'true'];
  let runtime = null;
  const first = timeOnce({ cmd: podman, args: runArgs([]), env });
  if (first.ok) runtime = [];
  else if (findOnPath('runc', env.PATH) && timeOnce({ cmd: podman, args: runArgs(['--runtime', 'runc']), env }).ok) {
    runtime = ['--runtime', 'runc'];
    notes.push(`podman: its default runtime fails here (${first.error}); measured with --runtime runc`);
  }
  if (!runtime) return { skipped: `podman cannot run a container here (${first.error})`, cleanup };

  const info = capture(podman, [...base, ...runtime, 'info', '--format', '{{.Host.OCIRuntime.Version}}|{{.Store.GraphDriverName}}'], env);
  const [ociRuntime = '?', driver = '?'] = info.out.split('|').map((part) => firstLine(part));
  return {
    version: `${firstLine(capture(podman, ['--version'], env).out)}; ${ociRuntime}; storage ${driver}`,
    run: { id: 'podman', label: `podman ${runtime.length ? '--runtime runc ' : ''}run --rm --network none IMAGE true`, cmd: podman, args: runArgs(runtime), env },
    // With its default network (slirp4netns here): what the network section compares nook's default with.
    runDefaultNetwork: { id: 'podman', label: `podman ${runtime.length ? '--runtime runc ' : ''}run --rm IMAGE true`, cmd: podman, args: runArgs(runtime, []), env },
    // What the lifecycle sections need to start their own containers from the same image.
    containers: { bin: podman, base: [...base, ...runtime], image: PODMAN_IMAGE },
    notes,
    cleanup,
  };
}

/**
 * Leaves nothing behind: the store holds files owned by subordinate ids (only removable
 * inside podman's user namespace), and rootless podman keeps a pause process per runtime
 * dir alive after its first command. It is ours (our private XDG_RUNTIME_DIR), so it is
 * ended by the pid podman recorded.
 */
function podmanCleanup(podman, baseArgs, store, env) {
  if (existsSync(store)) capture(podman, [...baseArgs, 'unshare', 'rm', '-rf', store], env);
  endPodmanPause(env);
}

/** Ends the rootless pause process of the bench's private runtime dir, if podman started one. */
export function endPodmanPause(env) {
  const pidFile = join(env.XDG_RUNTIME_DIR, 'libpod', 'tmp', 'pause.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (Number.isInteger(pid) && pid > 1) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** The fixture's busybox and whether nook gets a full id map (it needs newuidmap for one). */
export function helperVersions(env) {
  const busybox = capture('busybox', ['--help'], env);
  return {
    busybox: firstLine(busybox.out || busybox.err || '').replace(/ multi-call binary\.$/, '') || 'unknown',
    newuidmap: findOnPath('newuidmap', env.PATH) ? 'installed' : 'missing: nook runs with a single-id map',
  };
}
