import { describe, expect, it } from 'vitest';
import { compileExecPlan, compilePlan } from '../../src/plan/compile.js';
import { encodePlan, opFields } from '../../src/plan/encode.js';
import { explainPlan } from '../../src/plan/explain.js';
import type { Op } from '../../src/plan/ops.js';
import { makeSpec } from './spec-fixture.js';

const process = { rlimits: [{ name: 'nofile', soft: 123, hard: 'unlimited' }, { name: 'nproc', soft: 10, hard: 20 }], oomScoreAdj: -7 } as const;

describe('per-process limits in the plan', () => {
  const plan = compilePlan(makeSpec({ process }));
  const at = (name: Op['op']): number => plan.findIndex((op) => op.op === name);

  it('sets the oom score from outside, with the launch records, before the first setup op', () => {
    expect(plan.slice(0, 4).map((op) => op.op)).toEqual(['namespaces', 'uid-map', 'gid-map', 'oom-score-adj']);
    expect(opFields(plan[3]!)).toEqual(['-7']);
  });

  it('sets the rlimits after chdir and umask, while the process is still container root with its capabilities', () => {
    const rlimits = plan.flatMap((op, i) => (op.op === 'rlimit' ? [i] : []));
    expect(at('umask')).toBe(at('chdir') + 1);
    expect(rlimits).toEqual([at('umask') + 1, at('umask') + 2]);
    expect(rlimits[1]!).toBeLessThan(at('cap-bounding'));
    expect(plan.filter((op) => op.op === 'rlimit').map(opFields)).toEqual([
      ['nofile', '123', 'unlimited'],
      ['nproc', '10', '20'],
    ]);
  });

  it('gives exec the same rlimits, and no oom record (a join plan cannot have one)', () => {
    const exec = compileExecPlan({ pid: 42, startTime: 4711, hostNetwork: false, workdir: '/', user: { uid: 0, gid: 0, groups: [] }, capabilities: 0n, noNewPrivs: false, seccomp: [], tty: false, process, argv: ['sh'], env: [] });
    expect(exec.map((op) => op.op)).toEqual(['join', 'session', 'chdir', 'umask', 'rlimit', 'rlimit', 'cap-bounding', 'user', 'cap-set', 'close-fds', 'exec']);
  });

  it('has nothing of either without limits', () => {
    expect(compilePlan(makeSpec()).some((op) => op.op === 'rlimit' || op.op === 'oom-score-adj')).toBe(false);
  });

  it('encodes the cgroup record and explains all three as shell', () => {
    const cgroup: Op = { op: 'cgroup', path: '/sys/fs/cgroup/user.slice/nook-1' };
    expect(encodePlan([cgroup]).toString()).toBe('9:nook-plan,1:1,6:cgroup,32:/sys/fs/cgroup/user.slice/nook-1,3:end,');
    const lines = explainPlan([cgroup, ...plan.filter((op) => op.op === 'rlimit' || op.op === 'oom-score-adj')]);
    expect(lines).toEqual([
      'echo $PID > /sys/fs/cgroup/user.slice/nook-1/cgroup.procs && unshare --cgroup   # from outside, before the container runs; its limits are written there',
      'echo -7 > /proc/$PID/oom_score_adj   # from outside, before the container runs',
      'prlimit --pid $$ --nofile=123:unlimited',
      'prlimit --pid $$ --nproc=10:20',
    ]);
  });
});
