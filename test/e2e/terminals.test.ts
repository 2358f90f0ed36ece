import { spawn } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shellQuote } from '../../src/plan/explain.js';
import { nook, NOOK_BIN, show, waitFor, removeAllContainers, busyboxWorkspace } from '../helpers/nook.js';
import { buildTrySyscall } from '../helpers/try-syscall.js';

/**
 * Terminal injection (docs/security.md, "Terminals"; CVE-2017-5226 in bubblewrap): a process
 * that holds the user's terminal can push bytes into its input with ioctl TIOCSTI, and the
 * user's shell reads them as a command once the container is gone. Every test runs nook on a
 * pseudo-terminal of its own (script(1)), then reads what is left in that terminal's input
 * queue: what the shell would read next.
 */
const EPERM = 'errno 1';
const ENOTTY = 'errno 25';
/** Whether this kernel lets TIOCSTI work at all (dev.tty.legacy_tiocsti, Linux 6.2+). */
const TIOCSTI_WORKS = ((): boolean => {
  try {
    return readFileSync('/proc/sys/dev/tty/legacy_tiocsti', 'utf8').trim() === '1';
  } catch {
    return true;
  }
})();

let tmp: { path: string; cleanup: () => void };
let env: NodeJS.ProcessEnv;
let rootfs: string;
let probe: string;

beforeAll(() => {
  ({ tmp, env, rootfs } = busyboxWorkspace('terminals'));
  probe = buildTrySyscall(tmp.path);
  copyFileSync(probe, join(rootfs, 'bin', 'try-syscall'));
});
afterAll(async () => {
  await removeAllContainers(env);
  tmp.cleanup();
});

interface TerminalSession {
  /** What the terminal showed, without \r. */
  readonly out: string;
  /** The exit status of each command, in order. */
  readonly statuses: number[];
  /** What the shell on the terminal would read next. */
  readonly queue: string;
}

const injection = (fd: number | string): string => `try-syscall tiocsti ${fd} "echo injected-${fd}\n"`;

/**
 * Runs the commands one after the other on a new pseudo-terminal, each as the shell there would
 * (`typed` goes to the terminal once `ready` shows), then empties the terminal's input queue.
 * script(1)'s own stdin stays open: its end would put an EOF character into the terminal.
 */
