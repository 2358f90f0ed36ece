import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, realpathSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeNetstrings } from '../../src/runtime/report.js';
import { nook, NOOK_BIN, show, type NookResult, busyboxWorkspace } from '../helpers/nook.js';
import { tarball } from '../helpers/tarball.js';

let tmp: { path: string; cleanup: () => void };
let env: NodeJS.ProcessEnv;
let rootfs: string;

beforeAll(() => {
  ({ tmp, env, rootfs } = busyboxWorkspace('host-fit'));
});
afterAll(async () => {
  await nook(['unshare', 'rm', '-rf', join(tmp.path, 'home')], { env });
  tmp.cleanup();
});

const uid = process.getuid!();
const user = userInfo().username;

function sysctl(path: string): number | null {
  return existsSync(path) ? Number(readFileSync(path, 'utf8').trim()) : null;
}

interface SubLine {
  readonly owner: string;
  readonly start: number;
  readonly count: number;
}

/** The file's lines, read here independently of nook. */
function subLines(file: string): SubLine[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim().split(':'))
    .filter((f) => f.length === 3 && !f[0]!.startsWith('#') && Number(f[2]) > 0)
    .map(([owner, start, count]) => ({ owner: owner!, start: Number(start), count: Number(count) }));
}

const mine = (l: SubLine, name = user, id = uid): boolean => l.owner === name || l.owner === String(id);

function which(name: string, path = env.PATH!): string | null {
  for (const dir of path.split(delimiter)) if (existsSync(join(dir, name))) return join(dir, name);
  return null;
}

/** The first id after every range of both files: where a new range goes. */
function freeStart(): number {
  return Math.max(100000, ...[...subLines('/etc/subuid'), ...subLines('/etc/subgid')].map((l) => l.start + l.count));
}

interface Info {
  host: {
    userNamespaces: Record<string, unknown>;
    idMappings: Record<string, unknown>;
    cgroups: { version: string; ownCgroup: string; limits: string };
    networkTools: Record<string, string | null>;
  };
  store: { graphRoot: string; runRoot: string; graphFilesystem: { type: string; problem: string | null } };
}

async function info(e = env): Promise<Info> {
  const result = await nook(['info', '--format', 'json'], { env: e });
  expect(result.status, show(result)).toBe(0);
  return JSON.parse(result.stdout) as Info;
}

describe('nook info --format json reports what is true here', () => {
  it('says whether user namespaces are allowed, from the sysctls in /proc/sys', async () => {
    const settings = {
      unprivilegedUsernsClone: sysctl('/proc/sys/kernel/unprivileged_userns_clone'),
      maxUserNamespaces: sysctl('/proc/sys/user/max_user_namespaces'),
      apparmorRestrict: sysctl('/proc/sys/kernel/apparmor_restrict_unprivileged_userns'),
    };
    const allowed = settings.unprivilegedUsernsClone !== 0 && settings.maxUserNamespaces !== 0 && settings.apparmorRestrict !== 1;
    expect((await info()).host.userNamespaces).toEqual({ allowed, ...settings, problems: allowed ? [] : expect.any(Array) });
  });

  it("gives the user's subordinate ranges from /etc/subuid and /etc/subgid, their size and overlaps, and the helpers", async () => {
    const { idMappings } = (await info()).host;
    for (const [key, file] of [['subuid', '/etc/subuid'], ['subgid', '/etc/subgid']] as const) {
      const lines = subLines(file);
      const own = lines.filter((l) => mine(l));
      const overlaps = lines.filter((l) => !mine(l) && own.some((m) => l.start < m.start + m.count && m.start < l.start + l.count));
      expect(idMappings[key]).toEqual({
        file,
        ranges: own.map(({ start, count }) => ({ start, count })),
        size: own.reduce((n, l) => n + l.count, 0),
        overlaps,
      });
    }
    for (const helper of ['newuidmap', 'newgidmap']) {
      const path = which(helper);
      const st = path === null ? null : statSync(path);
      expect(idMappings[helper]).toEqual({ path, setuidRoot: st !== null && st.uid === 0 && (st.mode & 0o4000) !== 0 });
    }
    expect(idMappings).toMatchObject({ user, uid, gid: process.getgid!(), warning: null });
  });

  it('gives the cgroup layout of /proc/self/mountinfo and the cgroup of /proc/self/cgroup', async () => {
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' '));
    const fstype = (point: string): string | undefined => mounts.filter((f) => f[4] === point).map((f) => f[f.indexOf('-') + 1]).pop();
    const version = fstype('/sys/fs/cgroup') === 'cgroup2' ? 'v2' : fstype('/sys/fs/cgroup/unified') === 'cgroup2' ? 'hybrid' : 'v1';
    const own = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.startsWith('0::'))!.slice(3);
    const { cgroups } = (await info()).host;
    expect(cgroups).toMatchObject({ version, ownCgroup: own });
    // Where the unified hierarchy lacks the controllers, nothing can enforce a limit.
    if (version !== 'v2') expect(cgroups.limits).toMatch(/^not enforced: .+\. Fix: .+/);
  });

  it("names the store's filesystem as mountinfo has it, and the network tools on PATH", async () => {
    const result = await info();
    const root = realpathSync(result.store.graphRoot);
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter(Boolean).map((l) => l.split(' '));
    const over = mounts.filter((f) => root === f[4] || root.startsWith(f[4] === '/' ? '/' : `${f[4]}/`));
    const longest = over.reduce((a, b) => (b[4]!.length >= a[4]!.length ? b : a));
    expect(result.store.graphFilesystem).toMatchObject({ type: longest[longest.indexOf('-') + 1] });
    expect(result.host.networkTools).toEqual({ pasta: which('pasta'), slirp4netns: which('slirp4netns') });
  });
});

