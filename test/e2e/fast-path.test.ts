import { execFileSync, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isolatedEnv, nook, NOOK_BIN, show, waitFor, type NookResult, removeAllContainers } from '../helpers/nook.js';
import { processEnded } from '../helpers/process.js';
import { startRegistry } from '../helpers/registry.js';
import { makeBusyboxRootfs, tempDir } from '../helpers/rootfs.js';
import { findOnPath } from '../../src/sys/which.js';

// bin/nook replays a `run --rm` it has seen when none of the run's inputs changed
// (docs/fast-path.md). A replay never starts Node: these tests tell replays from CLI runs
// by giving nook a PATH whose only node can be taken away.

let tmp: { path: string; cleanup: () => void };
let rootfs: string;
let nodeLink: string;
let env: NodeJS.ProcessEnv;

beforeAll(() => {
  tmp = tempDir('fast-path');
  rootfs = makeBusyboxRootfs(join(tmp.path, 'rootfs'));
  const bin = join(tmp.path, 'bin');
  mkdirSync(bin);
  for (const tool of ['newuidmap', 'newgidmap']) {
    const found = findOnPath(tool);
    if (found === null) throw new Error(`${tool} is missing: install uidmap (.ci/run does)`);
    symlinkSync(found, join(bin, tool));
  }
  nodeLink = join(bin, 'node');
  env = { ...isolatedEnv(join(tmp.path, 'home')), PATH: bin };
});

afterAll(async () => {
  withNode(true);
  await removeAllContainers(env);
  // Image layers hold files of container ids.
  await nook(['unshare', '/bin/rm', '-rf', storeDir()], { env });
  tmp.cleanup();
});

/** Puts node on nook's PATH, or takes it away: then only a replay can run a container. */
function withNode(present: boolean): void {
  rmSync(nodeLink, { force: true });
  if (present) symlinkSync(process.execPath, nodeLink);
}

const NO_NODE = /cannot run node/;

