import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname as hostHostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASKED_PATHS } from '../../src/plan/hardening.js';
import { nook, show, waitFor, type NookResult, busyboxWorkspace } from '../helpers/nook.js';
import { APP_UID, makeBusyboxRootfs } from '../helpers/rootfs.js';
import { subordinateRange, subordinateStart } from '../helpers/subids.js';

let tmp: { path: string; cleanup: () => void };
let env: NodeJS.ProcessEnv;
let rootfs: string;

beforeAll(() => {
  ({ tmp, env, rootfs } = busyboxWorkspace('run'));
});
afterAll(() => tmp.cleanup());

/** Runs `sh -c SCRIPT` in the busybox container and expects exit 0. */
async function sh(script: string, flags: readonly string[] = []): Promise<string> {
  const result = await nook(['run', '--rm', '--rootfs', rootfs, ...flags, '--', 'sh', '-c', script], { env });
  expect(result.status, show(result)).toBe(0);
  return result.stdout;
}

function containerStateLeft(): string[] {
  const dir = join(env.XDG_DATA_HOME!, 'nook', 'containers');
  return existsSync(dir) ? readdirSync(dir) : [];
}

describe('namespaces', () => {
  it('runs the command as PID 1 and hides the host processes', async () => {
    const out = await sh('echo "pid=$$"; ls /proc | grep -E "^[0-9]+$" | sort -n | tr "\\n" " "');
    expect(out).toContain('pid=1\n');
    const pids = out.split('\n')[1]!.trim().split(' ').map(Number);
    expect(pids[0]).toBe(1);
    // sh, and the pipeline's ls/grep/sort/tr: nothing from the host.
    expect(pids.length).toBeLessThanOrEqual(6);
  });

  it('has its own hostname and leaves the host one alone', async () => {
    const before = hostHostname();
    expect(await sh('hostname; cat /etc/hostname', ['--hostname', 'box'])).toBe('box\nbox\n');
    expect(hostHostname()).toBe(before);
  });

  it('maps container ids onto the user and the subordinate range', async () => {
    const uidMap = (await sh('cat /proc/self/uid_map')).trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number));
    const gidMap = (await sh('cat /proc/self/gid_map')).trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number));
    expect(uidMap).toEqual([
      [0, process.getuid!(), 1],
      [1, subordinateStart('/etc/subuid'), subordinateRange('/etc/subuid').count],
    ]);
    expect(gidMap).toEqual([
      [0, process.getgid!(), 1],
      [1, subordinateStart('/etc/subgid'), subordinateRange('/etc/subgid').count],
    ]);
  });

  it('makes files of container root belong to the user, and those of other ids to the subordinate range', async () => {
    await sh('touch /tmp/by-root');
    await sh('touch /tmp/by-app', ['-u', 'app']);
    expect(statSync(join(rootfs, 'tmp', 'by-root')).uid).toBe(process.getuid!());
    expect(statSync(join(rootfs, 'tmp', 'by-app')).uid).toBe(subordinateStart('/etc/subuid') + APP_UID - 1);
  });

  it('has only an up loopback interface with --network none', async () => {
    const out = await sh('ls /sys/class/net; cat /sys/class/net/lo/flags', ['--network', 'none']);
    expect(out).toBe('lo\n0x9\n');
  });

  it('shares the host network with --network host', async () => {
    const out = await sh('ls /sys/class/net', ['--network', 'host']);
    expect(out.trim().split('\n').sort()).toEqual(readdirSync('/sys/class/net').sort());
  });
});

