// The results as markdown (for people and docs/benchmarks.md) and JSON (for tools and
// for comparing runs). Both come from the same results object.

const NOT_YET = 'not measured: the section was not run or was skipped (see the notes)';

/** What the issue asks for that nook cannot do yet: listed, so the gap stays visible. */
export const NOT_MEASURED = [
  { figure: 'Sandbox latency: `nook sandbox -- true` vs node and bwrap', status: NOT_YET, section: 'sandbox' },
  { figure: 'Pull (tmpfs and disk) vs `podman pull` and download | gunzip | tar -x', status: 'not measured: the pull section was not run or was skipped (see the notes)', section: 'pull' },
  { figure: 'Exec latency', status: NOT_YET, section: 'exec' },
  { figure: 'Stop latency', status: NOT_YET, section: 'stop' },
  { figure: 'Detached containers: memory (RSS of nook processes) and disk per container', status: NOT_YET, section: 'detached' },
  { figure: 'Network: start with the default network, throughput and latency through a published port', status: NOT_YET, section: 'network' },
  { figure: 'Build: cold and warm `nook build` vs `podman build`', status: NOT_YET, section: 'build' },
];

/** NOT_MEASURED without what this run did measure (a section that ran and was not skipped). */
export function notMeasured(results) {
  return NOT_MEASURED.filter((x) => !(x.section && results[x.section] && !results[x.section].skipped));
}

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

/** A section of timed commands in rotated rounds: the commands, then the comparisons. */
function roundsSection(title, intro, data) {
  const lines = [
    `## ${title}`,
    '',
    intro,
    '',
    table(
      ['command', 'median', 'min', 'max', 'failures'],
      data.commands.map((c) => [`\`${c.label}\``, ms(c.median), ms(c.min), ms(c.max), `${c.failures}/${c.n + c.failures}`]),
    ),
    '',
    comparisonTable(data.comparisons),
  ];
  for (const c of data.commands) for (const e of c.errors) lines.push('', `- \`${c.label}\` failed: ${e}`);
  return lines.join('\n');
}

function startSection(start, settings) {
  return roundsSection(
    'Start latency',
    `Wall time of one start, in ms: ${plural(settings.runs, 'round')} after ${plural(settings.warmup, 'warm-up round')}, ` +
      `each round running every command once (order rotated, and reversed every other round).`,
    start,
  );
}

function execSection(exec, settings) {
  return roundsSection(
    'Exec latency',
    `Wall time of one \`exec CTR true\` into a running detached container (\`sleep\`; nook's over the busybox rootfs, podman's from the same files imported), in ms: ` +
      `${plural(settings.runs, 'round')} after ${plural(settings.warmup, 'warm-up round')}, each round running every command once (order rotated, and reversed every other round).`,
    exec,
  );
}

function stopSection(stop, settings) {
  return roundsSection(
    'Stop latency',
    `Wall time of one stop (or \`rm -f\`) of a running container (\`--init\` with \`sleep\`: the init passes SIGTERM on and sleep dies of it), in ms: ` +
      `${plural(settings.stopRounds, 'round')} after ${plural(settings.stopWarmup, 'warm-up round')}; before each timed command a fresh container is started (untimed), ` +
      `and after it the stopped one is removed (untimed); order rotated, and reversed every other round.`,
    stop,
  );
}