/** stderr's lines. */
const lines = (r: NookResult): string[] => r.stderr.split('\n').filter(Boolean);

describe('resource limits', () => {
  let enforced: boolean;
  let reason: string;
  beforeAll(async () => {
    const limits = (await info()).host.cgroups.limits;
    enforced = limits.startsWith('enforced');
    reason = limits.replace(/^not enforced: /, '');
  });

  it('--memory: on a host that cannot enforce it, one warning with the reason and the fix; it runs; inspect says so', async () => {
    const result = await nook(['run', '--name', 'mem', '--memory', '64m', '--rootfs', rootfs, '--', 'sh', '-c', 'echo ran'], { env });
    expect(result.status, show(result)).toBe(0);
    expect(result.stdout).toBe('ran\n');
    const inspected = await nook(['inspect', '-f', '{{.HostConfig.Memory}}|{{json .Limits}}', 'mem'], { env });
    expect(inspected.status, show(inspected)).toBe(0);
    const [memory, limits] = inspected.stdout.trim().split('|');
    expect(memory).toBe(String(64 * 1024 * 1024));
    if (enforced) {
      expect(result.stderr).toBe('');
      expect(JSON.parse(limits!)).toMatchObject({ Requested: ['--memory'], Enforced: true });
    } else {
      const [why, fix] = reason.split('. Fix: ');
      expect(lines(result)).toEqual([`WARN: --memory not enforced: ${why}; running without it. Fix: ${fix}`]);
      expect(JSON.parse(limits!)).toEqual({ Requested: ['--memory'], Enforced: false, Cgroup: '', SystemdUnit: '', Reason: reason });
    }
    expect((await nook(['rm', 'mem'], { env })).status).toBe(0);
  });

  it('--pids-limit likewise: said once, loudly, and more processes than the limit run', async () => {
    if (enforced) {
      // The container's cgroup is the root of its cgroup namespace, mounted at /sys/fs/cgroup.
      const limited = await nook(['run', '--rm', '--pids-limit', '5', '--rootfs', rootfs, '--', 'cat', '/sys/fs/cgroup/pids.max'], { env });
      expect([limited.status, limited.stdout, limited.stderr]).toEqual([0, '5\n', '']);
      return;
    }
    const script = 'for i in 1 2 3 4 5 6 7 8; do sleep 30 & done; ls -d /proc/[0-9]* | wc -l';
    const result = await nook(['run', '--rm', '--pids-limit', '5', '--memory', '32m', '--rootfs', rootfs, '--', 'sh', '-c', script], { env });
    expect(result.status, show(result)).toBe(0);
    expect(Number(result.stdout.trim())).toBeGreaterThanOrEqual(9);
    expect(lines(result)).toHaveLength(1);
    expect(lines(result)[0]).toMatch(/^WARN: --memory, --pids-limit not enforced: .+; running without them\. Fix: .+/);
  });

  it('--ulimit nofile=123:123 is what the container gets, and what exec gets', async () => {
    const result = await nook(['run', '--rm', '--ulimit', 'nofile=123:123', '--ulimit', 'nproc=50:60', '--rootfs', rootfs, '--', 'sh', '-c', 'ulimit -n; ulimit -Hn; grep -E "^Max (open files|processes)" /proc/self/limits'], { env });
    expect(result.status, show(result)).toBe(0);
    const [soft, hard, ...limits] = result.stdout.trim().split('\n');
    expect([soft, hard]).toEqual(['123', '123']);
    expect(limits.map((l) => l.split(/\s{2,}/).slice(0, 3))).toEqual([
      ['Max processes', '50', '60'],
      ['Max open files', '123', '123'],
    ]);
    expect(result.stderr).toBe('');
    const started = await nook(['run', '-d', '--name', 'ulim', '--ulimit', 'nofile=200:300', '--rootfs', rootfs, '--', 'sleep', '30'], { env });
    expect(started.status, show(started)).toBe(0);
    const exec = await nook(['exec', 'ulim', 'sh', '-c', 'ulimit -n; ulimit -Hn'], { env });
    expect(exec.stdout).toBe('200\n300\n');
    expect((await nook(['rm', '-f', '-t', '0', 'ulim'], { env })).status).toBe(0);
  });

  it('--ulimit past the hard limit nook has fails with the way out', async () => {
    const hard = Number(/^Max open files\s+\d+\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))![1]);
    const result = await nook(['run', '--rm', '--ulimit', `nofile=${hard + 1}`, '--rootfs', rootfs, '--', 'true'], { env });
    expect(result.status, show(result)).toBe(125);
    expect(lines(result)).toEqual([
      'Error: cannot set --ulimit nofile: operation not permitted (EPERM) (hint: a hard limit cannot be raised above nook\'s own without privileges: see "ulimit -H -a", and raise it in /etc/security/limits.conf)',
    ]);
  });

  it('--oom-score-adj raises the score; lowering it fails with the way out', async () => {
    const result = await nook(['run', '--rm', '--oom-score-adj', '500', '--rootfs', rootfs, '--', 'cat', '/proc/self/oom_score_adj'], { env });
    expect(result.status, show(result)).toBe(0);
    expect(result.stdout).toBe('500\n');
    const own = Number(readFileSync('/proc/self/oom_score_adj', 'utf8'));
    const lower = await nook(['run', '--rm', '--oom-score-adj', String(own - 1), '--rootfs', rootfs, '--', 'true'], { env });
    expect(lower.status, show(lower)).toBe(125);
    expect(lower.stderr).toContain(`cannot set --oom-score-adj ${own - 1}: permission denied (EACCES) (hint: rootless, the score can only be raised`);
  });

  it('nook stats reads a running container from /proc when it has no cgroup of its own', async () => {
    const started = await nook(['run', '-d', '--name', 'busy', '--rootfs', rootfs, '--', 'sh', '-c', 'sleep 30 & sleep 30 & wait'], { env });
    expect(started.status, show(started)).toBe(0);
    const stats = await nook(['stats', '--no-stream', '--format', 'json', 'busy'], { env });
    expect(stats.status, show(stats)).toBe(0);
    const [row] = JSON.parse(stats.stdout) as Record<string, unknown>[];
    expect(row).toMatchObject({ id: started.stdout.trim().slice(0, 12), name: 'busy', pids: 3, source: enforced ? 'cgroup' : 'proc' });
    expect(row!.mem_usage).toBeGreaterThan(0);
    expect((await nook(['rm', '-f', '-t', '0', 'busy'], { env })).status).toBe(0);
  });
});

