// Summaries of repeated measurements. Medians, not means: on a shared machine one run in
// twenty lands on a busy core and a mean would carry it; min and max show the spread.

export function median(values) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** { n, median, min, max } of a list of numbers (all null when the list is empty). */
export function summarize(values) {
  if (values.length === 0) return { n: 0, median: null, min: null, max: null };
  return { n: values.length, median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

/**
 * A comparison of A against B from rounds where both ran. Two views of the same data:
 * the ratio of the two medians, and the median of the per-round ratios (each A paired
 * with the B measured right next to it, so a slow patch of the machine hits both).
 * They should agree; when they don't, the machine was drifting during the run.
 */
export function compare(pairs) {
  const a = pairs.map((p) => p.a);
  const b = pairs.map((p) => p.b);
  const ma = median(a);
  const mb = median(b);
  return {
    pairs: pairs.length,
    ratioOfMedians: ma !== null && mb ? ma / mb : null,
    medianOfRatios: median(pairs.map((p) => p.a / p.b)),
    differenceOfMedians: ma !== null && mb !== null ? ma - mb : null,
    medianOfDifferences: median(pairs.map((p) => p.a - p.b)),
  };
}

/** One command's row in a report: its timing summary, failures and the first few distinct errors. */
export function commandRow(id, label, samples, failures) {
  return { id, label, ...summarize(samples), failures: failures.length, errors: [...new Set(failures)].slice(0, 3), samples };
}