function sandboxSection(sandbox, settings) {
  return roundsSection(
    'Sandbox latency',
    `Wall time of one \`nook sandbox -- true\` (the host's own tools, in a project directory of the bench's), in ms, next to bwrap given the same ` +
      `plan (nook's \`--explain --format json\`, translated op by op: the same binds, tmpfs, masks, namespaces and seccomp filter): ` +
      `${plural(settings.runs, 'round')} after ${plural(settings.warmup, 'warm-up round')}, each round running every command once (order rotated, and reversed every other round).`,
    sandbox,
  );
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

function mbOrDash(bytes) {
  return bytes === null || bytes === undefined ? '–' : `${(bytes / 1e6).toFixed(2)} MB`;
}

function kbOrDash(bytes) {
  return bytes === null || bytes === undefined ? '–' : `${(bytes / 1e3).toFixed(1)} kB`;
}

function detachedSection(detached) {
  const rows = [];
  for (const l of detached.levels) {
    const target = l.target ? `${l.target.text}: ${verdict(l.target.met)} (${l.target.judgedOn})` : '';
    const what = l.id === 'podman' ? 'conmon' : `nook-monitor${l.lingeringClis ? ` + ${l.lingeringClis} nook CLIs` : ''}`;
    rows.push([`\`${l.label}\``, String(l.n), `${l.started}/${l.n}`, `${what} (${l.memory.processes.toFixed(1)})`, mbOrDash(l.memory.rssBytes), mbOrDash(l.memory.pssBytes), mbOrDash(l.memory.anonBytes), kbOrDash(l.storeBytes), kbOrDash(l.runtimeBytes), target]);
    if (l.network) {
      rows.push([`\`${l.label}\``, String(l.n), `${l.started}/${l.n}`, `+ network helper ${l.networkHelper ?? ''} (${l.network.processes.toFixed(1)})`, mbOrDash(l.network.rssBytes), mbOrDash(l.network.pssBytes), mbOrDash(l.network.anonBytes), '', '', '']);
    }
  }
  const lines = [
    '## Detached containers',
    '',
    `N containers started with \`run -d\` (\`sleep\`), measured together, then removed. Memory per container: the tool's own processes for each ` +
      `(processes per container in parentheses), summed over the N containers and divided by N; from /proc/PID/status (VmRSS, RssAnon) and ` +
      `/proc/PID/smaps_rollup (Pss, – where the user may not read it: nook's monitor is non-dumpable). Disk per container: what the N containers ` +
      `added to the store (and to the runtime dir, tmpfs in normal use), allocated bytes (\`du\`), divided by N.`,
    '',
    table(['containers', 'N', 'started', 'processes (per container)', 'RSS per container', 'Pss per container', 'RssAnon per container', 'store per container', 'runtime dir per container', 'target'], rows),
  ];
  for (const l of detached.levels) for (const e of l.errors) lines.push('', `- \`${l.label}\` N=${l.n} failed to start: ${e}`);
  return lines.join('\n');
}

function mbps(value) {
  return value === null || value === undefined ? '–' : `${value.toFixed(0)} MB/s`;
}

function networkSection(network, settings) {
  const t = network.transfer;
  const lines = [
    roundsSection(
      'Network: start latency',
      `Wall time of one \`run --rm … true\`, in ms, by network: ${plural(settings.runs, 'round')} after ${plural(settings.warmup, 'warm-up round')}, ` +
        `each round running every command once (order rotated). podman runs with its own default network.`,
      network.start,
    ),
    '',
    '## Network: through a published port',
    '',
    `busybox httpd serving a ${t.megabytes} MB file of random bytes (from a read-only bind of the same host directory) on a port published on ` +
      `127.0.0.1; the client is the bench (Node's http, a fresh connection per request). Download: median of ${plural(t.rounds, 'round')} ` +
      `after one warm-up, every server once per round. Latency: ${t.requests} sequential GETs of a 6-byte page, each on a new connection.`,
    '',
    table(
      ['server', 'download', 'downloads', 'GET median', 'GET p95', `${t.requests} GETs`, 'failures'],
      t.rows.map((r) => [
        r.label,
        mbps(r.downloadMBps),
        r.downloads.map((v) => v.toFixed(0)).join(', '),
        r.latencyMedianMs === null ? '–' : `${r.latencyMedianMs.toFixed(2)} ms`,
        r.latencyP95Ms === null ? '–' : `${r.latencyP95Ms.toFixed(2)} ms`,
        r.latencyTotalMs === null ? '–' : `${(r.latencyTotalMs / 1000).toFixed(2)} s`,
        r.error ? `could not serve: ${r.error}` : String(r.failures),
      ]),
    ),
    '',
    `Target: ${t.target.text}: ${verdict(t.target.met) || 'not measured'}`,
  ];
  return lines.join('\n');
}

function buildSection(build) {
  const intro = (kind) =>
    `Wall time of one \`build\` of the Containerfile above, in ms, ${kind}: ${plural(build.settings.rounds, 'round')}, each building once with every tool (order reversed every other round).`;
  const lines = [
    '## Build',
    '',
    '```Dockerfile',
    build.containerfile,
    '```',
    '',
    intro('cold (a fresh store per round holding only the base image, no build cache)'),
    '',
    table(['command', 'median', 'min', 'max', 'failures'], build.cold.map((c) => [`\`${c.label}\``, ms(c.median), ms(c.min), ms(c.max), `${c.failures}/${c.n + c.failures}`])),
    '',
    intro('warm (the same build again, nothing changed)'),
    '',
    table(['command', 'median', 'min', 'max', 'failures'], build.warm.map((c) => [`\`${c.label}\``, ms(c.median), ms(c.min), ms(c.max), `${c.failures}/${c.n + c.failures}`])),
    '',
    comparisonTable(build.comparisons),
  ];
  for (const c of [...build.cold, ...build.warm]) for (const e of c.errors) lines.push('', `- \`${c.label}\` failed: ${e}`);
  return lines.join('\n');
}

export function toMarkdown(r) {
  const parts = ['# nook benchmarks', '', machineSection(r)];
  if (r.start) parts.push('', startSection(r.start, r.settings));
  if (r.scale) parts.push('', scaleSection(r.scale, r.settings));
  if (r.pull && !r.pull.skipped) parts.push('', pullSection(r.pull));
  if (r.exec && !r.exec.skipped) parts.push('', execSection(r.exec, r.settings));
  if (r.stop && !r.stop.skipped) parts.push('', stopSection(r.stop, r.settings));
  if (r.detached && !r.detached.skipped) parts.push('', detachedSection(r.detached));
  if (r.sandbox && !r.sandbox.skipped) parts.push('', sandboxSection(r.sandbox, r.settings));
  if (r.network && !r.network.skipped) parts.push('', networkSection(r.network, r.settings));
  if (r.build && !r.build.skipped) parts.push('', buildSection(r.build));
  parts.push('', '## Not measured yet', '', table(['figure', 'status'], r.notMeasured.map((x) => [x.figure, x.status])));
  if (r.notes.length) parts.push('', '## Notes', '', ...r.notes.map((n) => `- ${n}`));
  return parts.join('\n') + '\n';
}

export function toJson(r) {
  return JSON.stringify(r, null, 2) + '\n';
}