describe('the runtime puts the container in the cgroup the plan names', () => {
  const RUNTIME = join(import.meta.dirname, '..', '..', 'native', 'build', 'nook-runtime');
  const netstrings = (fields: readonly string[]): string => fields.map((f) => `${Buffer.byteLength(f)}:${f},`).join('');

  function runPlan(cgroup: string): { status: number | null; stdout: string; report: string[] } {
    const planFile = join(tmp.path, 'cgroup-plan');
    const reportFile = join(tmp.path, 'cgroup-report');
    const map = `0 ${uid} 1`;
    const script = 'echo $$; readlink /proc/self/ns/cgroup';
    writeFileSync(planFile, netstrings(['nook-plan', '1', 'namespaces', 'user,cgroup', 'uid-map', '', map, 'gid-map', '', map, 'cgroup', cgroup, 'exec', '3', '/bin/sh', '-c', script, '0', 'end']));
    writeFileSync(reportFile, '');
    const fds = [openSync(planFile, 'r'), openSync(reportFile, 'r+')];
    try {
      const result = spawnSync(RUNTIME, [], { stdio: ['ignore', 'pipe', 'pipe', fds[0]!, fds[1]!], env: {}, encoding: 'utf8' });
      return { status: result.status, stdout: result.stdout, report: decodeNetstrings(readFileSync(reportFile)) ?? [] };
    } finally {
      fds.forEach((fd) => closeSync(fd));
    }
  }

  it('writes its pid to cgroup.procs before it runs, and it roots its own cgroup namespace there', () => {
    // A directory shaped like a cgroup: this host's unified hierarchy has no cgroup of the user's.
    const cgroup = mkdtempSync(join(tmp.path, 'cgroup-'));
    writeFileSync(join(cgroup, 'cgroup.procs'), '');
    const result = runPlan(cgroup);
    expect(result.status, JSON.stringify(result)).toBe(0);
    const [pid, ns] = result.stdout.trim().split('\n');
    expect(readFileSync(join(cgroup, 'cgroup.procs'), 'utf8')).toBe(pid);
    expect(ns).toMatch(/^cgroup:\[\d+\]$/);
    expect(ns).not.toBe(readlinkSync('/proc/self/ns/cgroup'));
  });

  it('fails the start, naming the record, when the cgroup cannot be joined', () => {
    const result = runPlan(join(tmp.path, 'no-such-cgroup'));
    expect(result.status).toBe(125);
    expect(result.report).toEqual(['error', '3', 'cgroup', '2', join(tmp.path, 'no-such-cgroup', 'cgroup.procs')]);
    expect(result.stdout).toBe('');
  });
});