describe('id map fallbacks', () => {
  /** A PATH holding only node (nook's interpreter) and the given fake tools. */
  function pathWith(tools: Record<string, string>): string {
    const bin = mkdtempSync(join(tmp.path, 'bin-'));
    symlinkSync(process.execPath, join(bin, 'node'));
    for (const [name, script] of Object.entries(tools)) {
      writeFileSync(join(bin, name), `#!/bin/sh\n${script}\n`);
      chmodSync(join(bin, name), 0o755);
    }
    return bin;
  }

  it('uses a single-id map, and says so once, without newuidmap', async () => {
    const result = await nook(['run', '--rm', '--rootfs', rootfs, 'cat', '/proc/self/uid_map'], { env: { ...env, PATH: pathWith({}) } });
    expect(result.status, show(result)).toBe(0);
    expect(result.stdout.trim().split(/\s+/).map(Number)).toEqual([0, process.getuid!(), 1]);
    expect(result.stderr.match(/WARN: newuidmap is not installed/g)).toHaveLength(1);
  });

  for (const failing of ['newuidmap', 'newgidmap'] as const) {
    it(`reports what ${failing} said when it fails`, async () => {
      const real = { newuidmap: 'exec /usr/bin/newuidmap "$@"', newgidmap: 'exec /usr/bin/newgidmap "$@"' };
      const bin = pathWith({ ...real, [failing]: `echo "${failing}: refused by the test" >&2; exit 1` });
      const result = await nook(['run', '--rm', '--rootfs', rootfs, 'true'], { env: { ...env, PATH: bin } });
      expect(result.status, show(result)).toBe(125);
      expect(result.stderr).toContain(`cannot set up the container's ${failing === 'newuidmap' ? 'user' : 'group'} ids: ${failing}: refused by the test`);
      expect(containerStateLeft()).toEqual([]);
    });
  }
});

describe('filesystem view', () => {
  it('shows nothing outside the rootfs', async () => {
    const outside = join(tmp.path, 'outside-marker');
    writeFileSync(outside, 'host');
    const out = await sh(`test -e ${outside} && echo visible || echo hidden; ls /`);
    expect(out.split('\n')[0]).toBe('hidden');
    const entries = out.split('\n').slice(1).filter(Boolean).sort();
    expect(entries).toEqual(readdirSync(rootfs).sort());
  });

  it('writes /tmp into the rootfs, not into the host /tmp', async () => {
    const name = `nook-marker-${process.pid}-${Date.now()}`;
    await sh(`echo inside > /tmp/${name}`);
    expect(existsSync(join('/tmp', name))).toBe(false);
    expect(readFileSync(join(rootfs, 'tmp', name), 'utf8')).toBe('inside\n');
  });

  it('builds /dev from a tmpfs, host device nodes and its own devpts', async () => {
    const out = await sh('ls /dev | tr "\\n" " "; echo; readlink /dev/ptmx; readlink /dev/fd; head -c 4 /dev/zero | wc -c; grep -E " /dev(/pts|/shm|/mqueue)? " /proc/mounts | cut -d" " -f3 | tr "\\n" " "');
    const [devList, ptmx, fd, zero, types] = out.split('\n');
    for (const node of ['null', 'zero', 'full', 'random', 'urandom', 'tty', 'pts', 'shm', 'mqueue', 'ptmx', 'fd', 'stdin', 'stdout', 'stderr']) {
      expect(devList!.split(' ')).toContain(node);
    }
    expect([ptmx, fd]).toEqual(['pts/ptmx', '/proc/self/fd']);
    expect(zero!.trim()).toBe('4');
    expect(types!.trim().split(' ').sort()).toEqual(['devpts', 'mqueue', 'tmpfs', 'tmpfs']);
  });

  it('honours --read-only while keeping /tmp writable', async () => {
    const out = await sh('touch /etc/nope 2>/dev/null && echo wrote-etc || echo etc-ro; touch /tmp/ok && echo tmp-rw', ['--read-only']);
    expect(out).toBe('etc-ro\ntmp-rw\n');
    expect(existsSync(join(rootfs, 'etc', 'nope'))).toBe(false);
  });

  it('passes -e, -w and stdin through', async () => {
    mkdirSync(join(rootfs, 'work'), { recursive: true });
    const result = await nook(['run', '--rm', '-i', '--rootfs', rootfs, '-e', 'GREETING=hi there', '-w', '//work/./', 'sh', '-c', 'echo "$GREETING"; pwd; cat'], {
      env,
      input: 'from stdin\n',
    });
    expect(result.status, show(result)).toBe(0);
    expect(result.stdout).toBe('hi there\n/work\nfrom stdin\n');
  });
});

