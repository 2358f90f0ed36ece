// Exec latency: how long `exec CTR true` takes into a container that is already running,
// for nook and podman, next to the floor (`node -e 0`: nook's CLI cannot start faster).
// The same rotated rounds as the start section; the containers are started once, untimed,
// and removed at the end.
import { measureRounds, pairedComparisons } from './start.mjs';

const SLEEPER = ['sleep', '100000'];

/**
 * `nook` (nookContainers), `podman` (podmanContainers or null when podman is skipped),
 * `node` (the floor's case). A peer whose container does not start is left out with a
 * note; nook's failure to start one skips the section.
 */
export function measureExec({ nook, podman, node, rootfs }, settings, log) {
  const notes = [];
  const started = [];
  try {
    const mine = nook.start(['--rootfs', rootfs], SLEEPER);
    if (!mine.ok) return { skipped: `nook cannot start a detached container (${mine.error})` };
    started.push([nook, mine.id]);
    // The same exec again and again: from the second on, bin/nook replays it without Node
    // (docs/fast-path.md); the `cli` row is the CLI deciding it afresh.
    const cases = [
      { id: 'nook-exec', label: 'nook exec CTR true', cmd: nook.bin, args: ['exec', mine.id, 'true'], env: nook.env },
      { id: 'nook-exec-cli', label: 'NOOK_NO_FAST_PATH=1 nook exec CTR true', cmd: nook.bin, args: ['exec', mine.id, 'true'], env: { ...nook.env, NOOK_NO_FAST_PATH: '1' } },
      node,
    ];
    if (podman) {
      const theirs = podman.start(SLEEPER);
      if (theirs.ok) {
        started.push([podman, theirs.id]);
        cases.push({ id: 'podman-exec', label: `podman ${runtimeFlag(podman)}exec CTR true`, cmd: podman.bin, args: [...podman.base, 'exec', theirs.id, 'true'], env: podman.env });
      } else notes.push(`podman exec skipped: podman cannot start a detached container (${theirs.error})`);
    }
    log(`exec latency: ${cases.map((c) => c.id).join(', ')}`);
    const { active, rounds, commands, notes: roundNotes } = measureRounds(cases, settings, log, { section: 'exec', keep: 'nook-exec' });
    const { add, out } = pairedComparisons(active, rounds);
    add('nook-exec', 'node', 'nook exec vs `node -e 0` (the floor)');
    add('nook-exec', 'podman-exec', 'nook exec vs podman exec', 'nook exec ≤ 0.2 × podman exec', (c) => (c.medianOfRatios !== null ? c.medianOfRatios <= 0.2 : null));
    add('nook-exec-cli', 'podman-exec', 'nook exec through the CLI vs podman exec');
    return { commands, comparisons: out, notes: [...notes, ...roundNotes] };
  } finally {
    for (const [tool, id] of started) tool.remove([id]);
  }
}

/** `--runtime runc ` when the podman peer needed it, so the label says what ran. */
export function runtimeFlag(podman) {
  return podman.base.includes('runc') ? '--runtime runc ' : '';
}