async function onTerminal(commands: readonly (readonly string[])[], typed?: { ready: RegExp; keys: string }): Promise<TerminalSession> {
  const shell = [
    // The terminal's ^C reaches this shell too: like an interactive one, it carries on.
    'trap : INT',
    ...commands.map((argv) => `${argv.map(shellQuote).join(' ')}; echo "<status:$?>"`),
    'stty -icanon min 0 time 0',
    'echo "<queue:$(head -c 4096 | od -An -tx1 -v | tr -d " \\n")>"',
  ].join('\n');
  const child = spawn('script', ['-qec', shell, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let raw = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (raw += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (raw += d));
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  try {
    if (typed) {
      await waitFor(() => typed.ready.test(raw), `${typed.ready} on the terminal`, 20_000);
      child.stdin.write(typed.keys);
    }
    expect(await closed, raw).toBe(0);
  } finally {
    child.kill('SIGKILL');
  }
  // A container's own terminal adds a \r of its own before the outer one's.
  const out = raw.replace(/\r/g, '');
  const queue = /<queue:([0-9a-f]*)>/.exec(out);
  expect(queue, out).not.toBeNull();
  return {
    out: out.replace(/<queue:[0-9a-f]*>\n/, ''),
    statuses: [...out.matchAll(/<status:(\d+)>/g)].map((m) => Number(m[1])),
    queue: Buffer.from(queue![1]!, 'hex').toString('latin1'),
  };
}

/** The lines of a session's output but the status markers. */
const linesOf = (session: TerminalSession): string[] => session.out.split('\n').filter((l) => l !== '' && !/^<status:\d+>$/.test(l));

function runArgs(flags: readonly string[], script: string): string[] {
  return [NOOK_BIN, 'run', '--rm', '--rootfs', rootfs, ...flags, '--', 'sh', '-c', script];
}

describe('the harness', () => {
  it.skipIf(!TIOCSTI_WORKS)('sees what a process holding the terminal injects', async () => {
    const session = await onTerminal([[probe, 'tiocsti', '1', 'echo injected\n']]);
    expect(session.queue).toBe('echo injected\n');
  });
});

describe('a container started without -t', () => {
  const attempts = `${[0, 1, 2].map(injection).join('; ')}; try-syscall tiocsti 3 x 3</dev/tty || echo "no /dev/tty"`;

  for (const flags of [[], ['-i']]) {
    it(`${flags.join(' ') || 'without -i'}: TIOCSTI fails on fds 0, 1 and 2, and nothing reaches the shell`, async () => {
      const session = await onTerminal([runArgs(flags, attempts), runArgs([...flags, '--security-opt', 'seccomp=unconfined'], attempts)]);
      expect(session.statuses, session.out).toEqual([0, 0]);
      // The filter says EPERM first; without it the kernel finds no terminal (pipes and
      // /dev/null), and /dev/tty opens none: no controlling terminal.
      expect(linesOf(session).map((l) => (/^sh: .*\/dev\/tty/.test(l) ? 'cannot open /dev/tty' : l))).toEqual([
        EPERM, EPERM, EPERM, 'cannot open /dev/tty', 'no /dev/tty',
        ENOTTY, ENOTTY, ENOTTY, 'cannot open /dev/tty', 'no /dev/tty',
      ]);
      expect(session.queue).toBe('');
    });
  }

  it('holds no terminal of the host and leads a session of its own', async () => {
    const look = 'for fd in 0 1 2; do readlink /proc/self/fd/$fd; done; cut -d" " -f7 /proc/self/stat; ps -o pid,sid,comm | grep "^ *$$ "';
    const session = await onTerminal([runArgs([], look), runArgs(['-i'], look)]);
    expect(session.statuses).toEqual([0, 0]);
    const lines = linesOf(session).map((l) => l.replace(/pipe:\[\d+\]/, 'pipe').trim().replace(/\s+/g, ' '));
    // fd 0: /dev/null, or with -i a pipe the monitor fills from the terminal; 1 and 2: one
    // pipe, to keep their order on the terminal; tty_nr 0: no controlling terminal; sid = pid.
    expect(lines).toEqual(['/dev/null', 'pipe', 'pipe', '0', '1 1 sh', 'pipe', 'pipe', 'pipe', '0', '1 1 sh']);
  });

  it('cannot inject through the host terminal bound into it either', async () => {
    const session = await onTerminal([[
      'sh', '-c', `${shellQuote(NOOK_BIN)} run --rm --rootfs ${shellQuote(rootfs)} -v "$(tty):/dev/host-tty" -- sh -c ${shellQuote('try-syscall tiocsti 3 "echo injected\n" 3<>/dev/host-tty')}`,
    ]]);
    expect(session.statuses, session.out).toEqual([0]);
    expect(linesOf(session)).toEqual([EPERM]);
    expect(session.queue).toBe('');
  });

  it('gets what is typed with -i, and its end with ^D', async () => {
    const session = await onTerminal([runArgs(['-i'], 'echo ready; cat; echo "cat ended"')], { ready: /ready/, keys: 'typed\n\x04' });
    expect(session.statuses).toEqual([0]);
    // The terminal echoes the line, cat prints it.
    expect(linesOf(session)).toEqual(['ready', 'typed', 'typed', 'cat ended']);
    expect(session.queue).toBe('');
  });

  it('gets a file on stdin as it is, with -i', async () => {
    const file = join(tmp.path, 'input.txt');
    writeFileSync(file, 'from a file\n');
    const session = await onTerminal([['sh', '-c', `${runArgs(['-i'], 'cat').map(shellQuote).join(' ')} < ${shellQuote(file)}`]]);
    expect(linesOf(session)).toEqual(['from a file']);
  });

  it('gets ^C typed at the terminal from the monitor', async () => {
    const session = await onTerminal([runArgs([], 'trap "echo interrupted; exit 7" INT; echo ready; while :; do sleep 0.1; done')], { ready: /ready/, keys: '\x03' });
    expect(session.statuses).toEqual([7]);
    // The terminal echoes ^C itself.
    expect(linesOf(session).map((l) => l.replace(/^\^C/, ''))).toEqual(['ready', 'interrupted']);
  });
});

describe('output and exit codes', () => {
  const script = 'echo a; echo b >&2; echo c; exit 3';

  it('keeps the order of stdout and stderr on one terminal, and the exit code', async () => {
    const session = await onTerminal([runArgs([], script)]);
    expect(session.statuses).toEqual([3]);
    expect(linesOf(session)).toEqual(['a', 'b', 'c']);
  });

  it('keeps each stream in order when they go elsewhere, in the foreground and in the logs', async () => {
    const foreground = await nook(['run', '--rm', '--rootfs', rootfs, '--', 'sh', '-c', script], { env });
    expect([foreground.status, foreground.stdout, foreground.stderr]).toEqual([3, 'a\nc\n', 'b\n']);

    const logged = await onTerminal([[NOOK_BIN, 'run', '--name', 'logged', '--rootfs', rootfs, '--', 'sh', '-c', script]]);
    expect(logged.statuses).toEqual([3]);
    const lines = linesOf(logged);
    expect(lines.filter((l) => l !== 'b')).toEqual(['a', 'c']);
    expect(lines.filter((l) => l === 'b')).toEqual(['b']);
    const logs = await nook(['logs', 'logged'], { env });
    expect([logs.stdout, logs.stderr]).toEqual(['a\nc\n', 'b\n']);

    const id = await nook(['run', '-d', '--name', 'detached', '--rootfs', rootfs, '--', 'sh', '-c', script], { env });
    expect(id.status, show(id)).toBe(0);
    const waited = await nook(['wait', 'detached'], { env });
    expect(waited.stdout).toBe('3\n');
    const detachedLogs = await nook(['logs', 'detached'], { env });
    expect([detachedLogs.stdout, detachedLogs.stderr]).toEqual(['a\nc\n', 'b\n']);
  });
});

describe('a terminal of its own (-t)', () => {
  const own = `${injection(0)}; read line; echo "read: $line"`;

  it('cannot use TIOCSTI under the default profile, high bits or not', async () => {
    const session = await onTerminal([runArgs(['-t'], 'try-syscall tiocsti 0 x; try-syscall tiocsti 0 x high')]);
    expect(session.statuses).toEqual([0]);
    expect(linesOf(session)).toEqual([EPERM, EPERM]);
    expect(session.queue).toBe('');
  });

  it.skipIf(!TIOCSTI_WORKS)('can with seccomp=unconfined, on its own terminal only', async () => {
    const session = await onTerminal([runArgs(['-t', '--security-opt', 'seccomp=unconfined'], own)]);
    expect(session.statuses).toEqual([0]);
    // The container's terminal echoes the injected line, probe says ok, and the shell reads it.
    expect(linesOf(session)).toEqual(['echo injected-0', 'ok', 'read: echo injected-0']);
    expect(session.queue).toBe('');
  });

  it.skipIf(!TIOCSTI_WORKS)('and so does nook exec -t; exec without -t has no terminal', async () => {
    const started = await nook(['run', '-d', '--name', 'exec-target', '--security-opt', 'seccomp=unconfined', '--rootfs', rootfs, '--', 'sleep', '300'], { env });
    expect(started.status, show(started)).toBe(0);
    const exec = (flags: readonly string[], script: string): string[] => [NOOK_BIN, 'exec', ...flags, 'exec-target', 'sh', '-c', script];
    const session = await onTerminal([
      exec(['-t'], own),
      exec([], `${[0, 1, 2].map(injection).join('; ')}; ps -o pid,sid,comm | grep "^ *$$ "`),
      exec(['-i'], injection(0)),
    ]);
    expect(session.statuses).toEqual([0, 0, 0]);
    const lines = linesOf(session).map((l) => l.trim().replace(/\s+/g, ' '));
    expect(lines.slice(0, 3)).toEqual(['echo injected-0', 'ok', 'read: echo injected-0']);
    expect(lines.slice(3, 6)).toEqual([ENOTTY, ENOTTY, ENOTTY]);
    expect(lines[6]).toMatch(/^(\d+) \1 sh$/);
    expect(lines.slice(7)).toEqual([ENOTTY]);
    expect(session.queue).toBe('');
  });
});
