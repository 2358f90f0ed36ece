// Detached containers for the lifecycle sections (exec, stop, detached), for nook and for
// podman behind one small interface: start one (untimed), ask for its processes, remove
// some, sweep all. Every container is started in the bench's private stores, so a sweep
// can remove everything there without touching anything of the user's.
import { join } from 'node:path';
import { capture } from './spawn.mjs';

/** The last line of a `run -d`: the id (podman may print pull progress before it). */
function idFrom(out) {
  return out.split('\n').map((l) => l.trim()).filter(Boolean).at(-1) ?? '';
}

/**
 * nook's containers: `source` is what goes between `run -d` and the command, so one
 * instance serves the rootfs fixture (`--rootfs DIR`) and the imported image
 * (`--pull never IMAGE`).
 */
export function nookContainers(repoRoot, env) {
  const bin = join(repoRoot, 'bin', 'nook');
  return {
    tool: 'nook',
    bin,
    env,
    /** Starts `command` detached; { ok, id, error }. */
    start(source, command, options = []) {
      const args = ['run', '-d', ...options, ...source, ...(source[0] === '--rootfs' ? ['--'] : []), ...command];
      const r = capture(bin, args, env);
      return r.ok ? { ok: true, id: idFrom(r.out) } : { ok: false, error: r.err || r.out };
    },
    /** The monitor's pid and the container's PID 1 on the host, from `nook inspect`. */
    pids(id) {
      const r = capture(bin, ['inspect', id], env);
      if (!r.ok) return null;
      const state = JSON.parse(r.out)[0]?.State ?? {};
      return { monitor: state.ConmonPid, pid: state.Pid };
    },
    remove(ids) {
      return ids.length ? capture(bin, ['rm', '-f', '-t', '0', ...ids], env) : { ok: true };
    },
    /** Removes every container of the bench's private store. */
    sweep() {
      const ids = capture(bin, ['ps', '-aq'], env);
      if (ids.ok && ids.out) capture(bin, ['rm', '-f', '-t', '0', ...ids.out.split('\n')], env);
    },
    /** Runs a command as root of nook's user namespace (to read files of container ids). */
    unshare(args) {
      return capture(bin, ['unshare', ...args], env);
    },
  };
}

/**
 * podman's containers, from the image the podman peer imported, with the peer's store
 * and runtime flags (`podman.base`). Removal uses `-t 0`: the bench is tidying up, not
 * measuring, and a container without a SIGTERM handler would otherwise hold it 10 s.
 */
export function podmanContainers(podman, env) {
  const { bin, base, image } = podman;
  return {
    tool: 'podman',
    bin,
    env,
    base,
    start(command, options = []) {
      const r = capture(bin, [...base, 'run', '-d', ...options, image, ...command], env);
      return r.ok ? { ok: true, id: idFrom(r.out) } : { ok: false, error: r.err || r.out };
    },
    /** conmon's pid, the container's PID 1, and the network namespace slirp4netns serves. */
    pids(id) {
      const r = capture(bin, [...base, 'inspect', '--format', '{{.State.ConmonPid}} {{.State.Pid}} {{.NetworkSettings.SandboxKey}}', id], env);
      if (!r.ok) return null;
      const [monitor, pid, netns = ''] = r.out.split(' ');
      return { monitor: Number(monitor), pid: Number(pid), netns };
    },
    remove(ids) {
      return ids.length ? capture(bin, [...base, 'rm', '-f', '-t', '0', ...ids], env) : { ok: true };
    },
    sweep() {
      capture(bin, [...base, 'rm', '-f', '-a', '-t', '0'], env);
    },
    unshare(args) {
      return capture(bin, [...base, 'unshare', ...args], env);
    },
  };
}