function run(args: readonly string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<NookResult> {
  return nook(['run', '--rm', '--network', 'none', ...args], { env: opts.env ?? env, ...(opts.input === undefined ? {} : { input: opts.input }) });
}

function entryDir(e: NodeJS.ProcessEnv = env): string {
  return join(e.XDG_RUNTIME_DIR!, 'nook', 'fast');
}

function storeDir(e: NodeJS.ProcessEnv = env): string {
  return join(e.XDG_DATA_HOME!, 'nook');
}

describe('a repeated nook run --rm', () => {
  it('is replayed without Node, with the same output and exit code', async () => {
    withNode(true);
    const args = ['--rootfs', rootfs, 'sh', '-c', 'echo out; echo err >&2; exit 7'];
    const first = await run(args);
    expect(first.status, show(first)).toBe(7);
    expect(readdirSync(entryDir())).toHaveLength(1);
    withNode(false);
    const replayed = await run(args);
    expect({ status: replayed.status, stdout: replayed.stdout, stderr: replayed.stderr }).toEqual({ status: 7, stdout: 'out\n', stderr: 'err\n' });
    // Anything not seen before needs the CLI, which needs node.
    const other = await run(['--rootfs', rootfs, 'true']);
    expect(other.status, show(other)).toBe(125);
    expect(other.stderr).toMatch(NO_NODE);
    withNode(true);
  });

  it('leaves no container, name or temp file behind', async () => {
    withNode(true);
    const args = ['--rootfs', rootfs, 'sh', '-c', 'echo hi > /tmp/x'];
    expect((await run(args)).status).toBe(0);
    withNode(false);
    expect((await run(args)).status).toBe(0);
    withNode(true);
    expect(readdirSync(join(storeDir(), 'containers'))).toEqual([]);
    expect(readdirSync(join(storeDir(), 'container-names'))).toEqual([]);
    expect(readdirSync(join(env.XDG_RUNTIME_DIR!, 'nook')).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('writes the container the CLI writes, with a fresh id, name and created time', async () => {
    withNode(true);
    const args = ['--rm', '-i', '--network', 'none', '--rootfs', rootfs, '-e', 'A=1', 'cat'];
    const snapshot = async (): Promise<{ files: Record<string, string>; id: string; name: string; created: string }> => {
      let child: ChildProcess | undefined;
      const done = nook(['run', ...args], { env, keepStdinOpen: true, onSpawn: (c) => (child = c) });
      const containers = join(storeDir(), 'containers');
      await waitFor(() => readdirSync(containers).some((id) => existsSync(join(containers, id, 'state'))), 'the container to run');
      const [id] = readdirSync(containers);
      const dir = join(containers, id!);
      const record = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { name: string; created: string };
      const files: Record<string, string> = {};
      for (const path of ['config.json', 'stop-recipe', 'userdata', 'userdata/hosts', 'userdata/hostname', 'userdata/resolv.conf']) {
        const st = lstatSync(join(dir, path));
        const content = st.isFile() ? readFileSync(join(dir, path), 'utf8') : st.isSymbolicLink() ? `-> ${readlinkSync(join(dir, path))}` : '(dir)';
        files[path] = `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${content}`;
      }
      child!.stdin!.end();
      expect((await done).status).toBe(0);
      return { files, id: id!, ...record };
    };
    const normal = (s: Awaited<ReturnType<typeof snapshot>>): Record<string, string> =>
      Object.fromEntries(
        Object.entries(s.files).map(([k, v]) => [k, v.replaceAll(s.id, 'ID').replaceAll(s.id.slice(0, 12), 'SHORT').replaceAll(`"${s.name}"`, 'NAME').replaceAll(` ${s.name}\n`, ' NAME\n').replaceAll(`\n${s.name}\n`, '\nNAME\n').replaceAll(s.created, 'CREATED')]),
      );
    const byCli = await snapshot();
    withNode(false);
    const replayed = await snapshot();
    withNode(true);
    expect(replayed.id).not.toBe(byCli.id);
    expect(Date.parse(replayed.created)).toBeGreaterThanOrEqual(Date.parse(byCli.created));
    expect(normal(replayed)).toEqual(normal(byCli));
  });

  it('shows in ps while it runs, and stops like any container', async () => {
    withNode(true);
    const args = ['--rootfs', rootfs, 'sleep', '300'];
    const first = run(args);
    await waitFor(() => readdirSync(join(storeDir(), 'containers')).length === 1, 'the first container');
    await waitFor(() => execFileSync(NOOK_BIN, ['ps', '-q'], { env, encoding: 'utf8' }).trim() !== '', 'the first container to run');
    execFileSync(NOOK_BIN, ['stop', '-t', '0', execFileSync(NOOK_BIN, ['ps', '-q'], { env, encoding: 'utf8' }).trim()], { env });
    expect((await first).status).toBe(137);
    withNode(false);
    const replayed = run(args);
    await waitFor(() => readdirSync(join(storeDir(), 'containers')).some((id) => existsSync(join(storeDir(), 'containers', id, 'state'))), 'the replayed container to run');
    withNode(true);
    const ps = execFileSync(NOOK_BIN, ['ps', '--format', '{{.Command}} {{.Status}}'], { env, encoding: 'utf8' });
    expect(ps).toMatch(/^sleep 300 Up /);
    const id = execFileSync(NOOK_BIN, ['ps', '-q'], { env, encoding: 'utf8' }).trim();
    execFileSync(NOOK_BIN, ['stop', '-t', '0', id], { env });
    expect((await replayed).status).toBe(137);
    expect(readdirSync(join(storeDir(), 'containers'))).toEqual([]);
  });

  it('runs side by side with itself, each replay its own container', async () => {
    withNode(true);
    const args = ['--rootfs', rootfs, 'cat', '/etc/hostname'];
    expect((await run(args)).status).toBe(0);
    withNode(false);
    const results = await Promise.all(Array.from({ length: 8 }, () => run(args)));
    withNode(true);
    for (const r of results) expect(r.status, show(r)).toBe(0);
    expect(new Set(results.map((r) => r.stdout)).size).toBe(8);
    expect(readdirSync(join(storeDir(), 'containers'))).toEqual([]);
    expect(readdirSync(join(storeDir(), 'container-names'))).toEqual([]);
  });
});

describe('a run whose inputs changed', () => {
  it('is decided afresh: a file it read (the rootfs passwd)', async () => {
    withNode(true);
    const passwd = join(rootfs, 'etc', 'passwd');
    const before = readFileSync(passwd, 'utf8');
    const args = ['--rootfs', rootfs, '-u', 'app', 'id', '-u'];
    try {
      expect((await run(args)).stdout).toBe('1000\n');
      writeFileSync(passwd, before.replace('app:x:1000:1000', 'app:x:1234:1000'));
      withNode(false);
      const without = await run(args);
      expect(without.stderr).toMatch(NO_NODE);
      withNode(true);
      expect((await run(args)).stdout).toBe('1234\n');
    } finally {
      writeFileSync(passwd, before);
    }
  });

  it('is decided afresh: a variable it read', async () => {
    withNode(true);
    const args = ['--rootfs', rootfs, '-e', 'GREETING', 'sh', '-c', 'echo $GREETING'];
    expect((await run(args, { env: { ...env, GREETING: 'hello' } })).stdout).toBe('hello\n');
    withNode(false);
    expect((await run(args, { env: { ...env, GREETING: 'hello' } })).stdout).toBe('hello\n');
    expect((await run(args, { env: { ...env, GREETING: 'bye' } })).stderr).toMatch(NO_NODE);
    withNode(true);
    expect((await run(args, { env: { ...env, GREETING: 'bye' } })).stdout).toBe('bye\n');
  });

  it('is decided afresh: another umask (the modes of what the CLI writes follow it)', async () => {
    withNode(true);
    const args = ['run', '--rm', '--network', 'none', '--rootfs', rootfs, 'stat', '-c', '%a', '/etc/hosts'];
    expect((await nook(args, { env, umask: '022' })).stdout).toBe('644\n');
    withNode(false);
    expect((await nook(args, { env, umask: '022' })).stdout).toBe('644\n');
    expect((await nook(args, { env, umask: '077' })).stderr).toMatch(NO_NODE);
    withNode(true);
  });

  it('is decided afresh: the image a tag names', async () => {
    withNode(true);
    const image = (content: string): string => {
      const dir = join(tmp.path, `image-${content}`);
      makeBusyboxRootfs(dir);
      writeFileSync(join(dir, 'which'), `${content}\n`);
      const tar = `${dir}.tar`;
      execFileSync('tar', ['-C', dir, '-cf', tar, '.']);
      return tar;
    };
    const imported = async (tar: string): Promise<void> => {
      const r = await nook(['import', tar, 'fast:test'], { env });
      expect(r.status, show(r)).toBe(0);
    };
    await imported(image('one'));
    // The first run of an image may probe the host (the storage driver) in a child process,
    // which is not replayable: the second is recorded.
    for (let i = 0; i < 2; i++) expect((await run(['fast:test', 'cat', '/which'])).stdout).toBe('one\n');
    withNode(false);
    expect((await run(['fast:test', 'cat', '/which'])).stdout).toBe('one\n');
    withNode(true);
    await imported(image('two'));
    withNode(false);
    expect((await run(['fast:test', 'cat', '/which'])).stderr).toMatch(NO_NODE);
    withNode(true);
    expect((await run(['fast:test', 'cat', '/which'])).stdout).toBe('two\n');
    expect(readdirSync(join(storeDir(), 'containers'))).toEqual([]);
  });

  it('a replay removes what the container wrote as another user, through nook unshare', async () => {
    withNode(true);
    const debug = { ...env, NOOK_FAST_PATH_DEBUG: '1' };
    const args = ['-u', 'app', 'fast:test', 'sh', '-c', 'echo x > /tmp/mine && stat -c %u /tmp/mine'];
    const first = await run(args, { env: debug });
    expect(first.stdout, show(first)).toBe('1000\n');
    expect(first.stderr).toMatch(/^nook: not replayed/);
    const replayed = await run(args, { env: debug });
    expect({ stdout: replayed.stdout, stderr: replayed.stderr }).toEqual({ stdout: '1000\n', stderr: '' });
    expect(readdirSync(join(storeDir(), 'containers'))).toEqual([]);
  });

  it('--pull always is never replayed: it asks the registry every time', async () => {
    withNode(true);
    const registry = await startRegistry(join(tmp.path, 'registry'));
    try {
      const remote = `${registry.host}/fast/always:v1`;
      const pushed = await nook(['push', '--tls-verify=false', 'fast:test', remote], { env });
      expect(pushed.status, show(pushed)).toBe(0);
      const args = ['--pull', 'always', '--tls-verify=false', remote, 'cat', '/which'];
      for (let i = 0; i < 2; i++) expect((await run(args)).stdout).toBe('two\n');
      withNode(false);
      expect((await run(args)).stderr).toMatch(NO_NODE);
      withNode(true);
    } finally {
      await registry.stop();
    }
  });
});

describe('what a replay cannot do is left to the CLI', () => {
  it('a command that is not there: the same error and exit code as the CLI gives', async () => {
    withNode(true);
    const args = ['--rootfs', rootfs, 'not-there'];
    const first = await run(args);
    const second = await run(args);
    expect(first.status).toBe(127);
    expect({ status: second.status, stderr: second.stderr }).toEqual({ status: first.status, stderr: first.stderr });
    expect(readdirSync(join(storeDir(), 'containers'))).toEqual([]);
  });

  it('a --name in use: the CLI names the holder', async () => {
    withNode(true);
    const args = ['--name', 'taken', '--rootfs', rootfs, 'true'];
    expect((await run(args)).status).toBe(0);
    const holder = await nook(['run', '-d', '--network', 'none', '--name', 'taken', '--rootfs', rootfs, 'sleep', '300'], { env });
    expect(holder.status, show(holder)).toBe(0);
    const refused = await run(args);
    expect(refused.status).toBe(125);
    expect(refused.stderr).toMatch(/the container name "taken" is already in use/);
    await nook(['rm', '-f', '-t', '0', 'taken'], { env });
  });

  it('another checkout’s bin/nook does not replay this one’s decisions', async () => {
    withNode(true);
    const args = ['run', '--rm', '--network', 'none', '--rootfs', rootfs, 'echo', 'whose'];
    expect((await run(args.slice(4))).stdout).toBe('whose\n');
    const other = join(tmp.path, 'other', 'bin');
    mkdirSync(other, { recursive: true });
    copyFileSync(NOOK_BIN, join(other, 'nook'));
    chmodSync(join(other, 'nook'), 0o755);
    writeFileSync(join(other, 'nook.cjs'), `require(${JSON.stringify(join(NOOK_BIN, '..', '..', 'dist', 'nook.cjs'))});\n`);
    withNode(false);
    const elsewhere = spawnSync(join(other, 'nook'), args, { env, encoding: 'utf8' });
    expect(elsewhere.stderr).toMatch(NO_NODE);
    expect((await run(args.slice(4))).stdout).toBe('whose\n');
    withNode(true);
  });

  it('NOOK_NO_FAST_PATH, or an entry anyone else could have written, is not replayed', async () => {
    withNode(true);
    const args = ['--rootfs', rootfs, 'echo', 'checked'];
    expect((await run(args)).status).toBe(0);
    withNode(false);
    expect((await run(args, { env: { ...env, NOOK_NO_FAST_PATH: '1' } })).stderr).toMatch(NO_NODE);
    for (const name of readdirSync(entryDir())) chmodSync(join(entryDir(), name), 0o644);
    expect((await run(args)).stderr).toMatch(NO_NODE);
    withNode(true);
  });
});

describe('a repeated nook exec', () => {
  it('is replayed without Node into the same process, and decided afresh once the container restarted', async () => {
    withNode(true);
    const started = await nook(['run', '-d', '--network', 'none', '--name', 'execd', '--rootfs', rootfs, 'sleep', '300'], { env });
    expect(started.status, show(started)).toBe(0);
    const args = ['exec', '-e', 'X=1', 'execd', 'sh', '-c', 'echo $X $(cat /proc/1/cmdline | tr "\\0" " "); exit 4'];
    for (let i = 0; i < 2; i++) {
      const r = await nook(args, { env });
      expect({ status: r.status, stdout: r.stdout }, show(r)).toEqual({ status: 4, stdout: '1 sleep 300\n' });
    }
    withNode(false);
    const replayed = await nook(args, { env });
    expect({ status: replayed.status, stdout: replayed.stdout, stderr: replayed.stderr }).toEqual({ status: 4, stdout: '1 sleep 300\n', stderr: '' });
    withNode(true);
    expect((await nook(['stop', '-t', '0', 'execd'], { env })).status).toBe(0);
    expect((await nook(['start', 'execd'], { env })).status).toBe(0);
    withNode(false);
    expect((await nook(args, { env })).stderr).toMatch(NO_NODE);
    withNode(true);
    expect((await nook(args, { env })).stdout).toBe('1 sleep 300\n');
    expect((await nook(['stop', '-t', '0', 'execd'], { env })).status).toBe(0);
    const stopped = await nook(args, { env });
    expect(stopped.status).toBe(125);
    expect(stopped.stderr).toMatch(/can only exec in a running container/);
    await nook(['rm', '-f', 'execd'], { env });
  });
});

describe('a repeated nook sandbox', () => {
  it('is replayed without Node; with a timeout (nook must stay beside it) it is not', async () => {
    withNode(true);
    const project = join(tmp.path, 'project');
    mkdirSync(project, { recursive: true });
    const sandbox = (args: readonly string[]): Promise<NookResult> => nook(['sandbox', ...args, '--', '/bin/sh', '-c', 'echo in $PWD; exit 5'], { env, cwd: project });
    for (let i = 0; i < 2; i++) {
      const r = await sandbox([]);
      expect({ status: r.status, stdout: r.stdout }, show(r)).toEqual({ status: 5, stdout: `in ${project}\n` });
    }
    withNode(false);
    const replayed = await sandbox([]);
    expect({ status: replayed.status, stdout: replayed.stdout, stderr: replayed.stderr }).toEqual({ status: 5, stdout: `in ${project}\n`, stderr: '' });
    withNode(true);
    for (let i = 0; i < 2; i++) expect((await sandbox(['--timeout', '30'])).status).toBe(5);
    withNode(false);
    expect((await sandbox(['--timeout', '30'])).stderr).toMatch(NO_NODE);
    withNode(true);
  });
});

describe('nook stop', () => {
  // bin/nook stops a running container itself, as the stop recipe beside its record says
  // (src/store/stop-recipe.ts); anything else it leaves to the CLI before doing anything.
  async function detached(name: string, command: readonly string[], options: readonly string[] = []): Promise<{ id: string; monitor: number }> {
    withNode(true);
    const r = await nook(['run', '-d', '--network', 'none', '--name', name, ...options, '--rootfs', rootfs, ...command], { env });
    expect(r.status, show(r)).toBe(0);
    return { id: r.stdout.trim(), monitor: Number(await inspect(name, '{{.State.ConmonPid}}')) };
  }

  async function inspect(name: string, format: string): Promise<string> {
    const r = await nook(['inspect', '--format', format, name], { env });
    expect(r.status, show(r)).toBe(0);
    return r.stdout.trim();
  }

  it('stops running containers by name and by ID without Node, printing each as given', async () => {
    await detached('stop-a', ['sleep', '300'], ['--init']);
    const b = await detached('stop-b', ['sleep', '300'], ['--init']);
    withNode(false);
    const r = await nook(['stop', '-t', '5', 'stop-a', b.id], { env });
    withNode(true);
    expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({ status: 0, stdout: `stop-a\n${b.id}\n`, stderr: '' });
    for (const name of ['stop-a', 'stop-b']) expect(await inspect(name, '{{.State.Status}} {{.State.ExitCode}}')).toBe('exited 143');
    expect((await nook(['rm', 'stop-a', 'stop-b'], { env })).status).toBe(0);
  });

  it('uses the stop signal and timeout of the container, and says what the CLI says when the signal fails', async () => {
    // sleep as PID 1 has no handler for SIGUSR1, so the kernel drops it: SIGKILL after 1 s.
    const outcomes = [];
    for (const native of [false, true]) {
      await detached('stubborn', ['sleep', '300'], ['--stop-signal', 'usr1', '--stop-timeout', '1']);
      withNode(!native);
      const r = await nook(['stop', 'stubborn'], { env: native ? env : { ...env, NOOK_NO_FAST_PATH: '1' } });
      withNode(true);
      outcomes.push({ status: r.status, stdout: r.stdout, stderr: r.stderr, end: await inspect('stubborn', '{{.State.Status}} {{.State.ExitCode}}') });
      expect((await nook(['rm', 'stubborn'], { env })).status).toBe(0);
    }
    expect(outcomes[0]).toEqual({
      status: 0,
      stdout: 'stubborn\n',
      stderr: 'WARN: StopSignal SIGUSR1 failed to stop container stubborn in 1 seconds, resorting to SIGKILL\n',
      end: 'exited 137',
    });
    expect(outcomes[1]).toEqual(outcomes[0]);
  });

  it('leaves a container it stopped stopped, whatever its restart policy', async () => {
    const c = await detached('restarting', ['sleep', '300'], ['--init', '--restart', 'always']);
    withNode(false);
    const r = await nook(['stop', '--time=5', 'restarting'], { env });
    withNode(true);
    expect(r.status, show(r)).toBe(0);
    await waitFor(() => processEnded(c.monitor), 'the monitor to exit rather than restart the container');
    expect(await inspect('restarting', '{{.State.Status}} {{.State.ExitCode}}')).toBe('exited 143');
    expect((await nook(['rm', 'restarting'], { env })).status).toBe(0);
  });

  it('stops the PID 1 that runs when it gets to a container, not the one that ran when it began', async () => {
    const first = await detached('first', ['sleep', '300']); // no --init: sleep ignores SIGTERM, stop waits out -t
    const second = await detached('second', ['sleep', '300'], ['--init', '--restart', 'always']);
    const state = (): string[] => readFileSync(join(storeDir(), 'containers', second.id, 'state'), 'utf8').split(' ');
    const pid1 = state()[4]!;
    withNode(false);
    let stopped = false;
    const stopping = nook(['stop', '-t', '4', 'first', 'second'], { env }).finally(() => (stopped = true));
    // While first is given its 4 s (its stop file says the command got that far), second's
    // PID 1 dies and its restart policy starts another.
    await waitFor(() => existsSync(join(storeDir(), 'containers', first.id, 'stop')), 'the stop of first to begin');
    process.kill(Number(pid1), 'SIGKILL');
    await waitFor(() => state()[0] === 'running' && state()[4] !== pid1, 'second to be restarted');
    expect(stopped).toBe(false);
    const r = await stopping;
    withNode(true);
    expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({
      status: 0,
      stdout: 'first\nsecond\n',
      stderr: 'WARN: StopSignal SIGTERM failed to stop container first in 4 seconds, resorting to SIGKILL\n',
    });
    expect(await inspect('second', '{{.State.Status}} {{.State.ExitCode}}')).toBe('exited 143');
    await waitFor(() => processEnded(second.monitor), 'second to stay stopped');
    expect((await nook(['rm', 'first', 'second'], { env })).status).toBe(0);
  });

  it('follows a rename: the new name is stopped, the old one is the CLI’s to refuse', async () => {
    await detached('before', ['sleep', '300'], ['--init']);
    expect((await nook(['rename', 'before', 'after'], { env })).status).toBe(0);
    withNode(false);
    expect((await nook(['stop', 'before'], { env })).stderr).toMatch(NO_NODE);
    const r = await nook(['stop', '-t3', 'after'], { env });
    withNode(true);
    expect({ status: r.status, stdout: r.stdout }, show(r)).toEqual({ status: 0, stdout: 'after\n' });
    expect((await nook(['rm', 'after'], { env })).status).toBe(0);
  });

  it('leaves to the CLI, with nothing done, what it cannot do plainly', async () => {
    const c = await detached('plain', ['sleep', '300'], ['--init']);
    // A claim its container does not carry, as a killed rename or rm may leave.
    symlinkSync(c.id, join(storeDir(), 'container-names', 'stale'));
    withNode(false);
    const cases = [
      ['stop', c.id.slice(0, 12)],
      ['stop', 'stale'],
      ['stop', 'plain', 'missing'],
      ['stop', '-t', 'x', 'plain'],
      ['stop', '--latest'],
      ['stop', '--', 'plain'],
    ];
    for (const args of cases) expect((await nook(args, { env })).stderr, args.join(' ')).toMatch(NO_NODE);
    // A rename cut short after the recipe was written: its record still says "plain".
    const recipe = join(storeDir(), 'containers', c.id, 'stop-recipe');
    const written = readlinkSync(recipe);
    const rewrite = (target: string): void => {
      rmSync(recipe);
      symlinkSync(target, recipe);
    };
    rewrite(written.replace('\nplain\n', '\ntorn\n'));
    symlinkSync(c.id, join(storeDir(), 'container-names', 'torn'));
    expect((await nook(['stop', 'torn'], { env })).stderr).toMatch(NO_NODE);
    expect((await nook(['stop', 'plain'], { env })).stderr).toMatch(NO_NODE);
    rewrite(written);
    const stale = await nook(['stop', 'stale'], { env: { ...env, NOOK_NO_FAST_PATH: '1' } });
    withNode(true);
    expect(await inspect('plain', '{{.State.Status}}')).toBe('running');
    expect(stale.stderr).toMatch(NO_NODE);
    const refused = await nook(['stop', 'stale'], { env });
    expect({ status: refused.status, stderr: refused.stderr }).toEqual({ status: 125, stderr: 'Error: no container with name or ID "stale" found (hint: see "nook ps -a" for the containers there are)\n' });
    withNode(false);
    expect((await nook(['stop', 'plain'], { env })).status).toBe(0);
    // Stopped now: what stop does then is the CLI's.
    expect((await nook(['stop', 'plain'], { env })).stderr).toMatch(NO_NODE);
    withNode(true);
    expect((await nook(['rm', 'plain'], { env })).status).toBe(0);
  });
});

describe('nook --version', () => {
  it('is answered by bin/nook with the CLI’s own answer', () => {
    const launcher = execFileSync(NOOK_BIN, ['--version'], { encoding: 'utf8' });
    const cli = execFileSync(process.execPath, [`${NOOK_BIN}.cjs`, '--version'], { encoding: 'utf8' });
    expect(launcher).toBe(cli);
    expect(launcher).toBe(`${(JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version}\n`);
  });
});