describe('hardening', () => {
  it('masks every kernel path on the list that exists here', async () => {
    const present = MASKED_PATHS.filter((path) => existsSync(path));
    const files = present.filter((path) => !statSync(path).isDirectory());
    const dirs = present.filter((path) => statSync(path).isDirectory());
    // Both kinds must be exercised, or this test would prove nothing on this host.
    expect(files.length).toBeGreaterThan(0);
    expect(dirs.length).toBeGreaterThan(0);
    const script = [
      // A masked file is the container's /dev/null: what is written to it never reaches the kernel file.
      ...files.map((f) => `echo x > ${f} 2>/dev/null; echo "${f} $(stat -c %t:%T ${f}) $(wc -c < ${f}) $(chmod 600 ${f} 2>/dev/null && echo chmod-ok || echo chmod-refused)"`),
      ...dirs.map((d) => `echo "${d} $(ls -A ${d} | wc -l) $(touch ${d}/x 2>/dev/null && echo written || echo refused)"`),
    ].join('; ');
    const out = await sh(script);
    expect(out.trim().split('\n')).toEqual([...files.map((f) => `${f} 1:3 0 chmod-refused`), ...dirs.map((d) => `${d} 0 refused`)]);
  });

  it('makes /proc/sys, /proc/sysrq-trigger and /sys read-only', async () => {
    const out = await sh(
      [
        'echo 1 > /proc/sysrq-trigger 2>/dev/null && echo sysrq-written || echo sysrq-refused',
        'echo nook > /proc/sys/kernel/domainname 2>/dev/null && echo sys-written || echo sys-refused',
        'touch /sys/nook 2>/dev/null && echo sysfs-written || echo sysfs-refused',
        'grep -E " /(sys|proc/sys|sys/fs/cgroup) " /proc/mounts | cut -d" " -f2,4 | cut -d, -f1',
      ].join('; '),
    );
    expect(out.trim().split('\n')).toEqual(['sysrq-refused', 'sys-refused', 'sysfs-refused', '/sys ro', '/sys/fs/cgroup ro', '/proc/sys ro']);
  });

  it("keeps podman's default capabilities and nothing inheritable or ambient", async () => {
    const out = await sh('grep -E "^(CapInh|CapPrm|CapEff|CapAmb|NoNewPrivs)" /proc/self/status');
    expect(out).toMatch(/CapInh:\s+0000000000000000/);
    expect(out).toMatch(/CapPrm:\s+00000000800405fb/);
    expect(out).toMatch(/CapEff:\s+00000000800405fb/);
    expect(out).toMatch(/CapAmb:\s+0000000000000000/);
    expect(out).toMatch(/NoNewPrivs:\s+0/);
  });

  it('sets no_new_privs with --security-opt no-new-privileges', async () => {
    expect(await sh('grep NoNewPrivs /proc/self/status', ['--security-opt', 'no-new-privileges'])).toMatch(/NoNewPrivs:\s+1/);
  });

  it('leaks no file descriptors into the container', async () => {
    const result = await nook(['run', '--rm', '--rootfs', rootfs, 'ls', '/proc/self/fd'], { env });
    expect(result.status, show(result)).toBe(0);
    expect(result.stdout.trim().split('\n')).toEqual(['0', '1', '2', '3']);
  });

  it('runs as another user with -u, with no capabilities left', async () => {
    const out = await sh('id -u; id -g; id -G; echo $HOME; grep CapEff /proc/self/status', ['-u', 'app']);
    expect(out).toMatch(/^1000\n1000\n1000 2000\n\/home\/app\nCapEff:\s+0000000000000000\n$/);
    expect(await sh('id -u; id -g', ['-u', '1234:55'])).toBe('1234\n55\n');
  });
});

describe('exit codes and signals', () => {
  async function status(args: readonly string[]): Promise<NookResult> {
    return nook(['run', '--rm', '--rootfs', rootfs, ...args], { env });
  }

  it("returns the container's exit code", async () => {
    expect((await status(['true'])).status).toBe(0);
    expect((await status(['sh', '-c', 'exit 42'])).status).toBe(42);
  });

  it('returns 127 for a command that does not exist', async () => {
    const result = await status(['no-such-command']);
    expect(result.status, show(result)).toBe(127);
    expect(result.stderr).toMatch(/"no-such-command" not found/);
  });

  it('returns 126 for a command that cannot be executed', async () => {
    writeFileSync(join(rootfs, 'bin', 'not-executable'), '#!/bin/sh\necho no\n');
    chmodSync(join(rootfs, 'bin', 'not-executable'), 0o644);
    const result = await status(['/bin/not-executable']);
    expect(result.status, show(result)).toBe(126);
    expect(result.stderr).toMatch(/cannot execute "\/bin\/not-executable"/);
  });

  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    it(`relays ${signal} sent to nook to the container`, async () => {
      const script = `trap "echo got-${signal}; exit 7" ${signal.slice(3)}; echo ready; sleep 60 & wait`;
      const result = await nook(['run', '--rm', '--rootfs', rootfs, 'sh', '-c', script], {
        env,
        onSpawn: (child, stdout) => {
          void waitFor(() => stdout().includes('ready'), 'the container to start').then(() => child.kill(signal));
        },
      });
      expect(result.status, show(result)).toBe(7);
      expect(result.stdout).toBe(`ready\ngot-${signal}\n`);
    });
  }
});

