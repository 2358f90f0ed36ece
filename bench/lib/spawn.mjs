// Timing child processes. Every timing is wall-clock from just before spawn to just after
// exit, taken with process.hrtime.bigint(), so it includes what a user waits for: fork,
// exec, the tool's own start-up and teardown.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';

function elapsedMs(start) {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/**
 * The stderr line that says what went wrong: usually the last one. When Node itself died
 * of an uncaught exception the last line is only "Node.js vX.Y.Z": then the exception's
 * own line ("TypeError: …") is the one.
 */
function lastLine(text) {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l && !/^Node\.js v\d/.test(l));
  return lines.findLast((l) => /^[A-Za-z]*Error\b/.test(l)) ?? lines.at(-1) ?? '';
}

/**
 * Runs `cmd` once, synchronously (nothing else of ours runs meanwhile), and returns
 * { ms, ok, error }; killed after `timeoutMs` (default 60 s). Only stderr is kept: the
 * commands measured print nothing otherwise. `cwd`: where it runs; `fdFiles`: files opened
 * afresh for each run and given to it as fds 3, 4, … (bwrap's --seccomp reads its fd to the end).
 */
export function timeOnce({ cmd, args, env, cwd, fdFiles = [], timeoutMs = 60_000 }) {
  const fds = fdFiles.map((file) => openSync(file, 'r'));
  const start = process.hrtime.bigint();
  let result;
  try {
    result = spawnSync(cmd, args, { env, cwd, stdio: ['ignore', 'ignore', 'pipe', ...fds], encoding: 'utf8', timeout: timeoutMs });
  } finally {
    for (const fd of fds) closeSync(fd);
  }
  const ms = elapsedMs(start);
  if (result.error) return { ms, ok: false, error: result.error.message };
  if (result.status !== 0) {
    const why = result.signal ? `killed by ${result.signal}` : `exit ${result.status}`;
    return { ms, ok: false, error: `${why}: ${lastLine(result.stderr ?? '')}` };
  }
  return { ms, ok: true, error: null };
}

/** Runs `cmd` once asynchronously; resolves (never rejects) to { ms, ok, error }. */
export function timeAsync({ cmd, args, env }) {
  return new Promise((resolve) => {
    const start = process.hrtime.bigint();
    let stderr = '';
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.on('error', (err) => resolve({ ms: elapsedMs(start), ok: false, error: err.message }));
    child.on('close', (status, signal) => {
      const ms = elapsedMs(start);
      if (status === 0) resolve({ ms, ok: true, error: null });
      else resolve({ ms, ok: false, error: `${signal ? `killed by ${signal}` : `exit ${status}`}: ${lastLine(stderr)}` });
    });
  });
}

/** Runs a command for its output (versions, setup); returns trimmed stdout or null on failure. */
export function capture(cmd, args, env, input, cwd) {
  const result = spawnSync(cmd, args, { env, input, cwd, encoding: 'utf8', stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], timeout: 120_000 });
  if (result.error || result.status !== 0) return { ok: false, out: (result.stdout ?? '').trim(), err: lastLine(result.stderr ?? result.error?.message ?? '') };
  return { ok: true, out: result.stdout.trim(), err: lastLine(result.stderr ?? '') };
}
