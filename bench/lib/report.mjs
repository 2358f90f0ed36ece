// The results as markdown (for people and docs/benchmarks.md) and JSON (for tools and
// for comparing runs). Both come from the same results object.

const NOT_YET = 'not measured yet: nook has no container lifecycle (detached containers, exec, stop) yet';

/** What the issue asks for that nook cannot do yet: listed, so the gap stays visible. */
export const NOT_MEASURED = [
  { figure: 'Start latency: `nook sandbox -- true`', status: 'not measured yet: nook has no sandbox mode yet' },
  { figure: 'Pull (tmpfs and disk) vs `podman pull` and download | gunzip | tar -x', status: 'not measured: the pull section was not run or was skipped (see the notes)', section: 'pull' },
  { figure: 'Exec latency', status: NOT_YET },
  { figure: 'Stop latency', status: NOT_YET },
  { figure: 'Detached containers: memory (RSS of nook processes) and disk per container', status: NOT_YET },
];

function ms(value) {
  return value === null || value === undefined ? '–' : value.toFixed(1);
}

/** The paired comparisons of a section, with their targets. */
function comparisonTable(comparisons) {
  return table(
    ['comparison', 'ratio of medians', 'median of per-round ratios', 'difference (paired median)', 'target', 'status'],
    comparisons.map((c) => [
      c.title,
      ratio(c.ratioOfMedians),
      ratio(c.medianOfRatios),
      signedMs(c.medianOfDifferences),
      c.target ?? '',
      c.skipped ? 'not measured: peer skipped' : verdict(c.met),
    ]),
  );
}

function ratio(value) {
  return value === null || value === undefined ? '–' : value.toFixed(2);
}

function signedMs(value) {
  return value === null || value === undefined ? '–' : `${value >= 0 ? '+' : ''}${value.toFixed(1)} ms`;
}

function verdict(met) {
  if (met === null || met === undefined) return '';
  return met ? 'met' : '**not met**';
}

/** A markdown table; a `|` inside a cell is escaped so it does not split the cell. */
function table(header, rows) {
  const line = (cells) => `| ${cells.map((c) => String(c).replaceAll('|', '\\|')).join(' | ')} |`;
  return [line(header), `|${header.map(() => '---').join('|')}|`, ...rows.map(line)].join('\n');
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function machineSection(r) {
  const m = r.machine;
  return [
    `Machine: ${m.cores} cores, ${m.cpu}, ${m.memoryGiB} GiB, kernel ${m.kernel}, ${m.distribution}; ` +
      `uid ${m.uid}; load average ${r.load.start} at start, ${r.load.end} at end; ${m.date}.`,
    '',
    table(
      ['tool', 'version'],
      Object.entries(r.versions).map(([k, v]) => [k, v]),
    ),
  ].join('\n');
}

function startSection(start, settings) {
  const lines = [
    `## Start latency`,
    '',
    `Wall time of one start, in ms: ${plural(settings.runs, 'round')} after ${plural(settings.warmup, 'warm-up round')}, ` +
      `each round running every command once (order rotated, and reversed every other round).`,
    '',
    table(
      ['command', 'median', 'min', 'max', 'failures'],
      start.commands.map((c) => [`\`${c.label}\``, ms(c.median), ms(c.min), ms(c.max), `${c.failures}/${c.n + c.failures}`]),
    ),
    '',
    comparisonTable(start.comparisons),
  ];
  for (const c of start.commands) for (const e of c.errors) lines.push('', `- \`${c.label}\` failed: ${e}`);
  return lines.join('\n');
}

function scaleSection(scale, settings) {
  return [
    `## Scale`,
    '',
    `N \`nook run --rm --rootfs DIR true\` started at once; wall time until the last exits, in ms, ` +
      `${plural(settings.scaleRounds, 'round')} after ${plural(settings.scaleWarmup, 'warm-up round')}.`,
    '',
    table(
      ['N', 'wall median', 'min', 'max', 'wall / N', 'median start within the batch', 'failures', 'target'],
      scale.map((s) => [
        String(s.n),
        ms(s.wall.median),
        ms(s.wall.min),
        ms(s.wall.max),
        ms(s.perContainerMs),
        ms(s.medianStartInBatchMs),
        `${s.failures}/${s.starts}`,
        s.n === 32 ? `no failure: ${verdict(s.failures === 0)}` : '',
      ]),
    ),
    ...scale.flatMap((s) => s.errors.map((e) => `\n- N=${s.n} failure: ${e}`)),
  ].join('\n');
}

function mb(bytes) {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

function pullSection(pull) {
  const f = pull.fixture;
  const lines = [
    `## Pull`,
    '',
    `\`${pull.ref}\`: one gzipped layer of ${mb(f.layerBytes)} (${mb(f.tarBytes)} of tar, ${f.entries} entries of which ${f.files} regular files), ` +
      `files of this machine standing in for ${f.standsInFor}, pulled from Debian's docker-registry on loopback into a fresh, empty store every time. ` +
      `Wall time in ms: ${plural(pull.settings.rounds, 'round')} after ${plural(pull.settings.warmup, 'warm-up round')} per medium, ` +
      `each round pulling once with every tool (order rotated, and reversed every other round).`,
  ];
  for (const m of pull.media) {
    lines.push(
      '',
      `### Pull, ${m.medium === 'tmpfs' ? 'on tmpfs (the tools\' own cost)' : 'on disk (the disk sets the pace)'}: \`${m.dir}\``,
      '',
      table(
        ['command', 'median', 'min', 'max', 'failures', 'entries written'],
        m.commands.map((c) => [`\`${c.label}\``, ms(c.median), ms(c.min), ms(c.max), `${c.failures}/${c.n + c.failures}`, c.entries ?? '–']),
      ),
      '',
      comparisonTable(m.comparisons),
    );
    for (const c of m.commands) for (const e of c.errors) lines.push('', `- \`${c.label}\` failed: ${e}`);
  }
  return lines.join('\n');
}

export function toMarkdown(r) {
  const parts = ['# nook benchmarks', '', machineSection(r)];
  if (r.start) parts.push('', startSection(r.start, r.settings));
  if (r.scale) parts.push('', scaleSection(r.scale, r.settings));
  if (r.pull && !r.pull.skipped) parts.push('', pullSection(r.pull));
  parts.push('', '## Not measured yet', '', table(['figure', 'status'], r.notMeasured.map((x) => [x.figure, x.status])));
  if (r.notes.length) parts.push('', '## Notes', '', ...r.notes.map((n) => `- ${n}`));
  return parts.join('\n') + '\n';
}

export function toJson(r) {
  return JSON.stringify(r, null, 2) + '\n';
}
