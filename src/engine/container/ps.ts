import type { ContainerRecord, CorruptContainer } from '../../store/containers.js';
import { describePorts } from '../../net/ports.js';
import { formatTable, humanAge } from '../shared/human.js';
import type { OpenedContainers } from './lookup.js';
import type { ContainerIO, PsFilter, PsOptions } from './options.js';
import { removeContainer } from './remove.js';
import { containerStatus, describeStatus, type ContainerStatus } from './state.js';

/** --rm containers that ended while nobody was there to remove them (a killed monitor). */
async function removeEnded(opened: OpenedContainers, records: readonly ContainerRecord[]): Promise<ContainerRecord[]> {
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

/**
 * ISO 8601 times (toISOString's, all one format) sort as strings. Not localeCompare: its
 * first call loads ICU's collator, ~7 ms of every ps.
 */
function newestFirst(a: string, b: string): number {
  return a < b ? 1 : a > b ? -1 : 0;
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
    Ports: record.network.ports.map((p) => ({ host_ip: p.hostIp, container_port: p.containerPort, host_port: p.hostPort, range: 1, protocol: p.protocol })),
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
    Ports: describePorts(record.network.ports),
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

/** Shown by ps -a, ordered last: nothing but its id, names and why can be told of it. */
function corruptShown(options: PsOptions, container: CorruptContainer): boolean {
  if (!options.all) return false;
  return options.filters.length === 0 || (options.filters.every((f) => f.key === 'id') && options.filters.some((f) => container.id.startsWith(f.value)));
}

function corruptJson(container: CorruptContainer): Record<string, unknown> {
  return { Command: [], Id: container.id, Image: '', ImageID: '', Mounts: [], Names: container.names, Pid: 0, State: 'corrupt', Status: `corrupt: ${container.reason}` };
}

export async function listContainers(opened: OpenedContainers, options: PsOptions, io: ContainerIO): Promise<number> {
  const scanned = opened.containers.scan();
  const records = await removeEnded(opened, scanned.valid);
  // A status filter asks about stopped containers too, as podman's does.
  const all = options.all || options.filters.some((f) => f.key === 'status');
  const rows = records
    .map((record) => ({ record, status: containerStatus(opened.containers, record.id) }))
    .filter(({ status }) => all || status.state === 'running')
    .filter(({ record, status }) => passes(options.filters, record, status))
    .sort((a, b) => newestFirst(a.record.created, b.record.created));
  const corrupt = scanned.corrupt.filter((container) => corruptShown(options, container));
  if (options.quiet) {
    for (const id of [...rows.map(({ record }) => record.id), ...corrupt.map((c) => c.id)]) io.out(options.noTrunc ? id : id.slice(0, 12));
  } else if (options.format.kind === 'json') {
    io.out(JSON.stringify([...rows.map(({ record, status }) => psJson(record, status)), ...corrupt.map(corruptJson)], null, 4));
  } else if (options.format.kind === 'template') {
    const { renderTable, renderTemplate } = await import('../shared/go-template.js');
    const views = [
      ...rows.map(({ record, status }) => psView(record, status)),
      ...corrupt.map((c) => ({ ...corruptJson(c), ID: c.id.slice(0, 12), Names: c.names.join(','), Command: '', Ports: '', CreatedHuman: '' })),
    ];
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
      describePorts(record.network.ports),
      record.name,
    ]);
    const broken = corrupt.map((c) => [options.noTrunc ? c.id : c.id.slice(0, 12), '', '', '', 'Corrupt', '', c.names.join(',')]);
    for (const line of formatTable([['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'], ...table, ...broken])) io.out(line.trimEnd());
  }
  if (corrupt.length > 0) io.err(`WARN: ${corrupt.length === 1 ? 'a container has a corrupt record' : `${corrupt.length} containers have corrupt records`}: see "nook inspect ID" for why, remove with "nook rm -f ID"`);
  return 0;
}
