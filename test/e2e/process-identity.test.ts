import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nook, show, removeAllContainers, busyboxWorkspace, nookOk } from '../helpers/nook.js';
import { procStatFields } from '../../src/sys/process.js';

// nook stop, kill and exec act on the pid the container's state recorded only while it
// still names the process that started then (pid + start time, through a pidfd). Here the
// state of one container is made to name another container's PID 1, as if the pid had been
// reused: that other process must never be signalled or joined.

let tmp: { path: string; cleanup: () => void };
let env: NodeJS.ProcessEnv;
let rootfs: string;

beforeAll(() => {
  ({ tmp, env, rootfs } = busyboxWorkspace('identity'));
});

afterAll(async () => {
  await removeAllContainers(env);
  tmp.cleanup();
});

async function ok(args: readonly string[]): Promise<string> {
  return (await nookOk(args, { env })).stdout;
}

const stateFile = (id: string): string => join(env.XDG_DATA_HOME!, 'nook', 'containers', id, 'state');

/** Field 22 of /proc/PID/stat, or null when the process is gone. */
function startTime(pid: number): string | null {
  return procStatFields(pid)?.[19] ?? null;
}

describe('a state line whose PID 1 now names another process', () => {
  it.each([
    ['', []],
    [' (the other one with --init)', ['--init']],
  ] as const)('is neither signalled by kill and stop nor joined by exec%s', async (_, decoyFlags) => {
    const id = (await ok(['run', '-d', '--rootfs', rootfs, '--hostname', 'mine', 'sleep', '1000'])).trim();
    const decoy = (await ok(['run', '-d', ...decoyFlags, '--rootfs', rootfs, '--hostname', 'decoy', 'sleep', '1000'])).trim();
    expect(await ok(['exec', decoy, 'hostname'])).toBe('decoy\n');
    const decoyPid = Number(await ok(['inspect', '-f', '{{.State.Pid}}', decoy]));
    const decoyStart = startTime(decoyPid);
    expect(decoyStart).not.toBeNull();

    // running <monitor> <its start> <boot> <PID 1> <its start> <started> <restarts>
    const line = readFileSync(stateFile(id), 'utf8');
    const fields = line.trim().split(' ');
    expect(fields).toHaveLength(8);
    expect(fields[5]).not.toBe(decoyStart);
    fields[4] = String(decoyPid);
    writeFileSync(stateFile(id), `${fields.join(' ')}\n`);

    const exec = await nook(['exec', id, 'hostname'], { env });
    expect(exec.status, show(exec)).toBe(125);
    expect(exec.stdout).toBe('');
    expect(exec.stderr).toMatch(/has no process to exec in: its PID 1 \(pid \d+\) is gone/);

    // The process is gone as far as the recorded one goes: like a kill that comes late.
    expect(await ok(['kill', id])).toBe(`${id}\n`);
    const stop = await nook(['stop', '-t', '0', id], { env });
    expect(stop.stderr).toMatch(/did not stop after SIGKILL/);
    expect(stop.status, show(stop)).toBe(125);

    expect(startTime(decoyPid)).toBe(decoyStart);
    expect(await ok(['inspect', '-f', '{{.State.Status}}', decoy])).toBe('running\n');
    expect(await ok(['exec', decoy, 'hostname'])).toBe('decoy\n');

    // With its own line back, the container is its own again.
    writeFileSync(stateFile(id), line);
    expect(await ok(['exec', id, 'hostname'])).toBe('mine\n');
    await ok(['stop', '-t', '0', id]);
    expect(await ok(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', id])).toBe('exited 137\n');
    expect(startTime(decoyPid)).toBe(decoyStart);
    await ok(['rm', '-f', '-t', '0', id, decoy]);
  });
});
