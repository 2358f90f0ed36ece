import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, constants, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nook, NOOK_BIN, show, waitFor, type NookResult, removeAllContainers, busyboxWorkspace, nookOk } from '../helpers/nook.js';
import { processEnded } from '../helpers/process.js';

let tmp: { path: string; cleanup: () => void };
let env: NodeJS.ProcessEnv;
let rootfs: string;
const IMAGE = 'localhost/lifecycle:busybox';

const STORE = (): string => join(env.XDG_DATA_HOME!, 'nook');
const containerDirs = (): string[] => (existsSync(join(STORE(), 'containers')) ? readdirSync(join(STORE(), 'containers')) : []);
const nameClaims = (): string[] => (existsSync(join(STORE(), 'container-names')) ? readdirSync(join(STORE(), 'container-names')) : []);

beforeAll(async () => {
  ({ tmp, env, rootfs } = busyboxWorkspace('lifecycle'));
  // The same tree as an image, for the tests the issue names with one (overlay roots).
  const tarFile = join(tmp.path, 'rootfs.tar');
  execFileSync('tar', ['-C', rootfs, '-cf', tarFile, '.']);
  await ok(['import', tarFile, IMAGE]);
});

afterAll(async () => {
  await removeAllContainers(env);
  await nook(['unshare', 'rm', '-rf', tmp.path], { env });
  tmp.cleanup();
});

async function ok(args: readonly string[], input?: string): Promise<string> {
  return (await nookOk(args, { env, ...(input === undefined ? {} : { input }) })).stdout;
}

async function fails(args: readonly string[], status: number, message: RegExp): Promise<NookResult> {
  const result = await nook(args, { env });
  expect(result.status, show(result)).toBe(status);
  expect(result.stderr).toMatch(message);
  return result;
}

interface PsEntry {
  Id: string;
  Names: string[];
  State: string;
  ExitCode: number;
  Status: string;
}

async function ps(): Promise<PsEntry[]> {
  return JSON.parse(await ok(['ps', '-a', '--format', 'json'])) as PsEntry[];
}

async function state(name: string): Promise<string | undefined> {
  return (await ps()).find((c) => c.Names[0] === name)?.State;
}

