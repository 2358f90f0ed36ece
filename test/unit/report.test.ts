import { describe, expect, it } from 'vitest';
import { ExecError, RootfsError, RuntimeError } from '../../src/errors.js';
import { compilePlan } from '../../src/plan/compile.js';
import { explainPlan } from '../../src/plan/explain.js';
import type { Op } from '../../src/plan/ops.js';
import { reportToError } from '../../src/runtime/report-error.js';
import { decodeNetstrings, decodeReport, errnoMessage, type RuntimeReport } from '../../src/runtime/report.js';
import { makeSpec } from './spec-fixture.js';

const ENOENT = 2;
const EPERM = 1;
const EACCES = 13;
const ELOOP = 40;

const netstrings = (...fields: string[]): Buffer =>
  Buffer.concat(fields.map((f) => Buffer.concat([Buffer.from(`${Buffer.byteLength(f)}:`), Buffer.from(f), Buffer.from(',')])));

describe('decodeNetstrings', () => {
  it('splits well-formed fields, counting bytes', () => {
    expect(decodeNetstrings(Buffer.from('5:error,2:-1,0:,'))).toEqual(['error', '-1', '']);
    expect(decodeNetstrings(Buffer.from('2:é,'))).toEqual(['é']);
    expect(decodeNetstrings(Buffer.from('3:a,b,'))).toEqual(['a,b']);
    expect(decodeNetstrings(Buffer.alloc(0))).toEqual([]);
  });

  it('returns null for truncated input', () => {
    for (const text of ['5:err', '5:error', '5:error,3:ab', '12']) expect(decodeNetstrings(Buffer.from(text)), text).toBeNull();
  });

  it('returns null for a bad length or terminator', () => {
    for (const text of ['x:abc,', ':abc,', '-1:,', '3:abcd,', '2:abc,', '5:error;', ' 5:error,', '123456789:x,']) {
      expect(decodeNetstrings(Buffer.from(text)), text).toBeNull();
    }
  });
});

describe('decodeReport', () => {
  it('reads an error record', () => {
    expect(decodeReport(netstrings('error', '7', 'mount', '40', '/proc'))).toEqual({ opIndex: 7, opName: 'mount', errno: 40, detail: '/proc' });
    expect(decodeReport(netstrings('error', '-1', 'clone', '1', ''))).toEqual({ opIndex: -1, opName: 'clone', errno: 1, detail: '' });
  });

  it('returns null when the runtime reported nothing', () => {
    expect(decodeReport(Buffer.alloc(0))).toBeNull();
  });

  it('turns an unreadable report into a runtime failure that quotes it', () => {
    for (const data of [Buffer.from('garbage'), netstrings('error', '1', 'mount'), netstrings('warning', '1', 'mount', '2', '/x')]) {
      const report = decodeReport(data);
      expect(report).toMatchObject({ opIndex: -1, opName: 'runtime', errno: 0 });
      expect(report!.detail).toContain('unreadable report');
    }
  });
});

describe('reportToError', () => {
  const context = { rootfs: '/srv/rootfs' };
  const report = (opName: string, errno: number, detail: string, opIndex = 5): RuntimeReport => ({ opIndex, opName, errno, detail });

  it('makes a missing command exit 127', () => {
    const err = reportToError(report('exec', ENOENT, 'nosuchcmd'), context);
    expect(err).toBeInstanceOf(ExecError);
    expect(err.exitCode).toBe(127);
    expect(err.message).toContain('nosuchcmd');
  });

  it('makes a command that cannot run exit 126', () => {
    const err = reportToError(report('exec', EACCES, '/etc/passwd'), context);
    expect(err).toBeInstanceOf(ExecError);
    expect(err.exitCode).toBe(126);
    expect(err.message).toContain('EACCES');
  });

  it('blames a symlink for ELOOP on a mount, naming the rootfs', () => {
    const err = reportToError(report('mount', ELOOP, '/proc'), context);
    expect(err).toBeInstanceOf(RootfsError);
    expect(err.exitCode).toBe(125);
    expect(err.message).toMatch(/symlink/);
    expect(err.message).toContain('/proc');
    expect(err.hint).toContain('/srv/rootfs');
  });

  it('points a failed id map at /etc/subuid', () => {
    for (const op of ['uid-map', 'gid-map']) {
      const err = reportToError(report(op, EPERM, 'newuidmap failed', -1), context);
      expect(err).toBeInstanceOf(RuntimeError);
      expect(err.exitCode).toBe(125);
      expect(err.hint).toMatch(/subuid/);
    }
  });

  it("names a start's failed op by its step in run --explain, which leaves out the monitor's records", () => {
    const startPlan: Op[] = [{ op: 'state', path: '/s/state' }, { op: 'detach' }, ...compilePlan(makeSpec())];
    const at = startPlan.findIndex((op) => op.op === 'mount' && op.path === '/dev/pts');
    const err = reportToError(report('mount', EPERM, '/dev/pts', at), { ...context, startPlan });
    expect(err).toBeInstanceOf(RuntimeError);
    expect(err.exitCode).toBe(125);
    expect(err.message).toBe(`container setup failed at step ${at - 1} (mount /dev/pts): operation not permitted (EPERM)`);
    expect(err.hint).toBe(`run the same command with --explain: step ${at - 1} is line ${at - 1} of what it prints`);
    expect(explainPlan(compilePlan(makeSpec()))[at - 2]).toMatch(/^mount -t devpts .* \/srv\/rootfs\/dev\/pts$/);
  });

  it('names the op without a step where no --explain lists it (exec, cp, unshare)', () => {
    const err = reportToError(report('mount', EPERM, '/dev/pts', 9), context);
    expect(err.message).toBe('container setup failed in mount /dev/pts: operation not permitted (EPERM)');
  });

  it("names the user's seccomp profile when a step after it is refused", () => {
    const profile = { ...context, seccompProfile: { path: '/p/deny-setuid.json', opIndex: 30 } };
    const after = reportToError(report('user', EPERM, '', 31), profile);
    expect(after.message).toContain('after the seccomp profile /p/deny-setuid.json was installed');
    expect(after.hint).toMatch(/setresuid/);
    expect(reportToError(report('mount', EPERM, '/x', 20), profile).message).not.toContain('seccomp profile');
    expect(reportToError(report('user', EPERM, '', 31), context).message).not.toContain('seccomp profile');
  });

  it('names a sysctl the kernel does not have, and a refused seccomp filter', () => {
    const sysctl = reportToError(report('sysctl', ENOENT, '/proc/sys/net/ipv4/nonesuch', 40), context);
    expect(sysctl).toBeInstanceOf(RuntimeError);
    expect(sysctl.message).toContain('net/ipv4/nonesuch');
    expect(sysctl.hint).toMatch(/no such parameter/);
    expect(reportToError(report('seccomp', EPERM, 'installing the filter (12 instructions)', 50), context).hint).toMatch(/seccomp=unconfined/);
  });

  it('reports a refused plan and a failed clone as runtime errors', () => {
    expect(reportToError(report('plan', 0, 'unknown op "frob"', -1), context).message).toContain('unknown op "frob"');
    expect(reportToError(report('clone', EPERM, '', -1), context).hint).toMatch(/user namespaces/);
  });
});

describe('errnoMessage', () => {
  it('describes known errnos with their name, and numbers unknown ones', () => {
    expect(errnoMessage(ENOENT)).toMatch(/^.+ \(ENOENT\)$/);
    expect(errnoMessage(ELOOP)).toMatch(/\(ELOOP\)$/);
    expect(errnoMessage(99999)).toBe('errno 99999');
  });
});