describe('--init', () => {
  it('runs a reaper as PID 1 with the command as its child', async () => {
    expect(await sh('echo "pid=$$"; cat /proc/1/comm', ['--init'])).toBe('pid=2\nnook-init\n');
  });

  it('reaps orphans the command leaves behind', async () => {
    // The inner shell exits at once; its sleep is orphaned, reparented to PID 1 (nook-init),
    // and ends. Only a reaped process leaves /proc: an unreaped one stays a zombie for good,
    // and the loop (and the test) never ends.
    const script = 'sh -c "sleep 0.2 & echo \\$! > /tmp/orphan"; pid=$(cat /tmp/orphan); while [ -e /proc/$pid ]; do sleep 0.05; done; echo "reaped $pid"';
    const out = await sh(script, ['--init']);
    expect(out).toMatch(/^reaped [0-9]+\n$/);
    // PID 1 is nook-init and the command sh is PID 2: the orphan was another process.
    expect(Number(out.split(' ')[1])).toBeGreaterThan(2);
  });

  it('passes a signal on to a command that set no handler for it', async () => {
    const result = await nook(['run', '--rm', '--init', '--rootfs', rootfs, 'sh', '-c', 'echo ready; sleep 60'], {
      env,
      onSpawn: (child, stdout) => {
        void waitFor(() => stdout().includes('ready'), 'the container to start').then(() => child.kill('SIGTERM'));
      },
    });
    // sh, PID 2 now, has the default action for SIGTERM: it dies of it.
    expect(result.status, show(result)).toBe(143);
  });
});

describe('when nook itself is killed', () => {
  it('takes the container down with it', async () => {
    const marker = `nook-orphan-check-${process.pid}`;
    // The marker is the shell's $0, so the container's PID 1 carries it in its cmdline.
    const result = await nook(['run', '--rm', '--rootfs', rootfs, 'sh', '-c', 'echo up; sleep 3600', marker], {
      env,
      onSpawn: (child, stdout) => {
        void waitFor(() => stdout().includes('up'), 'the container to start').then(() => child.kill('SIGKILL'));
      },
    });
    expect(result.signal, show(result)).toBe('SIGKILL');
    await waitFor(() => !processRunning(marker), 'the container process to be gone');
  });
});

function processRunning(marker: string): boolean {
  return readdirSync('/proc')
    .filter((p) => /^[0-9]+$/.test(p))
    .some((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker);
      } catch {
        return false;
      }
    });
}

describe('untrusted rootfs paths', () => {
  function hostileRootfs(name: string): { root: string; target: string } {
    const root = makeBusyboxRootfs(join(tmp.path, name));
    const target = join(tmp.path, `${name}-host-target`);
    mkdirSync(target);
    writeFileSync(join(target, 'keep'), 'host data');
    return { root, target };
  }

  for (const dir of ['proc', 'dev', 'sys']) {
    it(`refuses a rootfs whose /${dir} is a symlink to a host path`, async () => {
      const { root, target } = hostileRootfs(`link-${dir}`);
      rmSync(join(root, dir), { recursive: true });
      symlinkSync(target, join(root, dir));
      const result = await nook(['run', '--rm', '--rootfs', root, 'true'], { env });
      expect(result.status, show(result)).toBe(125);
      expect(result.stderr).toMatch(/symlink/);
      expect(readdirSync(target)).toEqual(['keep']);
      expect(readFileSync(join(target, 'keep'), 'utf8')).toBe('host data');
    });
  }

  it('keeps /etc/hosts that links to a host file inside the rootfs', async () => {
    const { root, target } = hostileRootfs('link-hosts');
    const hostFile = join(target, 'keep');
    symlinkSync(hostFile, join(root, 'etc', 'hosts'));
    const result = await nook(['run', '--rm', '--rootfs', root, 'sh', '-c', 'echo pwned > /etc/hosts; cat /etc/hosts'], { env });
    expect(readFileSync(hostFile, 'utf8')).toBe('host data');
    expect(result.stdout).not.toContain('host data');
  });

  it('refuses a working directory that leads out of the rootfs', async () => {
    const result = await nook(['run', '--rm', '--rootfs', rootfs, '-w', '/proc/self/fd/0', 'true'], { env });
    expect(result.status, show(result)).toBe(125);
    expect(result.stderr).toMatch(/working directory/);
  });
});

