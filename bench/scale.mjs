// Scale: N containers started at once. The figure is the wall time until the last one
// has exited, and how many failed; 32 at once is where shared state (the runtime dir,
// id maps, container ids) would collide if it were not safe to share.
import { median, summarize } from './lib/stats.mjs';
import { timeAsync } from './lib/spawn.mjs';

/** Starts `n` copies of `run` without waiting between them; resolves when all have exited. */
async function batch(run, n) {
  const start = process.hrtime.bigint();
  const results = await Promise.all(Array.from({ length: n }, () => timeAsync(run)));
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  return { wallMs, results };
}

/**
 * `rounds` recorded rounds after `warmup` unrecorded ones; each round runs every N once,
 * in a rotated order, so the levels share the machine's good and bad moments.
 */
export async function measureScale(run, levels, { rounds, warmup }, log) {
  const byLevel = Object.fromEntries(levels.map((n) => [n, { walls: [], each: [], starts: 0, failures: 0, errors: [] }]));
  for (let round = 0; round < warmup + rounds; round++) {
    const order = [...levels.slice(round % levels.length), ...levels.slice(0, round % levels.length)];
    for (const n of order) {
      const { wallMs, results } = await batch(run, n);
      if (round < warmup) continue;
      const level = byLevel[n];
      level.walls.push(wallMs);
      level.each.push(median(results.filter((r) => r.ok).map((r) => r.ms)));
      level.starts += n;
      for (const r of results.filter((x) => !x.ok)) {
        level.failures++;
        if (!level.errors.includes(r.error) && level.errors.length < 3) level.errors.push(r.error);
      }
      log(`scale: round ${round - warmup + 1}/${rounds} N=${n} wall ${wallMs.toFixed(0)} ms, ${results.filter((r) => !r.ok).length} failed`);
    }
  }
  return levels.map((n) => {
    const level = byLevel[n];
    const wall = summarize(level.walls);
    return {
      n,
      wall,
      perContainerMs: wall.median !== null ? wall.median / n : null,
      medianStartInBatchMs: median(level.each.filter((x) => x !== null)),
      starts: level.starts,
      failures: level.failures,
      errors: level.errors,
      samples: level.walls,
    };
  });
}
