import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { compilePlan } from '../../src/plan/compile.js';
import { buildStep, explainPlan, shellQuote } from '../../src/plan/explain.js';
import type { Op } from '../../src/plan/ops.js';
import { makeSpec, ROOTFS, SINGLE_MAP } from './spec-fixture.js';

/** What a POSIX shell makes of `words` after quoting: each word printed NUL-terminated. */
function shellWords(words: readonly string[]): string[] {
  const script = `printf '%s\\0' ${words.map(shellQuote).join(' ')}`;
  const out = execFileSync('sh', ['-c', script], { encoding: 'utf8', env: { HOME: '/nonexistent', PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  return out.split('\0').slice(0, -1);
}

describe('shellQuote', () => {
  it('leaves plain words alone', () => {
    for (const word of ['mount', '/proc', '-o', 'nosuid,nodev', 'mode=1777', 'a+b@c%d:e']) expect(shellQuote(word)).toBe(word);
  });

  it('quotes spaces, empty words and single quotes', () => {
    expect(shellQuote('exit 1')).toBe("'exit 1'");
    expect(shellQuote('')).toBe("''");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
  });

  it('survives a real shell unchanged', () => {
    const words = ['exit 1', '', "it's", "''", '"double"', '$HOME', '`id`', '$(id)', 'a\\b', 'line\nbreak', '*', '~', '#x', 'a;b', 'a|b', '&', '<x>', '!', 'tab\there', 'é 日本'];
    expect(shellWords(words)).toEqual(words);
  });
});

describe('explainPlan', () => {
  const plan = compilePlan(makeSpec({ readOnly: true }));
  const lines = explainPlan(plan);
  const lineOf = (match: (op: (typeof plan)[number]) => boolean): string => lines[plan.findIndex(match)]!;

  it('renders one line per op', () => {
    expect(lines).toHaveLength(plan.length);
    for (const line of lines) expect(line).not.toContain('\n');
  });

  it('shows pivot_root at the pivot-root op, entering the rootfs', () => {
    const at = plan.findIndex((op) => op.op === 'pivot-root');
    expect(lines.filter((l) => l.includes('pivot_root'))).toHaveLength(1);
    expect(lines[at]).toContain('pivot_root');
    expect(lines[at]).toContain(`cd ${ROOTFS}`);
  });

  it('shows container paths under the rootfs before pivot-root', () => {
    expect(lineOf((op) => op.op === 'mkdir' && op.path === '/proc')).toBe(`mkdir -p -m 755 ${ROOTFS}/proc`);
    expect(lineOf((op) => op.op === 'mount' && op.path === '/proc')).toBe(`mount -t proc -o nosuid,nodev,noexec proc ${ROOTFS}/proc`);
    expect(lineOf((op) => op.op === 'remount-ro' && op.path === '/')).toBe(`mount -o remount,bind,ro ${ROOTFS}`);
  });

  it('shows container paths as the container sees them after pivot-root', () => {
    expect(lineOf((op) => op.op === 'mask' && op.path === '/proc/kcore')).toMatch(/^mount --bind \/dev\/null \/proc\/kcore\b/);
    expect(lineOf((op) => op.op === 'remount-ro' && op.path === '/proc/sys')).toMatch(/^mount -o remount,bind,ro \/proc\/sys\b/);
    const afterPivot = lines.slice(plan.findIndex((op) => op.op === 'pivot-root') + 1);
    for (const line of afterPivot) expect(line).not.toContain(ROOTFS);
  });

  it('does not double the slash of a rootfs given with a trailing one', () => {
    const out = explainPlan(compilePlan(makeSpec({ rootfs: { kind: 'directory', path: `${ROOTFS}/` } })));
    expect(out).toContain(`mkdir -p -m 755 ${ROOTFS}/proc`);
    expect(out.join('\n')).not.toContain(`${ROOTFS}//`);
  });

  it('quotes the command and environment of exec', () => {
    const out = explainPlan([{ op: 'exec', argv: ['sh', '-c', 'exit 1'], env: ['A=b c'] }]);
    expect(out).toEqual(["exec env -i 'A=b c' sh -c 'exit 1'"]);
  });

  it('explains id maps with the helper, or written directly with setgroups denied', () => {
    expect(lineOf((op) => op.op === 'uid-map')).toMatch(/^newuidmap \$PID 0 1000 1 1 100000 65536\b/);
    const single = explainPlan([{ op: 'gid-map', map: SINGLE_MAP(1000) }])[0]!;
    expect(single).toMatch(/^echo deny > \/proc\/\$PID\/setgroups && echo '0 1000 1' > \/proc\/\$PID\/gid_map/);
  });

  it('names the kept capabilities', () => {
    const bounding = lineOf((op) => op.op === 'cap-bounding');
    expect(bounding).toContain('--bounding-set=-all,+chown,');
    expect(bounding).toContain('+sys_chroot');
    expect(bounding).not.toContain('sys_admin');
  });
});

describe('explainPlan of a volume', () => {
  it('shows the bind with its flags and propagation', () => {
    const [line] = explainPlan([{ op: 'bind', source: '/h', path: '/a', flags: ['rec', 'ro', 'nosuid', 'slave', 'create-dir'] }]);
    expect(line).toBe('mkdir -p /a && mount --rbind /h /a && mount -o remount,bind,ro,nosuid /a && mount --make-rslave /a');
  });
});

describe('buildStep', () => {
  it("numbers a start plan's ops as the lines of run --explain, which leaves out the monitor's records", () => {
    const build = compilePlan(makeSpec({ tty: true, init: true }));
    const monitor: Op[] = [
      { op: 'state', path: '/s/state' },
      { op: 'stdio', tty: true, stdin: true, log: '/s/ctr.log' },
      { op: 'restart', policy: 'always', maxRetries: 0, stopFile: '/s/stop' },
      { op: 'detach' },
      { op: 'exit-command', argv: ['/usr/bin/node', 'nook', 'rm', 'c0ffee'], env: [] },
    ];
    const start = [...monitor, ...build];
    const listed = explainPlan(build);
    const rendered = explainPlan(start);
    for (let i = 0; i < monitor.length; i++) expect(buildStep(start, i)).toBeNull();
    for (let i = monitor.length; i < start.length; i++) expect(listed[buildStep(start, i)! - 1]).toBe(rendered[i]);
    expect(buildStep(start, start.length)).toBeNull();
  });
});