async function inspect(name: string): Promise<{ State: { Status: string; Pid: number; ConmonPid: number; ExitCode: number }; RestartCount: number; Id: string; Name: string }> {
  return (JSON.parse(await ok(['inspect', name])) as never[])[0]!;
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('a detached container', () => {
  it('runs, logs, takes execs, stops and is removed, without any nook process left', async () => {
    const script = 'echo hello; echo oops >&2; echo $$ > /tmp/pid1; trap "echo bye; exit 3" TERM; while true; do sleep 0.1; done';
    const id = (await ok(['run', '-d', '--name', 'web', '--rootfs', rootfs, '--', 'sh', '-c', script])).trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(await state('web')).toBe('running');
    const info = await inspect('web');
    // Only the C monitor stays: no Node process is the container's parent.
    expect(readFileSync(`/proc/${info.State.ConmonPid}/comm`, 'utf8').trim()).toBe('nook-monitor');
    expect(Number(readFileSync(`/proc/${info.State.Pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1])).toBe(info.State.ConmonPid);
    expect(await ok(['inspect', '-f', '{{.State.Pid}} {{.Name}}', 'web'])).toBe(`${info.State.Pid} web\n`);
    expect(await ok(['ps', '--format', '{{.ID}} {{.Names}} {{.State}}'])).toBe(`${id.slice(0, 12)} web running\n`);
    expect(await ok(['ps', '--format', 'table {{.Names}}\\t{{.State}}'])).toBe('NAMES  STATE\nweb    running\n');

    await until(async () => (await nook(['logs', 'web'], { env })).stdout === 'hello\n', 'the log');
    const logs = await nook(['logs', 'web'], { env });
    expect(logs.stderr).toBe('oops\n');
    const stamped = await ok(['logs', '-t', 'web']);
    expect(stamped).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z hello\n$/);
    expect(await ok(['logs', '--since', '1h', 'web'])).toBe('hello\n');
    expect(await ok(['logs', '--until', '1h', 'web'])).toBe('');
    expect(await ok(['logs', '--since', stamped.slice(0, 30), 'web'])).toBe('hello\n');

    // exec joins the same PID namespace and sees the same files, by name and by id prefix.
    expect(await ok(['exec', 'web', 'cat', '/tmp/pid1'])).toBe('1\n');
    expect(await ok(['exec', id.slice(0, 8), 'sh', '-c', 'echo $$ > /tmp/exec-pid; ls /proc | grep -cE "^[0-9]+$"'])).toMatch(/^[2-9]\n$/);
    expect((await nook(['exec', 'web', 'sh', '-c', 'exit 7'], { env })).status).toBe(7);
    expect((await nook(['exec', 'web', 'no-such-command'], { env })).status).toBe(127);

    const stopped = await ok(['stop', 'web']);
    expect(stopped).toBe('web\n');
    expect(await state('web')).toBe('exited');
    expect(await ok(['wait', 'web'])).toBe('3\n');
    expect(await ok(['logs', '--tail', '1', 'web'])).toBe('bye\n');
    expect(await ok(['rm', 'web'])).toBe('web\n');
    expect(await state('web')).toBeUndefined();
    expect(containerDirs()).not.toContain(id);
    expect(nameClaims()).not.toContain('web');
  });

  it('wait prints the exit code of a container that ends while it waits', async () => {
    await ok(['run', '-d', '--name', 'waited', '--rootfs', rootfs, '--', 'sleep', '300']);
    const { Id } = await inspect('waited');
    const waiting = nook(['wait', 'waited'], { env });
    // The runtime waits on the container's pidfds: its command line names the state file.
    const runtimeWaiting = (): boolean =>
      readdirSync('/proc').some((pid) => {
        try {
          return /^\d+$/.test(pid) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`${Id}/state`);
        } catch {
          return false;
        }
      });
    await waitFor(runtimeWaiting, 'nook wait to be waiting');
    await ok(['kill', 'waited']);
    const r = await waiting;
    expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({ status: 0, stdout: '137\n', stderr: '' });
    await ok(['rm', 'waited']);
  });

  it('is killed after the stop timeout when it ignores the stop signal', async () => {
    await ok(['run', '-d', '--name', 'stubborn', '--stop-timeout', '1', '--rootfs', rootfs, '--', 'sleep', '100']);
    const result = await nook(['stop', 'stubborn'], { env });
    expect(result.status, show(result)).toBe(0);
    expect(result.stderr).toMatch(/failed to stop container stubborn in 1 seconds, resorting to SIGKILL/);
    expect(await ok(['wait', 'stubborn'])).toBe('137\n');
    await ok(['rm', 'stubborn']);

    // --stop-signal: what the command handles is what stop sends.
    await ok(['run', '-d', '--name', 'on-int', '--stop-signal', 'INT', '--rootfs', rootfs, '--', 'sh', '-c', 'trap "exit 4" INT; while true; do sleep 0.1; done']);
    const polite = await nook(['stop', 'on-int'], { env });
    expect(polite.stderr, show(polite)).toBe('');
    expect(await ok(['wait', 'on-int'])).toBe('4\n');
    await ok(['rm', 'on-int']);
  });

  it('is removed by its monitor when run with --rm', async () => {
    const id = (await ok(['run', '-d', '--rm', '--rootfs', rootfs, '--', 'sh', '-c', 'sleep 0.3'])).trim();
    await waitFor(() => !containerDirs().includes(id), 'the container to remove itself');
    expect((await ps()).map((c) => c.Id)).not.toContain(id);
  });

  it('restarts as its policy says, and not after stop', async () => {
    await ok(['run', '-d', '--name', 'flaky', '--restart', 'on-failure:2', '--rootfs', rootfs, '--', 'sh', '-c', 'echo try; exit 3']);
    await until(async () => (await inspect('flaky')).RestartCount === 2 && (await state('flaky')) === 'exited', 'two restarts');
    expect((await inspect('flaky')).State.ExitCode).toBe(3);
    expect(await ok(['logs', 'flaky'])).toBe('try\ntry\ntry\n');

    await ok(['run', '-d', '--name', 'always', '--restart', 'always', '--rootfs', rootfs, '--', 'sleep', '100']);
    const monitor = (await inspect('always')).State.ConmonPid;
    await ok(['stop', '-t', '0', 'always']);
    // Restarts are the monitor's: once it is gone, none can come any more.
    await waitFor(() => processEnded(monitor), 'the monitor to exit');
    expect(await state('always')).toBe('exited');
    expect((await inspect('always')).RestartCount).toBe(0);

    // Stopped while it waits out the back-off between restarts (its state says exited, its
    // monitor lives): it is not started again, as podman stops a restarting container.
    await ok(['run', '-d', '--name', 'failing', '--restart', 'always', '--rootfs', rootfs, '--', 'sh', '-c', 'sleep 0.5; exit 1']);
    const failing = (await inspect('failing')).State.ConmonPid;
    expect(failing).toBeGreaterThan(0);
    // The back-off after the second restart is 400 ms: the stop lands in it.
    await until(async () => (await inspect('failing')).RestartCount >= 2 && (await state('failing')) === 'exited', 'two restarts');
    await ok(['stop', 'failing']);
    await waitFor(() => processEnded(failing), 'the monitor to exit rather than restart it', 15_000);
    expect(await state('failing')).toBe('exited');
    await ok(['rm', 'flaky', 'always', 'failing']);
  });

  it('shows exited once its monitor is SIGKILLed, and keeps right when the runtime dir is wiped', async () => {
    await ok(['run', '-d', '--name', 'orphan', '--rootfs', rootfs, '--', 'sleep', '100']);
    await ok(['run', '-d', '--name', 'survivor', '--rootfs', rootfs, '--', 'sleep', '100']);
    const { State } = await inspect('orphan');
    process.kill(State.ConmonPid, 'SIGKILL');
    await until(async () => (await state('orphan')) === 'exited', 'the container to show exited');
    // The container died with its monitor.
    await waitFor(() => processEnded(State.Pid), 'the container to die');

    rmSync(join(env.XDG_RUNTIME_DIR!, 'nook'), { recursive: true, force: true });
    expect(await state('survivor')).toBe('running');
    expect(await ok(['exec', 'survivor', 'echo', 'still here'])).toBe('still here\n');
    await ok(['rm', '-f', '-t', '0', 'orphan', 'survivor']);
  });

  it('shows nothing running after a reboot (another boot id in its state)', async () => {
    await ok(['create', '--name', 'before-reboot', '--rootfs', rootfs, '--', 'true']);
    const record = await inspect('before-reboot');
    // A state line the monitor of a previous boot left, whose pid is alive now.
    writeFileSync(join(STORE(), 'containers', record.Id, 'state'), `running ${process.pid} 1 another-boot ${process.pid} 1 0\n`);
    expect(await state('before-reboot')).toBe('exited');
    await ok(['rm', 'before-reboot']);
  });
});

describe('foreground containers', () => {
  it('run returns the exit code, wait prints it, and the container stays until rm', async () => {
    const result = await nook(['run', '--name', 'once', '--rootfs', rootfs, '--', 'sh', '-c', 'echo out; exit 42'], { env });
    expect(result.status, show(result)).toBe(42);
    expect(result.stdout).toBe('out\n');
    expect(await ok(['wait', 'once'])).toBe('42\n');
    expect(await ok(['logs', 'once'])).toBe('out\n');
    expect((await ps()).find((c) => c.Names[0] === 'once')?.Status).toMatch(/^Exited \(42\)/);
    // start -a runs it again in the foreground.
    expect((await nook(['start', '-a', 'once'], { env })).status).toBe(42);
    await ok(['rm', 'once']);
  });

  it('create then start: the container runs with what create decided', async () => {
    const id = (await ok(['create', '--name', 'later', '-e', 'WHO=created', '--rootfs', rootfs, '--', 'sh', '-c', 'echo $WHO; sleep 100'])).trim();
    expect(await state('later')).toBe('created');
    expect(await ok(['start', id.slice(0, 12)])).toBe(`${id.slice(0, 12)}\n`);
    expect(await state('later')).toBe('running');
    await until(async () => (await nook(['logs', 'later'], { env })).stdout === 'created\n', 'the log');
    await ok(['rm', '-f', '-t', '0', 'later']);
  });

  it('passes stdin only with -i', async () => {
    expect(await ok(['run', '--rm', '-i', '--rootfs', rootfs, '--', 'cat'], 'typed\n')).toBe('typed\n');
    expect(await ok(['run', '--rm', '--rootfs', rootfs, '--', 'cat'], 'typed\n')).toBe('');
  });

  it('-t gives the container a terminal of its own devpts, and follows resizes', async () => {
    // script(1) runs nook on a pseudo-terminal. Once the container has shown the first size,
    // the test has a background stty resize that terminal, and the container waits until it
    // sees the new size (a resize that never arrives leaves it waiting: the test times out).
    const resizeNow = join(tmp.path, 'resize-now');
    const inner = `${NOOK_BIN} run --rm -it --rootfs ${rootfs} -- sh -c 'tty; stty size; read line; until [ "$(stty size)" = "50 150" ]; do sleep 0.05; done; stty size; echo "got $line"'`;
    const resize = `(until [ -e ${resizeNow} ]; do sleep 0.05; done; stty rows 50 cols 150 < /dev/tty) &`;
    const child = spawn('script', ['-qfec', `stty rows 30 cols 100; ${resize} ${inner}`, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const closed = new Promise<number | null>((r) => child.on('close', r));
    try {
      await waitFor(() => /30 100/.test(out), 'the first size', 15_000);
      writeFileSync(resizeNow, '');
      child.stdin.write('typed\n');
      expect(await closed, out).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
    const lines = out.split(/\r?\n/).map((l) => l.trim());
    expect(lines).toContain('/dev/pts/0');
    expect(lines).toContain('50 150');
    expect(lines).toContain('got typed');
  });
});

describe('signals and logs', () => {
  it('kill sends the signal asked for; logs -f follows to the end; --env-file and ps -q/--no-trunc', async () => {
    const envFile = join(tmp.path, 'env.list');
    writeFileSync(envFile, '# settings\nWHO=file\n\nOTHER=x\n');
    const script = 'echo "$WHO $OTHER"; trap "echo got TERM; exit 5" TERM; while true; do sleep 0.1; done';
    const id = (await ok(['run', '-d', '--name', 'target', '--env-file', envFile, '-e', 'OTHER=flag', '--rootfs', rootfs, '--', 'sh', '-c', script])).trim();
    expect(await ok(['ps', '-q'])).toContain(`${id.slice(0, 12)}\n`);
    expect(await ok(['ps', '-q', '--no-trunc'])).toContain(`${id}\n`);
    const following = nook(['logs', '-f', 'target'], { env });
    await until(async () => (await nook(['logs', 'target'], { env })).stdout === 'file flag\n', 'the first line');
    expect(await ok(['kill', '-s', 'TERM', 'target'])).toBe('target\n');
    const followed = await following;
    expect(followed.stdout, show(followed)).toBe('file flag\ngot TERM\n');
    expect(await ok(['wait', 'target'])).toBe('5\n');
    await fails(['kill', 'target'], 125, /can only kill running containers: target is exited/);
    await ok(['rm', 'target']);
  });

  it('logs a log larger than its read chunks exactly, multi-byte characters and the last partial line included', async () => {
    const script = 'i=0; while [ $i -lt 30000 ]; do echo "line $i: é ü 語"; i=$((i+1)); done; printf "no newline ü"';
    await ok(['run', '--name', 'chatty', '--rootfs', rootfs, '--', 'sh', '-c', script]);
    const lines = Array.from({ length: 30000 }, (_, i) => `line ${i}: é ü 語\n`);
    expect(await ok(['logs', 'chatty'])).toBe(`${lines.join('')}no newline ü`);
    expect(await ok(['logs', '--tail', '2', 'chatty'])).toBe(`${lines.slice(-2).join('')}no newline ü`);
    expect(await ok(['logs', '--tail', '0', 'chatty'])).toBe('no newline ü');
    await ok(['rm', 'chatty']);
  });
});

describe('output', () => {
  it("ends with SIGPIPE's status, quietly, when its reader has gone (lean and full CLI alike)", () => {
    // A pipe whose read end is closed before nook starts: its first line meets EPIPE.
    const fifo = join(tmp.path, 'gone.fifo');
    execFileSync('mkfifo', [fifo]);
    for (const args of [['ps', '-a'], ['images']]) {
      const readEnd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
      const writeEnd = openSync(fifo, constants.O_WRONLY);
      closeSync(readEnd);
      const result = spawnSync(NOOK_BIN, args, { env, stdio: ['ignore', writeEnd, 'pipe'], encoding: 'utf8' });
      closeSync(writeEnd);
      expect([args, result.status, result.stderr]).toEqual([args, 141, '']);
    }
  });
});

describe('exec', () => {
  it('-t gives the exec its own terminal; -u, -w and -e apply; an --init container takes execs too', async () => {
    await ok(['run', '-d', '--init', '--name', 'host', '--rootfs', rootfs, '--', 'sleep', '100']);
    try {
      expect(await ok(['exec', '-u', '1000:1000', '-w', '/tmp', '-e', 'A=b', 'host', 'sh', '-c', 'id -u; id -g; pwd; echo $A'])).toBe('1000\n1000\n/tmp\nb\n');
      const inner = `${NOOK_BIN} exec -it host sh -c 'tty; stty size'`;
      const child = spawn('script', ['-qfec', `stty rows 33 cols 111; ${inner}`, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      const code = await new Promise<number | null>((r) => child.on('close', r));
      expect(code, out).toBe(0);
      const lines = out.split(/\r?\n/).map((l) => l.trim());
      expect(lines.some((l) => /^\/dev\/pts\/\d+$/.test(l)), out).toBe(true);
      expect(lines).toContain('33 111');
    } finally {
      await ok(['rm', '-f', '-t', '0', 'host']);
    }
  });

  it('top lists the container\'s processes as it sees them', async () => {
    await ok(['run', '-d', '--init', '--name', 'busy-top', '-u', '1000', '--rootfs', rootfs, '--', 'sh', '-c', 'sleep 300 & sleep 301']);
    try {
      await until(async () => (await ok(['top', 'busy-top'])).includes('sleep 300'), 'the processes');
      const lines = (await ok(['top', 'busy-top'])).trim().split('\n').map((l) => l.split(/\s+/));
      expect(lines[0]).toEqual(['USER', 'PID', 'PPID', 'COMMAND']);
      expect(lines[1]!.slice(0, 4)).toEqual(['app', '1', '0', 'nook-init']);
      expect(lines.slice(2).map((l) => l.slice(1, 3).concat(l.slice(3).join(' ')).join(' ')).sort()).toEqual(['2 1 sleep 301', '3 2 sleep 300']);
      expect(lines.slice(2).every((l) => l[0] === 'app')).toBe(true);
      // A state line whose PID 1 started at another time names a process that is not it.
      const state = join(env.XDG_DATA_HOME!, 'nook', 'containers', (await inspect('busy-top')).Id, 'state');
      const line = readFileSync(state, 'utf8');
      const fields = line.split(' ');
      writeFileSync(state, [...fields.slice(0, 5), String(Number(fields[5]) + 1), ...fields.slice(6)].join(' '));
      try {
        await fails(['top', 'busy-top'], 125, /top can only be used on running containers: busy-top is not running any more/);
      } finally {
        writeFileSync(state, line);
      }
    } finally {
      await ok(['rm', '-f', '-t', '0', 'busy-top']);
    }
  });

  it('refuses a container that is not running', async () => {
    await ok(['create', '--name', 'cold', '--rootfs', rootfs, '--', 'true']);
    await fails(['exec', 'cold', 'true'], 125, /can only exec in a running container: cold is created/);
    await ok(['rm', 'cold']);
  });
});

describe('names and ids', () => {
  it('accepts unique id prefixes, refuses ambiguous and unknown ones with podman exit codes', async () => {
    const a = (await ok(['create', '--rootfs', rootfs, '--', 'true'])).trim();
    const b = (await ok(['create', '--rootfs', rootfs, '--', 'true'])).trim();
    const names = (await ps()).filter((c) => c.Id === a || c.Id === b).map((c) => c.Names[0]);
    expect(names.every((n) => /^[a-z]+_[a-z]+$/.test(n!))).toBe(true);
    expect((await inspect(a.slice(0, 5))).Id).toBe(a);
    await fails(['container', 'inspect', 'no-such-container'], 125, /no container with name or ID "no-such-container" found/);
    await fails(['inspect', 'no-such-thing'], 125, /no such object: "no-such-thing"/);
    // A name that is no container's is looked up among the images, in both output forms.
    const image = (JSON.parse(await ok(['inspect', IMAGE])) as { Id: string; Os: string }[])[0]!;
    expect(await ok(['inspect', '-f', '{{.Id}} {{.Os}}', IMAGE])).toBe(`${image.Id} ${image.Os}\n`);
    await fails(['rm', 'no-such-container'], 1, /no container with name or ID/);
    await fails(['create', '--name', 'bad/name', '--rootfs', rootfs, 'true'], 125, /invalid container name "bad\/name"/);
    await ok(['rm', a, b]);
  });

  it('rename moves the name; the old one is free', async () => {
    await ok(['create', '--name', 'first', '--rootfs', rootfs, '--', 'true']);
    await ok(['create', '--name', 'taken', '--rootfs', rootfs, '--', 'true']);
    await fails(['rename', 'first', 'taken'], 125, /name "taken" is already in use/);
    await ok(['rename', 'first', 'second']);
    expect((await inspect('second')).Name).toBe('second');
    await ok(['create', '--name', 'first', '--rootfs', rootfs, '--', 'true']);
    await ok(['rm', 'first', 'second', 'taken']);
  });

  it('rm refuses a running container (exit 2) unless forced; container prune removes the stopped ones', async () => {
    await ok(['run', '-d', '--name', 'busy', '--rootfs', rootfs, '--', 'sleep', '100']);
    await ok(['create', '--name', 'idle', '--rootfs', rootfs, '--', 'true']);
    await fails(['rm', 'busy'], 2, /cannot remove container busy: it is running/);
    expect(await ok(['ps', '--filter', 'status=created', '--format', '{{.Names}}'])).toBe('idle\n');
    expect(await ok(['ps', '-a', '--filter', 'name=^bu', '--filter', 'name=^id', '--format', '{{.Names}}'])).toMatch(/^(busy\nidle|idle\nbusy)\n$/);
    expect(await ok(['ps', '-a', '--filter', 'name=busy', '--filter', 'status=exited', '-q'])).toBe('');
    const pruned = await ok(['container', 'prune', '-f']);
    expect(pruned).toMatch(/^[0-9a-f]{64}\n$/);
    expect((await ps()).map((c) => c.Names[0])).toEqual(['busy']);
    // As podman: -f stops it first, the stop signal and then SIGKILL after the timeout.
    const forced = await nook(['rm', '-f', '-t', '1', 'busy'], { env });
    expect(forced.status, show(forced)).toBe(0);
    expect(forced.stderr).toMatch(/failed to stop container busy in 1 seconds, resorting to SIGKILL/);
    expect(await ps()).toEqual([]);
  });

  it('shows a container whose record is corrupt, keeps its name, and removes it with rm -f', async () => {
    for (const damage of ['{"id": "truncat', '', '{"id": "0"}']) {
      const id = (await ok(['run', '-d', '--name', 'garbled', '--rootfs', rootfs, '--', 'sleep', '100'])).trim();
      const state = JSON.parse(await ok(['inspect', '-f', '{{json .State}}', id])) as { Pid: number; ConmonPid: number };
      writeFileSync(join(STORE(), 'containers', id, 'config.json'), damage);
      const listed = (await ps()).find((c) => c.Id === id);
      expect(listed, damage).toMatchObject({ Names: ['garbled'], State: 'corrupt' });
      expect(await ok(['ps', '-a', '--format', '{{.Names}} {{.State}}'])).toBe('garbled corrupt\n');
      await fails(['create', '--name', 'garbled', '--rootfs', rootfs, '--', 'true'], 125, /name "garbled" is already in use/);
      await fails(['inspect', 'garbled'], 125, new RegExp(`record of container garbled is corrupt: .*containers/${id}/config\\.json`));
      await fails(['rm', 'garbled'], 1, /hint: remove the container with: nook rm -f garbled/);
      expect(await ok(['rm', '-f', 'garbled'])).toBe('garbled\n');
      expect(containerDirs().filter((d) => d.startsWith(id.slice(0, 12)))).toEqual([]);
      expect(nameClaims()).not.toContain('garbled');
      // Its process and monitor went with it.
      await waitFor(() => !existsSync(`/proc/${state.Pid}`) && !existsSync(`/proc/${state.ConmonPid}`), 'the removed container\'s processes to exit');
    }
  });
});

describe('concurrency and kills', () => {
  it('20 parallel creates of one name: exactly one wins', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => nook(['create', '--name', 'same', IMAGE, 'true'], { env })));
    expect(results.filter((r) => r.status === 0)).toHaveLength(1);
    for (const r of results.filter((r) => r.status !== 0)) expect(r.stderr, show(r)).toMatch(/the container name "same" is already in use/);
    expect((await ps()).map((c) => c.Names[0])).toEqual(['same']);
    await ok(['rm', 'same']);
    expect(containerDirs()).toEqual([]);
    expect(nameClaims()).toEqual([]);
  });

  it('parallel starts of one container run it once', async () => {
    const shared = join(tmp.path, 'starts');
    mkdirSync(shared);
    // A sleep no other test runs: the container's PID 1 is this sh, then (sh execs its last
    // command) this sleep.
    const seconds = String(1_000_000 + process.pid);
    const command = `echo started >> /shared/log; sleep ${seconds}`;
    const pid1 = [`sh\0-c\0${command}\0`, `sleep\0${seconds}\0`];
    await ok(['create', '--name', 'once-only', '-v', `${shared}:/shared`, IMAGE, 'sh', '-c', command]);
    const results = await Promise.all(Array.from({ length: 6 }, () => nook(['start', 'once-only'], { env })));
    for (const r of results) expect(r.status, show(r)).toBe(0);
    // A start that launched the container returned only once its command was exec'd: each
    // container launched is running now, whether or not it has written its line yet.
    const launched = readdirSync('/proc').filter((pid) => {
      try {
        return pid1.includes(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
      } catch {
        return false;
      }
    });
    expect(launched).toHaveLength(1);
    await waitFor(() => existsSync(join(shared, 'log')), 'the container to write its line');
    expect(readFileSync(join(shared, 'log'), 'utf8')).toBe('started\n');
    await ok(['rm', '-f', '-t', '0', 'once-only']);
  });

  it('rm -f racing a start leaves no container and no process behind', async () => {
    const sleeping = (): boolean => execFileSync('ps', ['-eo', 'args']).toString().split('\n').some((l) => l.trim() === 'sleep 4242');
    for (let i = 0; i < 3; i++) {
      await ok(['create', '--name', 'racer', IMAGE, 'sleep', '4242']);
      const [started, removed] = await Promise.all([nook(['start', 'racer'], { env }), nook(['rm', '-f', '-t', '0', 'racer'], { env })]);
      expect(removed.status, show(removed)).toBe(0);
      // The start either ran first (and its container was stopped) or found it gone.
      expect([0, 125]).toContain(started.status);
      expect((await ps()).filter((c) => c.Names[0] === 'racer')).toEqual([]);
      await waitFor(() => !sleeping(), 'the raced container to be gone', 5_000);
    }
    expect(containerDirs()).toEqual([]);
  });

  it('20 parallel create/rm of different containers leave the store consistent', async () => {
    await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        await ok(['create', '--name', `c${i}`, IMAGE, 'true']);
        await ok(['rm', `c${i}`]);
      }),
    );
    expect(await ps()).toEqual([]);
    expect(containerDirs()).toEqual([]);
    expect(nameClaims()).toEqual([]);
  });

  it('a nook killed during run -d or rm leaves a store the next command repairs', async () => {
    /** Starts nook and SIGKILLs it after `delay` ms (unless it is done by then). */
    const killedAfter = async (args: readonly string[], delay: number): Promise<void> => {
      const child = spawn(NOOK_BIN, args, { env, stdio: 'ignore' });
      const closed = new Promise((r) => child.on('close', r));
      await new Promise((r) => setTimeout(r, delay));
      child.kill('SIGKILL');
      await closed;
    };
    for (const delay of [60, 150, 300]) {
      await killedAfter(['run', '-d', '--name', 'killed', IMAGE, 'sleep', '100'], delay);
      // Either it exists whole (created or running) or not at all; the name is free or its.
      const listed = (await ps()).filter((c) => c.Names[0] === 'killed');
      expect(listed.length).toBeLessThanOrEqual(1);
      if (listed.length === 1) await ok(['rm', '-f', '-t', '0', 'killed']);
      await ok(['create', '--name', 'killed', IMAGE, 'true']);
      await killedAfter(['rm', 'killed'], delay / 2);
      if ((await ps()).some((c) => c.Names[0] === 'killed')) await ok(['rm', 'killed']);
      expect(await ps()).toEqual([]);
      expect(containerDirs(), `after a kill at ${delay} ms`).toEqual([]);
      expect(nameClaims()).toEqual([]);
    }
  });
});
