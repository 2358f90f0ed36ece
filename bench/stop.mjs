// Stop latency: how long `stop -t 10 CTR` takes for a running container whose command
// ends on SIGTERM, for nook (bin/nook's own stop, and through the CLI) and podman; and
// `rm -f CTR` of a running one. Every timed
// command gets a container started just before it (untimed), in rotated rounds as the
// other sections. The container is `sleep` under each tool's `--init`: a PID 1 without a
// SIGTERM handler ignores SIGTERM (the kernel shields a namespace's init), so a bare
// `sleep` would only measure the 10 s timeout; with `--init` the init passes SIGTERM on
// and sleep dies of it, which is what a user with a well-behaved service sees.
import { orderFor, pairedComparisons } from './start.mjs';
import { runtimeFlag } from './exec.mjs';
import { commandRow } from './lib/stats.mjs';
import { timeOnce } from './lib/spawn.mjs';

const SLEEPER = ['sleep', '100000'];
const INIT = ['--init'];

/** The timed commands: each names its tool, how it starts its container, what is timed. */
function stopCases(nook, podman, rootfs) {
  const cases = [
    {
      id: 'nook-stop',
      label: 'nook stop -t 10 CTR',
      tool: nook,
      setup: () => nook.start(['--rootfs', rootfs], SLEEPER, INIT),
      timed: (id) => ({ cmd: nook.bin, args: ['stop', '-t', '10', id], env: nook.env }),
      removes: false,
    },
    {
      id: 'nook-stop-cli',
      label: 'NOOK_NO_FAST_PATH=1 nook stop -t 10 CTR',
      tool: nook,
      setup: () => nook.start(['--rootfs', rootfs], SLEEPER, INIT),
      timed: (id) => ({ cmd: nook.bin, args: ['stop', '-t', '10', id], env: { ...nook.env, NOOK_NO_FAST_PATH: '1' } }),
      removes: false,
    },
    {
      id: 'nook-rm',
      label: 'nook rm -f CTR',
      tool: nook,
      setup: () => nook.start(['--rootfs', rootfs], SLEEPER, INIT),
      timed: (id) => ({ cmd: nook.bin, args: ['rm', '-f', id], env: nook.env }),
      removes: true,
    },
  ];
  if (podman) {
    const runc = runtimeFlag(podman);
    cases.push(
      {
        id: 'podman-stop',
        label: `podman ${runc}stop -t 10 CTR`,
        tool: podman,
        setup: () => podman.start(SLEEPER, INIT),
        timed: (id) => ({ cmd: podman.bin, args: [...podman.base, 'stop', '-t', '10', id], env: podman.env }),
        removes: false,
      },
      {
        id: 'podman-rm',
        label: `podman ${runc}rm -f CTR`,
        tool: podman,
        setup: () => podman.start(SLEEPER, INIT),
        timed: (id) => ({ cmd: podman.bin, args: [...podman.base, 'rm', '-f', id], env: podman.env }),
        removes: true,
      },
    );
  }
  return cases;
}

/**
 * `rounds` recorded rounds after `warmup` unrecorded ones. A container that does not
 * start counts as a failure of its row (with the error), as a failed stop does. After each
 * timed command the container is removed, untimed, unless the command itself removed it.
 */
export function measureStop({ nook, podman, rootfs }, { rounds: runs, warmup }, log) {
  const cases = stopCases(nook, podman, rootfs);
  const samples = Object.fromEntries(cases.map((c) => [c.id, []]));
  const failures = Object.fromEntries(cases.map((c) => [c.id, []]));
  const rounds = [];
  log(`stop latency: ${cases.map((c) => c.id).join(', ')}`);
  for (let round = 0; round < warmup + runs; round++) {
    const recorded = round >= warmup;
    const times = {};
    for (const c of orderFor(cases, round)) {
      const started = c.setup();
      if (!started.ok) {
        if (recorded) failures[c.id].push(`the container did not start: ${started.error}`);
        continue;
      }
      const result = timeOnce(c.timed(started.id));
      if (!c.removes || !result.ok) c.tool.remove([started.id]);
      if (!recorded) continue;
      if (result.ok) {
        times[c.id] = result.ms;
        samples[c.id].push(result.ms);
      } else failures[c.id].push(result.error);
    }
    if (!recorded) continue;
    rounds.push(times);
    log(`stop: round ${round - warmup + 1}/${runs} ${cases.map((c) => `${c.id} ${times[c.id]?.toFixed(1) ?? 'failed'}`).join(', ')}`);
  }

  const commands = cases.map((c) => commandRow(c.id, c.label, samples[c.id], failures[c.id]));
  const { add, out } = pairedComparisons(cases, rounds);
  add('nook-stop', 'podman-stop', 'nook stop vs podman stop', 'nook stop ≤ 0.3 × podman stop', (c) => (c.medianOfRatios !== null ? c.medianOfRatios <= 0.3 : null));
  add('nook-stop-cli', 'podman-stop', 'nook stop through the CLI vs podman stop');
  add('nook-rm', 'podman-rm', 'nook rm -f vs podman rm -f');
  return { commands, comparisons: out, notes: [] };
}
