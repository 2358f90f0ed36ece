// Memory of processes, read from /proc as the user: VmRSS and RssAnon from
// /proc/PID/status (readable for every process), Pss from /proc/PID/smaps_rollup (readable
// only for processes the user may ptrace-read: nook's monitor makes itself non-dumpable,
// so for it Pss is unreadable and RssAnon is the figure that says what one more copy
// costs: the binary's file pages are shared between all monitors, its anonymous pages not).
import { readdirSync, readFileSync } from 'node:fs';

function readOr(path, fallback = null) {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

/** Every process: pid → { ppid, comm }. A process that exits while we read is skipped. */
export function processTable() {
  const table = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readOr(`/proc/${name}/stat`);
    if (!stat) continue;
    // comm is in parentheses and may itself hold spaces or parentheses: cut at the last ')'.
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const ppid = Number(stat.slice(close + 2).split(' ')[1]);
    table.set(Number(name), { ppid, comm });
  }
  return table;
}

/** The pids below `pid` in `table`, children first. */
export function descendants(table, pid) {
  const out = [];
  const queue = [pid];
  while (queue.length) {
    const parent = queue.shift();
    for (const [child, { ppid }] of table) {
      if (ppid === parent) {
        out.push(child);
        queue.push(child);
      }
    }
  }
  return out;
}

function kbField(text, field) {
  const match = text.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
  return match ? Number(match[1]) : null;
}

/** { pid, comm, rssKb, anonKb, pssKb } of one process (pssKb null when unreadable); null when gone. */
export function memoryOf(pid) {
  const status = readOr(`/proc/${pid}/status`);
  if (!status) return null;
  const rollup = readOr(`/proc/${pid}/smaps_rollup`);
  return {
    pid,
    comm: status.match(/^Name:\s+(.*)$/m)?.[1] ?? '?',
    rssKb: kbField(status, 'VmRSS') ?? 0,
    anonKb: kbField(status, 'RssAnon') ?? 0,
    pssKb: rollup ? kbField(rollup, 'Pss') : null,
  };
}

/** Sums of a list of memoryOf results; Pss only when every process's Pss was readable. */
export function sumMemory(list) {
  const present = list.filter(Boolean);
  return {
    processes: present.length,
    rssKb: present.reduce((s, m) => s + m.rssKb, 0),
    anonKb: present.reduce((s, m) => s + m.anonKb, 0),
    pssKb: present.length && present.every((m) => m.pssKb !== null) ? present.reduce((s, m) => s + m.pssKb, 0) : null,
  };
}

/**
 * nook CLI processes (Node running bin/nook or the bundle) that still run with the
 * bench's private XDG_DATA_HOME: after `nook run -d` has returned there should be none,
 * since a detached container keeps only its monitor. Their environment is readable (same
 * user, dumpable), which tells the bench's apart from any other nook on the machine.
 */
export function lingeringClis(xdgDataHome) {
  const mark = `XDG_DATA_HOME=${xdgDataHome}`;
  const out = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const cmdline = readOr(`/proc/${name}/cmdline`, '').split('\0');
    if (!cmdline.some((arg) => arg.endsWith('/bin/nook') || arg.endsWith('nook.cjs'))) continue;
    const environ = readOr(`/proc/${name}/environ`, '').split('\0');
    if (environ.includes(mark)) out.push(Number(name));
  }
  return out;
}

/** The pids of processes named `comm` whose command line contains `needle`. */
export function findByCmdline(table, comm, needle) {
  return [...table].filter(([pid, p]) => p.comm === comm && readOr(`/proc/${pid}/cmdline`, '').includes(needle)).map(([pid]) => pid);
}