describe('id maps without a subordinate range', () => {
  /** A PATH holding only node (nook's interpreter) and what else is asked for. */
  function pathWith(tools: readonly string[]): string {
    const bin = mkdtempSync(join(tmp.path, 'bin-'));
    symlinkSync(process.execPath, join(bin, 'node'));
    for (const tool of tools) symlinkSync(which(tool)!, join(bin, tool));
    return bin;
  }

  /** An account of the host with no line in /etc/subuid or /etc/subgid (by name or uid). */
  function accountWithoutRange(): { name: string; uid: number; gid: number } {
    const ranges = [...subLines('/etc/subuid'), ...subLines('/etc/subgid')];
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , u, g] = line.split(':');
      const id = Number(u);
      if (!name || !(id > 0) || id === 65534 || id === uid || ranges.some((l) => mine(l, name, id))) continue;
      return { name, uid: id, gid: Number(g) };
    }
    throw new Error('/etc/passwd has no account without a subordinate range');
  }

  const SINGLE = 'using a single-id map (only container root exists; the files of other ids in an image are given to it)';

  it('runs a user with no line in /etc/subuid with a single-id map and one warning that gives the usermod line', async () => {
    // That user's uid, in a user namespace of the test's own: the kernel says who nook
    // runs as, and nook reads the real /etc/passwd and /etc/subuid for it.
    const account = accountWithoutRange();
    const args = ['--user', `--map-user=${account.uid}`, `--map-group=${account.gid}`, '--', NOOK_BIN, 'run', '--rm', '--rootfs', rootfs, '--', 'cat', '/proc/self/uid_map'];
    const r = spawnSync('unshare', args, { env, encoding: 'utf8' });
    const result: NookResult = { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
    expect(result.status, show(result)).toBe(0);
    expect(result.stdout.trim().split(/\s+/).map(Number)).toEqual([0, account.uid, 1]);
    const start = freeStart();
    const range = `${start}-${start + 65535}`;
    expect(lines(result)).toEqual([
      `WARN: no subordinate id range for ${account.name} in /etc/subuid: ${SINGLE}. Fix (as root): usermod --add-subuids ${range} --add-subgids ${range} ${account.name}`,
    ]);
  });

  it('does the same, with the package to install, when newuidmap is not on PATH', async () => {
    // No network: that PATH has no pasta either, whose warning is another test's.
    const result = await nook(['run', '--rm', '--network', 'none', '--rootfs', rootfs, '--', 'cat', '/proc/self/uid_map'], { env: { ...env, PATH: pathWith([]) } });
    expect(result.status, show(result)).toBe(0);
    expect(result.stdout.trim().split(/\s+/).map(Number)).toEqual([0, uid, 1]);
    expect(lines(result)).toEqual([`WARN: newuidmap is not installed: ${SINGLE}. Fix: install the package uidmap (Debian, Ubuntu) or shadow-utils (Fedora, RHEL)`]);
  });

  it('fails an image with a file owned by uid 70000, past the range, with the exact usermod line, keeping nothing of it', async () => {
    const size = Math.min(...['/etc/subuid', '/etc/subgid'].map((f) => subLines(f).filter((l) => mine(l)).reduce((n, l) => n + l.count, 0)));
    if (size >= 70000) throw new Error(`the test user's range (${size} ids) must be smaller than 70000 for this test`);
    const tar = join(tmp.path, 'big-owner.tar');
    writeFileSync(tar, tarball([{ type: 'dir', path: 'bin' }, { type: 'file', path: 'etc-file', body: 'x', uid: 70000, gid: 70000 }], { gzip: false }));
    const result = await nook(['import', tar, 'big'], { env });
    expect(result.status, show(result)).toBe(125);
    const start = freeStart();
    const extra = Math.ceil((70000 - size) / 65536) * 65536;
    const range = `${start}-${start + extra - 1}`;
    expect(lines(result)).toHaveLength(1);
    expect(lines(result)[0]).toMatch(new RegExp(`^Error: layer \\S+ needs container ids up to 70000, but your subordinate range gives ${size + 1} \\(.+\\); nothing of it was kept`));
    expect(lines(result)[0]).toContain(`(hint: give ${user} more subordinate ids, as root: usermod --add-subuids ${range} --add-subgids ${range} ${user})`);
    const images = await nook(['images', '--format', 'json'], { env });
    expect(JSON.parse(images.stdout)).toEqual([]);
    const layers = join(env.XDG_DATA_HOME!, 'nook', 'layers');
    expect(existsSync(layers) ? readdirSync(layers) : []).toEqual([]);
  });

  it('gives the files of such an image to container root with a single-id map instead (one warning)', async () => {
    const tar = join(tmp.path, 'big-owner.tar');
    const result = await nook(['import', tar, 'squashed'], { env: { ...env, PATH: pathWith([]) } });
    expect(result.status, show(result)).toBe(0);
    expect(lines(result)).toHaveLength(1);
    expect((await nook(['rmi', 'squashed'], { env: { ...env, PATH: pathWith([]) } })).status).toBe(0);
  });
});

