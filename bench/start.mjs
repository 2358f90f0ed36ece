// Start latency: how long `true` takes in a fresh container, for nook and each peer.
// All commands run in rounds, one of each per round, so every comparison is between
// runs taken seconds apart: on a shared machine absolute times drift, ratios hold.
import { commandRow, compare } from './lib/stats.mjs';
import { timeOnce } from './lib/spawn.mjs';

/**
 * The round's order: rotated by one each round, so every command takes every position in
 * turn, and reversed every other round, so a command does not always run right after the
 * same one (e.g. after podman, whose teardown may still be finishing in the background).
 */
export function orderFor(list, round) {
  const k = round % list.length;
  const rotated = [...list.slice(k), ...list.slice(0, k)];
  return round % 2 ? rotated.reverse() : rotated;
}

/**
 * Runs `cases` (each { id, label, cmd, args, env }) `warmup` rounds unrecorded, then
 * `runs` recorded rounds. A case that fails in warm-up is dropped with a note (a peer
 * that worked in the probe and fails now), except `keep` (nook's own row: its failures
 * are the finding); later failures are counted, not timed. Returns the summary of each
 * command and the raw rounds, from which the paired comparisons are made. Also used by
 * the exec section (`section` names the progress lines).
 */
export function measureRounds(cases, { runs, warmup }, log, { section = 'start', keep = 'nook' } = {}) {
  const notes = [];
  let active = [...cases];
  for (let round = 0; round < warmup; round++) {
    for (const c of orderFor(active, round)) {
      const result = timeOnce(c);
      if (!result.ok && c.id !== keep) {
        notes.push(`${c.label}: dropped, failed in warm-up (${result.error})`);
        active = active.filter((x) => x !== c);
      }
    }
  }

  const samples = Object.fromEntries(active.map((c) => [c.id, []]));
  const failures = Object.fromEntries(active.map((c) => [c.id, []]));
  const rounds = [];
  for (let round = 0; round < runs; round++) {
    const times = {};
    for (const c of orderFor(active, round)) {
      const result = timeOnce(c);
      if (result.ok) {
        times[c.id] = result.ms;
        samples[c.id].push(result.ms);
      } else failures[c.id].push(result.error);
    }
    rounds.push(times);
    log(`${section}: round ${round + 1}/${runs} ${active.map((c) => `${c.id} ${times[c.id]?.toFixed(1) ?? 'failed'}`).join(', ')}`);
  }

  const commands = active.map((c) => commandRow(c.id, c.label, samples[c.id], failures[c.id]));
  return { active, rounds, commands, notes };
}

export function measureStart(cases, settings, log) {
  const { active, rounds, commands, notes } = measureRounds(cases, settings, log);
  return { commands, comparisons: comparisons(active, rounds), notes };
}

/**
 * A builder of paired comparisons over `rounds` (each { id: ms }): `add(mine, other, …)`
 * appends one row, or a skipped row when a side was not measured and the row carries a
 * target (a target stays visible when its peer could not be measured).
 */
export function pairedComparisons(active, rounds) {
  const ids = new Set(active.map((c) => c.id));
  const out = [];
  const add = (mine, other, title, targetText = null, isMet = null) => {
    if (!ids.has(mine) || !ids.has(other)) {
      if (targetText) out.push({ id: `${mine}/${other}`, title, target: targetText, met: null, skipped: true });
      return;
    }
    const c = compare(pairsAgainst(rounds, other, mine));
    out.push({ id: `${mine}/${other}`, title, ...c, target: targetText, met: targetText ? isMet(c) : null });
  };
  return { add, out };
}

/** Pairs of nook's time and another command's time from the same round. */
function pairsAgainst(rounds, other, mine = 'nook') {
  return rounds.filter((r) => r[mine] !== undefined && r[other] !== undefined).map((r) => ({ a: r[mine], b: r[other] }));
}

/**
 * nook against each other command, with the issue's targets. Targets are judged on the
 * paired figures (median of per-round ratios or differences), which a drifting machine
 * disturbs least; they are reported, never enforced.
 */
function comparisons(active, rounds) {
  const { add, out } = pairedComparisons(active, rounds);
  add('nook', 'node', 'nook vs `node -e 0` (the floor)', 'nook within 15 ms of node -e 0', (c) =>
    c.medianOfDifferences !== null ? c.medianOfDifferences <= 15 : null,
  );
  add('nook', 'bwrap', 'nook vs bwrap');
  add('nook', 'podman', 'nook vs podman', 'nook ≤ 0.25 × podman', (c) => (c.medianOfRatios !== null ? c.medianOfRatios <= 0.25 : null));
  // The like-for-like pair: both start a container from an image in their store.
  add('nook-image', 'podman', 'nook run IMAGE vs podman run IMAGE', 'nook ≤ 0.25 × podman', (c) => (c.medianOfRatios !== null ? c.medianOfRatios <= 0.25 : null));
  add('nook-image', 'nook', 'nook run IMAGE vs nook run --rootfs');
  for (const [id, name] of [
    ['nook-version', 'nook --version'],
    ['nook-ps', 'nook ps'],
  ]) {
    add(id, 'node', `${name} vs \`node -e 0\``, `${name} within 5 ms of node -e 0`, (c) => (c.medianOfDifferences !== null ? c.medianOfDifferences <= 5 : null));
  }
  // A first run (or one whose inputs changed): the CLI decides it.
  add('nook-cli', 'node', 'nook through the CLI vs `node -e 0`');
  add('nook-cli', 'nook-explain', 'nook through the CLI vs its CLI alone (`--explain`)');
  add('nook-cli', 'podman', 'nook through the CLI vs podman');
  add('nook-image-cli', 'podman', 'nook run IMAGE through the CLI vs podman run IMAGE');
  return out;
}
