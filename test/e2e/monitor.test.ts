import { execFileSync, spawn } from 'node:child_process';
import { closeSync, constants, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nook, NOOK_BIN, show, waitFor, removeAllContainers, busyboxWorkspace, nookOk } from '../helpers/nook.js';

let tmp: { path: string; cleanup: () => void };
let env: NodeJS.ProcessEnv;
let rootfs: string;

beforeAll(() => {
  ({ tmp, env, rootfs } = busyboxWorkspace('monitor'));
});

afterAll(async () => {
  await removeAllContainers(env);
  tmp.cleanup();
});

async function ok(args: readonly string[]): Promise<string> {
  return (await nookOk(args, { env })).stdout;
}

/** What the log holds of a stream, as the container wrote it: F records end a line, P records do not. */
function loggedStream(logFile: string, stream: 'stdout' | 'stderr'): string {
  let out = '';
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    const match = /^\S+ (stdout|stderr) ([FP]) (.*)$/.exec(line);
    if (match && match[1] === stream) out += match[3] + (match[2] === 'F' ? '\n' : '');
  }
  return out;
}

/** nook inspect -f, synchronously (for waitFor); null while there is no such container. */
function inspectNow(name: string, format: string): string | null {
  try {
    return execFileSync(NOOK_BIN, ['inspect', '-f', format, name], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

/** Where the kernel has the process waiting, e.g. "anon_pipe_write"; "" when unreadable. */
function waitChannel(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/wchan`, 'utf8');
  } catch {
    return '';
  }
}

describe('a foreground container whose output nobody reads', () => {
  it('is still reaped and stopped; its reader later gets all of it', async () => {
    // A pipe (a FIFO) that the test does not read until the container has been stopped.
    const fifo = join(tmp.path, 'stdout.fifo');
    execFileSync('mkfifo', [fifo]);
    const readEnd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const writeEnd = openSync(fifo, constants.O_WRONLY);
    const run = spawn(NOOK_BIN, ['run', '--name', 'stalled', '--rootfs', rootfs, 'yes'], { env, stdio: ['ignore', writeEnd, 'pipe'] });
    closeSync(writeEnd);
    let stderr = '';
    run.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => run.on('close', (status) => resolve(status)));

    // yes waits on its full pipe: the monitor has stopped taking its output.
    await waitFor(() => {
      const pid = Number(inspectNow('stalled', '{{.State.Pid}}') ?? 0);
      return pid > 0 && /pipe_write$/.test(waitChannel(pid));
    }, 'the container to wait on its full stdout pipe');

    const stop = await nook(['stop', '-t', '0', 'stalled'], { env });
    expect(stop.status, show(stop)).toBe(0);
    const id = (await ok(['inspect', '-f', '{{.Id}} {{.State.Status}} {{.State.ExitCode}}', 'stalled'])).trim().split(' ');
    expect(id.slice(1)).toEqual(['exited', '137']);

    const reader = new Socket({ fd: readEnd, readable: true, writable: false });
    const chunks: Buffer[] = [];
    reader.on('data', (chunk: Buffer) => chunks.push(chunk));
    await new Promise((resolve) => reader.on('end', resolve));
    expect(await exited, stderr).toBe(137);
    const received = Buffer.concat(chunks).toString('utf8');
    expect(received.length).toBeGreaterThan(0);
    expect(received).toBe(loggedStream(join(env.XDG_DATA_HOME!, 'nook', 'containers', id[0]!, 'ctr.log'), 'stdout'));
  });
});

describe('the id-map helpers', () => {
  it('start with no signal blocked or ignored, whatever the monitor holds back', async () => {
    // Stand-ins for newuidmap and newgidmap, first on PATH: each records its signal state,
    // then becomes the real helper.
    const wrappers = join(tmp.path, 'wrappers');
    const records = join(tmp.path, 'records');
    mkdirSync(wrappers);
    mkdirSync(records);
    for (const helper of ['newuidmap', 'newgidmap']) {
      const real = execFileSync('sh', ['-c', `command -v ${helper}`], { encoding: 'utf8' }).trim();
      const script = [
        '#!/bin/sh',
        `while IFS= read -r line; do case $line in Sig*) echo "$line";; esac; done < /proc/self/status > ${records}/${helper}`,
        `exec ${real} "$@"`,
        '',
      ].join('\n');
      writeFileSync(join(wrappers, helper), script, { mode: 0o755 });
    }
    const result = await nook(['run', '--rm', '--rootfs', rootfs, 'cat', '/proc/self/uid_map'], { env: { ...env, PATH: `${wrappers}:${env.PATH}` } });
    expect(result.status, show(result)).toBe(0);
    // The helpers ran: the container has the full map, not a single id.
    expect(result.stdout.trim().split('\n').length).toBeGreaterThan(1);
    for (const helper of ['newuidmap', 'newgidmap']) {
      const fields = Object.fromEntries(readFileSync(join(records, helper), 'utf8').trim().split('\n').map((l) => l.split(/:\s+/)));
      // glibc's posix_spawn leaves its two internal signals (32, 33) ignored in the child,
      // for the program's own glibc to set up again: of the others, none is ignored.
      const ignored = BigInt(`0x${fields.SigIgn}`) & ~(3n << 31n);
      expect({ helper, blocked: fields.SigBlk, ignored }).toEqual({ helper, blocked: '0000000000000000', ignored: 0n });
    }
  });
});