describe('without XDG_RUNTIME_DIR (su, sudo -u, cron, CI)', () => {
  it('runs, lists and removes containers without a word of warning, in a private dir of its own', async () => {
    const bare = { ...env };
    delete bare.XDG_RUNTIME_DIR;
    const run = await nook(['run', '--name', 'noxdg', '--rootfs', rootfs, '--', 'sh', '-c', 'echo hi'], { env: bare });
    expect([run.status, run.stdout, run.stderr]).toEqual([0, 'hi\n', '']);
    const detached = await nook(['run', '-d', '--name', 'noxdg-d', '--rootfs', rootfs, '--', 'sleep', '30'], { env: bare });
    expect([detached.status, detached.stderr]).toEqual([0, '']);
    const ps = await nook(['ps', '-a', '--format', '{{.Names}} {{.Status}}'], { env: bare });
    expect(ps.stderr).toBe('');
    expect(ps.stdout.split('\n').filter((l) => l.startsWith('noxdg')).sort()).toEqual([expect.stringMatching(/^noxdg Exited \(0\)/), expect.stringMatching(/^noxdg-d Up /)]);
    const rm = await nook(['rm', '-f', '-t', '0', 'noxdg', 'noxdg-d'], { env: bare });
    expect([rm.status, rm.stdout, rm.stderr]).toEqual([0, 'noxdg\nnoxdg-d\n', '']);
    const runRoot = (await info(bare)).store.runRoot;
    const logind = `/run/user/${uid}`;
    const expected = existsSync(logind) && statSync(logind).uid === uid ? join(logind, 'nook') : `/tmp/nook-${uid}`;
    expect(runRoot).toBe(expected);
    const st = statSync(runRoot);
    expect([st.uid, st.mode & 0o777, st.isDirectory()]).toEqual([uid, 0o700, true]);
  });
});
