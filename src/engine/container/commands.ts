import { writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import type { ContainerInvocation, PsFilter, PsOptions } from '../../cli/container-commands.js';
import { ContainerError, ImageError, NookError, UsageError } from '../../errors.js';
import type { ContainerRecord, ContainerStore } from '../../store/containers.js';
import { isContainerName, NameInUseError } from '../../store/containers.js';
import type { ContainerIdMaps } from '../../sys/idmap.js';
import { findContainer, openContainers } from './lookup.js';
import { containerStatus, describeStatus, STOP_FILE, type ContainerStatus } from './state.js';
import { createContainer, type CreateOptions } from './create.js';
import { formatTable, humanAge } from '../shared/human.js';
import { inspectContainer } from './inspect.js';
import { removeContainer } from './remove.js';
import { StartBusyError, startContainer } from './start.js';

/** How long (x 50 ms) a start waits for another start of the same container. */
const START_WAIT_TRIES = 200;

export interface ContainerIO {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

interface Opened {
  readonly containers: ContainerStore;
  readonly idMaps: ContainerIdMaps;
}

/** A signal as podman takes it: KILL, SIGKILL, kill or 9. */
function parseSignal(value: string): number {
  if (/^\d+$/.test(value)) {
    const n = Number(value);
    if (n >= 1 && n <= 64) return n;
  } else {
    const name = value.toUpperCase().replace(/^SIG/, '');
    const n = (constants.signals as Record<string, number>)[`SIG${name}`];
    if (n !== undefined) return n;
  }
  throw new UsageError(`invalid signal "${value}"`, 'give a signal name such as TERM or KILL, or its number');
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls until the container is no longer running (or `timeoutMs` passes); its last status. */
async function untilStopped(containers: ContainerStore, id: string, timeoutMs: number): Promise<ContainerStatus> {
  const deadline = Date.now() + timeoutMs;
  // Short at first: most containers go at once; then gentler on a long wait.
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    const status = containerStatus(containers, id);
    if (status.state !== 'running' || Date.now() >= deadline) return status;
    await sleep(Math.min(delay, Math.max(1, deadline - Date.now())));
  }
}

function signalContainer(status: ContainerStatus & { state: 'running' }, signal: number): void {
  try {
    process.kill(status.pid, signal);
  } catch (err) {
    // ESRCH: it exited meanwhile, which is what was wanted.
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** podman stop: the stop signal, then SIGKILL after the timeout; never restarted after. */
export async function stopContainer(containers: ContainerStore, record: ContainerRecord, timeout: number, io: ContainerIO): Promise<void> {
  let status = containerStatus(containers, record.id);
  if (status.state !== 'running') return;
  writeFileSync(containers.path(record.id, STOP_FILE), '');
  signalContainer(status, parseSignal(record.stopSignal));
  status = await untilStopped(containers, record.id, timeout * 1000);
  if (status.state !== 'running') return;
  if (timeout > 0) io.err(`WARN: StopSignal ${record.stopSignal} failed to stop container ${record.name} in ${timeout} seconds, resorting to SIGKILL`);
  signalContainer(status, constants.signals.SIGKILL);
  status = await untilStopped(containers, record.id, 10_000);
  if (status.state === 'running') throw new ContainerError(`container ${record.name} did not stop after SIGKILL`, 'see "nook ps" and try again');
}

/**
 * Runs `fn` for each named container; carries on past failures as podman does. The first
 * failure is the command's error, the others are printed.
 */
async function eachContainer(
  refs: readonly string[],
  opened: Opened,
  io: ContainerIO,
  fn: (record: ContainerRecord, ref: string) => Promise<void>,
  missing: 1 | 125 = 125,
): Promise<number> {
  let first: NookError | null = null;
  for (const ref of refs) {
    try {
      await fn(findContainer(opened.containers, ref, missing), ref);
    } catch (err) {
      if (!(err instanceof NookError)) throw err;
      if (first === null) first = err;
      else io.err(`Error: ${err.message}`);
    }
  }
  if (first !== null) throw first;
  return 0;
}

/** Running, or being started by another command right now: not to be removed from under it. */
function busy(containers: ContainerStore, id: string): boolean {
  return containers.starting(id) || containerStatus(containers, id).state === 'running';
}

/** --rm containers that ended while nobody was there to remove them (a killed monitor). */
async function removeEnded(opened: Opened, records: readonly ContainerRecord[]): Promise<ContainerRecord[]> {
  const kept: ContainerRecord[] = [];
  for (const record of records) {
    if (record.autoRemove && !opened.containers.starting(record.id) && containerStatus(opened.containers, record.id).state === 'exited') {
      await removeContainer(opened.containers, opened.idMaps, record, { volumes: true }).catch(() => undefined);
    } else {
      kept.push(record);
    }
  }
  return kept;
}

function commandLine(record: ContainerRecord, truncate: boolean): string {
  const line = record.argv.join(' ');
  return truncate && line.length > 20 ? `${line.slice(0, 17)}...` : line;
}

const unix = (date: Date | null): number => (date ? Math.floor(date.getTime() / 1000) : 0);

function psJson(record: ContainerRecord, status: ContainerStatus): Record<string, unknown> {
  return {
    AutoRemove: record.autoRemove,
    Command: record.argv,
    Created: unix(new Date(record.created)),
    CreatedAt: record.created,
    Exited: status.state === 'exited',
    ExitedAt: status.state === 'exited' ? unix(status.finishedAt) : 0,
    ExitCode: status.state === 'exited' ? (status.exitCode ?? -1) : 0,
    Id: record.id,
    Image: record.image?.name ?? record.rootfsDir ?? '',
    ImageID: record.image?.id ?? '',
    Mounts: record.mounts.map((m) => m.destination),
    Names: [record.name],
    Pid: status.state === 'running' ? status.pid : 0,
    Restarts: status.state === 'created' ? 0 : status.restarts,
    StartedAt: status.state === 'created' ? 0 : unix(status.startedAt),
    State: status.state,
    Status: describeStatus(status),
  };
}

/** The fields podman's ps templates use ({{.ID}}, {{.Names}} …), over its JSON ones. */
function psView(record: ContainerRecord, status: ContainerStatus): Record<string, unknown> {
  return {
    ...psJson(record, status),
    ID: record.id.slice(0, 12),
    Names: record.name,
    Command: record.argv.join(' '),
    Ports: '',
    CreatedHuman: humanAge(new Date(record.created)),
  };
}

function filterMatches(filter: PsFilter, record: ContainerRecord, status: ContainerStatus): boolean {
  switch (filter.key) {
    case 'name':
      return new RegExp(filter.value).test(record.name);
    case 'id':
      return record.id.startsWith(filter.value);
    case 'status':
      return status.state === filter.value;
    case 'ancestor':
      return record.image !== null && (record.image.name === filter.value || record.image.id.startsWith(filter.value));
  }
}

/** podman's rule: filters of one key are alternatives, different keys must all hold. */
function passes(filters: readonly PsFilter[], record: ContainerRecord, status: ContainerStatus): boolean {
  const keys = new Set(filters.map((f) => f.key));
  return [...keys].every((key) => filters.some((f) => f.key === key && filterMatches(f, record, status)));
}

async function listContainers(opened: Opened, options: PsOptions, io: ContainerIO): Promise<number> {
  const records = await removeEnded(opened, opened.containers.list());
  // A status filter asks about stopped containers too, as podman's does.
  const all = options.all || options.filters.some((f) => f.key === 'status');
  const rows = records
    .map((record) => ({ record, status: containerStatus(opened.containers, record.id) }))
    .filter(({ status }) => all || status.state === 'running')
    .filter(({ record, status }) => passes(options.filters, record, status))
    .sort((a, b) => b.record.created.localeCompare(a.record.created));
  if (options.quiet) {
    for (const { record } of rows) io.out(options.noTrunc ? record.id : record.id.slice(0, 12));
  } else if (options.format.kind === 'json') {
    io.out(JSON.stringify(rows.map(({ record, status }) => psJson(record, status)), null, 4));
  } else if (options.format.kind === 'template') {
    const { renderTable, renderTemplate } = await import('../shared/go-template.js');
    const views = rows.map(({ record, status }) => psView(record, status));
    const table = renderTable(options.format.template, views);
    if (table !== null) for (const line of formatTable(table)) io.out(line.trimEnd());
    else for (const view of views) io.out(renderTemplate(options.format.template, view));
  } else {
    const table = rows.map(({ record, status }) => [
      options.noTrunc ? record.id : record.id.slice(0, 12),
      record.image?.name ?? record.rootfsDir ?? '',
      commandLine(record, !options.noTrunc),
      humanAge(new Date(record.created)),
      describeStatus(status),
      '',
      record.name,
    ]);
    for (const line of formatTable([['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'], ...table])) io.out(line.trimEnd());
  }
  return 0;
}

async function startContainers(opened: Opened, refs: readonly string[], attach: boolean, io: ContainerIO): Promise<number> {
  if (attach) {
    if (refs.length !== 1) throw new UsageError('start --attach takes exactly one container', 'start the others without -a');
    const record = findContainer(opened.containers, refs[0]!);
    if (containerStatus(opened.containers, record.id).state === 'running') {
      throw new ContainerError(`container ${record.name} is already running`, 'see its output with "nook logs -f"');
    }
    const status = await startContainer(opened.containers, opened.idMaps, record, { detach: false }, { warn: io.err });
    if (record.autoRemove) await removeContainer(opened.containers, opened.idMaps, record, { volumes: true });
    return status;
  }
  return eachContainer(refs, opened, io, async (record, ref) => {
    // As podman: starting a running container is no error; nor is one being started
    // by another command, which this one waits for.
    for (let tries = 0; containerStatus(opened.containers, record.id).state !== 'running'; tries++) {
      try {
        await startContainer(opened.containers, opened.idMaps, record, { detach: true }, { warn: io.err });
        break;
      } catch (err) {
        if (containerStatus(opened.containers, record.id).state === 'running') break;
        if (!(err instanceof StartBusyError) || tries >= START_WAIT_TRIES) throw err;
        await sleep(50);
      }
    }
    io.out(ref);
  });
}

async function killContainers(opened: Opened, refs: readonly string[], signal: string, io: ContainerIO): Promise<number> {
  const number = parseSignal(signal);
  return eachContainer(refs, opened, io, async (record, ref) => {
    const status = containerStatus(opened.containers, record.id);
    if (status.state !== 'running') {
      throw new ContainerError(`can only kill running containers: ${record.name} is ${status.state}`, 'see "nook ps -a"');
    }
    // podman: a container the user kills is not restarted.
    writeFileSync(opened.containers.path(record.id, STOP_FILE), '');
    signalContainer(status, number);
    io.out(ref);
  });
}

/** podman rm: -f stops a running container as podman stop does (not at once: podman waits too). */
async function removeContainers(opened: Opened, refs: readonly string[], force: boolean, volumes: boolean, timeout: number | undefined, io: ContainerIO): Promise<number> {
  return eachContainer(
    refs,
    opened,
    io,
    async (record, ref) => {
      if (busy(opened.containers, record.id)) {
        if (!force) {
          throw new ContainerError(`cannot remove container ${record.name}: it is running`, `stop it first (nook stop ${ref}), or force it: nook rm -f ${ref}`, 2);
        }
        // A start in progress is let finish, then stopped like any running container.
        for (let tries = 0; opened.containers.starting(record.id) && tries < START_WAIT_TRIES; tries++) await sleep(50);
        await stopContainer(opened.containers, record, timeout ?? record.stopTimeout, io);
      }
      await removeContainer(opened.containers, opened.idMaps, record, { volumes });
      io.out(ref);
    },
    1,
  );
}

async function waitContainers(opened: Opened, refs: readonly string[], io: ContainerIO): Promise<number> {
  return eachContainer(refs, opened, io, async (record) => {
    for (;;) {
      const status = await untilStopped(opened.containers, record.id, 60_000);
      if (status.state === 'exited') {
        io.out(String(status.exitCode ?? -1));
        return;
      }
      if (status.state === 'created') await sleep(100);
    }
  });
}

function renameContainer(opened: Opened, ref: string, name: string): number {
  if (!isContainerName(name)) throw new UsageError(`invalid container name "${name}"`, 'use letters, digits, "_", "." and "-", starting with a letter or digit');
  const record = findContainer(opened.containers, ref);
  if (record.name === name) return 0;
  try {
    opened.containers.claimName(name, record.id);
  } catch (err) {
    if (!(err instanceof NameInUseError)) throw err;
    throw new ContainerError(`the container name "${name}" is already in use by ${err.holder.slice(0, 12)}`, 'choose another name, or remove that container');
  }
  opened.containers.writeRecord({ ...record, name });
  opened.containers.releaseName(record.name, record.id);
  return 0;
}

async function pruneContainers(opened: Opened, force: boolean, io: ContainerIO): Promise<number> {
  if (!force) {
    const { promptLine } = await import('../shared/prompt.js');
    const answer = await promptLine('WARNING! This will remove all non running containers.\nAre you sure you want to continue? [y/N] ', 'confirmation', '-f');
    if (!/^y(es)?$/i.test(answer)) return 0;
  }
  await removeStopped(opened, io.out);
  return 0;
}

/** Removes every container not running nor being started; prints each id removed. */
export async function removeStopped(opened: Opened, out: (line: string) => void): Promise<void> {
  for (const record of opened.containers.list()) {
    if (busy(opened.containers, record.id)) continue;
    if (await removeContainer(opened.containers, opened.idMaps, record, { volumes: false })) out(record.id);
  }
}

async function inspect(opened: Opened, names: readonly string[], only: 'container' | null, format: string | undefined, io: ContainerIO): Promise<number> {
  const found = names.map((name) => {
    try {
      return findContainer(opened.containers, name);
    } catch (err) {
      if (only === 'container' || !(err instanceof ContainerError)) throw err;
      return null;
    }
  });
  if (only === null && found.every((r) => r === null)) {
    const { inspectImages } = await import('../image/inspect.js');
    try {
      if (format === undefined || format === 'json') return await inspectImages({ images: names }, io);
      const lines: string[] = [];
      await inspectImages({ images: names }, { ...io, out: (line) => lines.push(line) });
      const { renderTemplate } = await import('../shared/go-template.js');
      for (const image of JSON.parse(lines.join('\n')) as unknown[]) io.out(renderTemplate(format, image));
      return 0;
    } catch (err) {
      if (!(err instanceof ImageError)) throw err;
      throw new ContainerError(`no such object: "${names.find((n) => err.message.includes(n)) ?? names[0]}"`, 'see "nook ps -a" for containers and "nook images" for images');
    }
  }
  const missing = names.find((_, i) => found[i] === null);
  if (missing !== undefined) throw new ContainerError(`no container with name or ID "${missing}" found`, 'see "nook ps -a"');
  const shown = found.map((record) => inspectContainer(opened.containers, record!));
  if (format === undefined || format === 'json') {
    io.out(JSON.stringify(shown, null, 4));
  } else {
    const { renderTemplate } = await import('../shared/go-template.js');
    for (const one of shown) io.out(renderTemplate(format, one));
  }
  return 0;
}

/** `nook create`: prints the new container's id. */
export async function createCommand(options: CreateOptions, io: ContainerIO): Promise<number> {
  const { record } = await createContainer(options, { warn: io.err });
  io.out(record.id);
  return 0;
}

export async function executeContainerCommand(invocation: ContainerInvocation, io: ContainerIO): Promise<number> {
  if (invocation.command === 'exec') {
    const { execInContainer } = await import('./exec.js');
    return execInContainer(invocation.options);
  }
  if (invocation.command === 'top') {
    const { topContainer } = await import('./top.js');
    return topContainer(invocation.container, io);
  }
  if (invocation.command === 'logs') {
    const { showLogs } = await import('./logs.js');
    return showLogs(invocation.options);
  }
  const opened = await openContainers();
  switch (invocation.command) {
    case 'ps':
      return listContainers(opened, invocation.options, io);
    case 'start':
      return startContainers(opened, invocation.containers, invocation.attach, io);
    case 'stop':
      return eachContainer(invocation.containers, opened, io, async (record, ref) => {
        await stopContainer(opened.containers, record, invocation.timeout ?? record.stopTimeout, io);
        io.out(ref);
      });
    case 'kill':
      return killContainers(opened, invocation.containers, invocation.signal, io);
    case 'rm':
      return removeContainers(opened, invocation.containers, invocation.force, invocation.volumes, invocation.timeout, io);
    case 'wait':
      return waitContainers(opened, invocation.containers, io);
    case 'rename':
      return renameContainer(opened, invocation.container, invocation.name);
    case 'container-prune':
      return pruneContainers(opened, invocation.force, io);
    case 'inspect':
      return inspect(opened, invocation.names, invocation.only, invocation.format, io);
  }
}