describe('bad input', () => {
  async function expectRefused(args: readonly string[], message: RegExp): Promise<void> {
    const before = containerStateLeft();
    const result = await nook(args, { env });
    expect(result.status, show(result)).toBe(125);
    expect(result.stderr).toMatch(message);
    // One line: the problem, then the fix.
    expect(result.stderr).toMatch(/^Error: .+ \(hint: .+\)\n$/);
    expect(result.stdout).toBe('');
    expect(containerStateLeft()).toEqual(before);
  }

  it('names a missing rootfs', async () => {
    await expectRefused(['run', '--rootfs', join(tmp.path, 'missing'), 'true'], /rootfs ".*missing" does not exist/);
  });

  it('needs a command when the rootfs has no /bin/sh', async () => {
    const empty = join(tmp.path, 'empty-rootfs');
    mkdirSync(empty, { recursive: true });
    await expectRefused(['run', '--rootfs', empty], /no command given.*no \/bin\/sh/);
  });

  it('names an unknown flag', async () => {
    await expectRefused(['run', '--rootfs', rootfs, '--no-such-flag', 'true'], /unknown option '--no-such-flag'/);
  });

  it('names a bad user', async () => {
    await expectRefused(['run', '--rootfs', rootfs, '-u', 'nosuchuser', 'true'], /unable to find user nosuchuser/);
    await expectRefused(['run', '--rootfs', rootfs, '-u', 'a:b:c', 'true'], /invalid user "a:b:c"/);
    await expectRefused(['run', '--rootfs', rootfs, '-u', '70000', 'true'], /outside the container's id map/);
  });

  it('names a failed step by its line in --explain, whatever the monitor records before it', async () => {
    // A file bound over a directory: the kernel refuses the bind, an op with no message of its own.
    const file = join(tmp.path, 'a-file');
    writeFileSync(file, 'x');
    const args = ['--rootfs', rootfs, '-v', `${file}:/tmp`, '--', 'true'];
    const listing = await nook(['run', '--explain', ...args], { env });
    expect(listing.status, show(listing)).toBe(0);
    const lines = listing.stdout.split('\n');
    const bind = lines.findIndex((line) => line.startsWith(`touch ${rootfs}/tmp && mount --rbind ${file} ${rootfs}/tmp`)) + 1;
    expect(bind).toBeGreaterThan(0);
    // Foreground --rm puts one monitor record before the steps, -d --rm four.
    for (const mode of [['--rm'], ['-d', '--rm']]) {
      const result = await nook(['run', ...mode, ...args], { env });
      expect(result.status, show(result)).toBe(125);
      expect(result.stderr).toMatch(
        new RegExp(`^Error: container setup failed at step ${bind} \\(bind /tmp\\): [a-z ]+ \\(E[A-Z]+\\) \\(hint: run the same command with --explain: step ${bind} is line ${bind} of what it prints\\)\n$`),
      );
    }
  });

  it('prints the plan with --explain and runs nothing', async () => {
    const before = containerStateLeft();
    const result = await nook(['run', '--rootfs', rootfs, '--explain', 'sh', '-c', 'touch /explained'], { env });
    expect(result.status, show(result)).toBe(0);
    expect(result.stdout).toMatch(/^unshare --user --mount --pid/);
    expect(result.stdout).toContain('pivot_root . .');
    expect(result.stdout).toContain(`mount -t proc -o nosuid,nodev,noexec proc ${rootfs}/proc`);
    expect(existsSync(join(rootfs, 'explained'))).toBe(false);
    expect(containerStateLeft()).toEqual(before);
  });
});
