import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseState, type ProcessStat } from '../../src/engine/container/state.js';
import { parseLog } from '../../src/engine/container/logs.js';
import { DEFAULT_SECURITY } from '../../src/plan/security-options.js';
import { parseContainerRecord } from '../../src/store/container-record.js';
import { ContainerStore, NameInUseError, NO_LIMITS, StartInProgressError, type ContainerRecord } from '../../src/store/containers.js';

const DEAD_PID = 2 ** 22 + 7;

function record(id: string, name: string): ContainerRecord {
  return {
    id, name, created: new Date().toISOString(), image: null, rootfsDir: '/r', rootfs: { kind: 'directory', path: '/r' }, entrypoint: null,
    argv: ['true'], env: [], workdir: '/', hostname: 'h', user: { uid: 0, gid: 0, groups: [], spec: '0' }, readOnly: false, init: false,
    mounts: [], volumes: [], anonymousVolumes: [], network: { mode: { kind: 'none' }, ports: [], dns: { servers: [], search: [], options: [] }, addHosts: [], noHosts: false }, security: DEFAULT_SECURITY, tty: false, interactive: false,
    restart: { policy: 'no', maxRetries: 0 }, autoRemove: false, stopSignal: 'SIGTERM', stopTimeout: 10,
    limits: NO_LIMITS,
  };
}

const ID = (n: number): string => n.toString(16).padStart(64, '0');

describe('ContainerStore', () => {
  let root: string;
  let store: ContainerStore;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'nook-containers-'));
    store = new ContainerStore(root);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('gives a name to one container only, while its create runs and after', () => {
    store.begin(ID(1));
    store.claimName('web', ID(1));
    store.begin(ID(2));
    expect(() => store.claimName('web', ID(2))).toThrow(NameInUseError);
    store.commit(record(ID(1), 'web'));
    expect(() => store.claimName('web', ID(2))).toThrow(NameInUseError);
    expect(store.list().map((r) => r.name)).toEqual(['web']);
  });

  it('reads a record written before networking, whose network was none or host alone', () => {
    store.begin(ID(1));
    store.commit(record(ID(1), 'old'));
    const path = store.path(ID(1), 'config.json');
    writeFileSync(path, JSON.stringify({ ...JSON.parse(readFileSync(path, 'utf8')), network: 'host' }));
    expect(store.read(ID(1))!.network).toEqual({ mode: { kind: 'host' }, ports: [], dns: { servers: [], search: [], options: [] }, addHosts: [], noHosts: false });
  });

  it('takes over a name whose create was killed, and sweeps what it left', () => {
    store.begin(ID(1));
    store.claimName('web', ID(1));
    writeFileSync(store.path(ID(1), 'nook.pid'), `${DEAD_PID}\n`);
    store.begin(ID(2));
    store.claimName('web', ID(2));
    expect(store.nameTarget('web')).toBe(ID(2));
    expect(store.leftovers()).toEqual([store.path(ID(1))]);
  });

  it('drops claims of removed containers and of records renamed since', () => {
    store.begin(ID(1));
    store.claimName('old', ID(1));
    store.commit(record(ID(1), 'new'));
    store.claimName('new', ID(1));
    expect(store.leftovers()).toEqual([]);
    expect(readdirSync(store.namesDir)).toEqual(['new']);
  });

  it('takes over a start claim whose nook is gone, and refuses a live one', () => {
    store.begin(ID(1));
    const release = store.claimStart(ID(1));
    expect(() => store.claimStart(ID(1))).toThrow(StartInProgressError);
    expect(store.starting(ID(1))).toBe(true);
    release();
    expect(store.starting(ID(1))).toBe(false);
    writeFileSync(store.path(ID(1), 'starting'), `${DEAD_PID}\n`);
    expect(store.starting(ID(1))).toBe(false);
    store.claimStart(ID(1))();
  });

  it('removes a container by renaming it aside; a removal cut short is swept', () => {
    store.begin(ID(1));
    store.claimName('web', ID(1));
    store.commit(record(ID(1), 'web'));
    const doomed = store.detach(record(ID(1), 'web'));
    expect(store.list()).toEqual([]);
    expect(store.nameTarget('web')).toBeNull();
    const killed = doomed.replace(`.tmp-${process.pid}-`, `.tmp-${DEAD_PID}-`);
    renameSync(doomed, killed);
    expect(store.leftovers()).toEqual([killed]);
  });
});

