import type { Digest } from '../../store/digest.js';
import type { PullProgress } from '../../image/pull.js';

const MIB = 1024 * 1024;
const BAR = 24;
/** Redraws at most this often: a fast local registry sends thousands of chunks a second. */
const REDRAW_MS = 100;

function size(bytes: number): string {
  return bytes >= MIB ? `${(bytes / MIB).toFixed(1)}MiB` : `${(bytes / 1024).toFixed(1)}KiB`;
}

function short(digest: Digest): string {
  return digest.slice('sha256:'.length, 'sha256:'.length + 12);
}

/** podman's plain progress: one line per step and per blob, for logs and pipes. */
export function lineProgress(write: (line: string) => void): PullProgress {
  return {
    step: write,
    blob(kind, digest, state) {
      if (state === 'skipped') write(`Copying ${kind} ${digest} skipped: already exists`);
      else if (state === 'done') write(`Copying ${kind} ${digest} done`);
    },
  };
}

/**
 * A live display for a terminal: a line per blob with a bar, redrawn in place (cursor up,
 * clear line), steps printed below as they come.
 */
export function terminalProgress(write: (text: string) => void): PullProgress {
  const lines = new Map<string, string>();
  let drawn = 0;
  let last = 0;
  const redraw = (force: boolean): void => {
    const now = Date.now();
    if (!force && now - last < REDRAW_MS) return;
    last = now;
    let out = drawn > 0 ? `\x1b[${drawn}A` : '';
    for (const line of lines.values()) out += `\r\x1b[2K${line}\n`;
    drawn = lines.size;
    write(out);
  };
  return {
    step(line) {
      redraw(true);
      write(`${line}\n`);
      // Steps scroll the blob lines away: start a new block below.
      lines.clear();
      drawn = 0;
    },
    blob(kind, digest, state) {
      const label = `Copying ${kind} ${short(digest)}`;
      if (state === 'skipped') lines.set(digest, `${label} skipped: already exists`);
      else if (state === 'done') lines.set(digest, `${label} done`);
      else {
        const filled = state.total > 0 ? Math.min(BAR, Math.round((state.received / state.total) * BAR)) : 0;
        lines.set(digest, `${label} [${'='.repeat(filled)}${' '.repeat(BAR - filled)}] ${size(state.received)} / ${size(state.total)}`);
      }
      redraw(state === 'skipped' || state === 'done');
    },
  };
}

/** How `nook pull` reports: nothing with -q, a live display on a terminal, lines otherwise. */
export function pullProgress(quiet: boolean, err: (line: string) => void): PullProgress {
  if (quiet) return lineProgress(() => undefined);
  return process.stderr.isTTY ? terminalProgress((text) => process.stderr.write(text)) : lineProgress(err);
}