describe('container state', () => {
  const boot = (): string => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();

  /** A host with these processes: pid → [parent pid, start time]. */
  const host =
    (processes: Record<number, [number, string]>): ProcessStat =>
    (pid) => {
      const p = processes[pid];
      return p === undefined ? null : { parentPid: p[0], startTime: p[1] };
    };
  const monitorUp = host({ 10: [1, '555'], 11: [10, '556'] });

  it('is created without a state line, running while its monitor lives, exited after', () => {
    expect(parseState(null, monitorUp)).toEqual({ state: 'created' });
    const running = `running 10 555 ${boot()} 11 556 1700000000000000000 2\n`;
    expect(parseState(running, monitorUp)).toEqual({ state: 'running', pid: 11, pidStartTime: 556, monitorPid: 10, monitorStartTime: 555, startedAt: new Date(1700000000000), restarts: 2 });
    expect(parseState(running, host({}))).toMatchObject({ state: 'exited', exitCode: null });
    // A later process with the monitor's pid is not the monitor.
    expect(parseState(running, host({ 10: [1, '900'] }))).toMatchObject({ state: 'exited', exitCode: null });
    expect(parseState('exited 137 1700000000000000000 1700000001000000000 0\n', monitorUp)).toMatchObject({ state: 'exited', exitCode: 137, finishedAt: new Date(1700000001000) });
  });

  it('keeps the recorded start time of PID 1, whatever has its pid now', () => {
    const running = `running 10 555 ${boot()} 11 556 1700000000000000000 0\n`;
    expect(parseState(running, host({ 10: [1, '555'], 11: [1, '999'] }))).toMatchObject({ state: 'running', pid: 11, pidStartTime: 556 });
  });

  it("reads an older monitor's line: PID 1 is the monitor's child, or gone", () => {
    const legacy = `running 10 555 ${boot()} 11 1700000000000000000 1\n`;
    expect(parseState(legacy, monitorUp)).toEqual({ state: 'running', pid: 11, pidStartTime: 556, monitorPid: 10, monitorStartTime: 555, startedAt: new Date(1700000000000), restarts: 1 });
    expect(parseState(legacy, host({ 10: [1, '555'], 11: [1, '556'] }))).toMatchObject({ state: 'running', pid: 11, pidStartTime: null });
    expect(parseState(legacy, host({ 10: [1, '555'] }))).toMatchObject({ state: 'running', pid: 11, pidStartTime: null });
  });

  it('counts a monitor of another boot as gone', () => {
    expect(parseState('running 10 555 another-boot 11 556 1 0\n', monitorUp)).toMatchObject({ state: 'exited', exitCode: null });
    expect(parseState('running 10 555 another-boot 11 1 0\n', monitorUp)).toMatchObject({ state: 'exited', exitCode: null });
  });
});

describe('parseLog', () => {
  it('joins partial records into lines, per stream, and keeps a cut record for later', () => {
    const text = '2026-01-01T00:00:00.000000001Z stdout P hel\n2026-01-01T00:00:00.000000002Z stderr F oops\n2026-01-01T00:00:00.000000003Z stdout F lo\n2026-01-01T00:00:00.0000';
    const pending = new Map();
    const { lines, used } = parseLog(text, pending);
    expect(lines.map((l) => [l.stream, l.text, l.complete])).toEqual([
      ['stderr', 'oops', true],
      ['stdout', 'hello', true],
    ]);
    expect(lines[1]!.time).toBe('2026-01-01T00:00:00.000000001Z');
    expect(text.slice(used)).toBe('2026-01-01T00:00:00.0000');
    expect(parseLog('2026-01-01T00:00:00.000000001Z stdout F \n').lines[0]!.text).toBe('');
  });
});

describe('parseContainerRecord', () => {
  const id = ID(9);
  const valid = record(id, 'web');

  it('takes a record as create writes it', () => {
    expect(parseContainerRecord(JSON.stringify(valid), id)).toEqual(valid);
  });

  it('says what is wrong with a damaged one', () => {
    const damaged: [string, RegExp][] = [
      ['', /it is empty/],
      ['{"id": "trunc', /it is not JSON/],
      ['[]', /not a JSON object/],
      [JSON.stringify({ ...valid, argv: undefined }), /it has no "argv"/],
      [JSON.stringify({ ...valid, argv: [] }), /its "argv" is not valid/],
      [JSON.stringify({ ...valid, user: { ...valid.user, uid: '0' } }), /its "user" is not valid/],
      [JSON.stringify({ ...valid, security: { ...valid.security, seccomp: { kind: 'profile', path: '/p.json' } } }), /its "security" is not valid/],
      [JSON.stringify({ ...valid, id: ID(8) }), /record of another container/],
    ];
    for (const [text, reason] of damaged) expect(() => parseContainerRecord(text, id), text).toThrow(reason);
  });

  it('keeps the name of a container whose record broke claimed, and lists it as corrupt', () => {
    const root = mkdtempSync(join(tmpdir(), 'nook-corrupt-'));
    try {
      const store = new ContainerStore(root);
      store.begin(id);
      store.claimName('web', id);
      store.commit(valid);
      writeFileSync(store.path(id, 'config.json'), '{');
      expect(store.list()).toEqual([]);
      expect(store.scan().corrupt).toEqual([{ id, names: ['web'], file: store.path(id, 'config.json'), reason: expect.stringMatching(/not JSON/) }]);
      expect(store.leftovers()).toEqual([]);
      store.begin(ID(10));
      expect(() => store.claimName('web', ID(10))).toThrow(NameInUseError);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
