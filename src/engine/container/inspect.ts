import { ContainerError, ImageError } from '../../errors.js';
import { networkModeName } from '../../net/config.js';
import { portBindings } from '../../net/ports.js';
import type { ContainerRecord, ContainerStore } from '../../store/containers.js';
import { CorruptContainerError, findContainer, type OpenedContainers } from './lookup.js';
import type { ContainerIO } from './options.js';
import { containerStatus, LOG_FILE } from './state.js';
import { predictLimits, readLimitState } from './limits.js';
import { hasCgroupLimits, limitFlags, swapLimit } from '../../sys/cgroup/limits.js';

const iso = (date: Date | null): string => (date ? date.toISOString() : '0001-01-01T00:00:00Z');

function mounts(record: ContainerRecord): Record<string, unknown>[] {
  return record.mounts.map((m) => {
    if (m.kind === 'tmpfs') {
      return { Type: 'tmpfs', Source: 'tmpfs', Destination: m.destination, Driver: '', Mode: '', Options: [...m.flags, ...(m.data ? m.data.split(',') : [])], RW: !m.flags.includes('ro'), Propagation: '' };
    }
    const volume = record.volumes.find((name) => m.source.includes(`/volumes/${name}/`));
    return {
      Type: volume === undefined ? 'bind' : 'volume',
      ...(volume === undefined ? {} : { Name: volume }),
      Source: m.source,
      Destination: m.destination,
      Driver: volume === undefined ? '' : 'local',
      Mode: '',
      Options: ['rbind', ...m.options],
      RW: !m.readOnly,
      Propagation: `r${m.propagation}`,
    };
  });
}

/** podman's HostConfig resource fields (0: none), and whether the limits hold on this host. */
function resources(containers: ContainerStore, record: ContainerRecord, started: boolean): { host: Record<string, unknown>; limits: Record<string, unknown> } {
  const { cgroup, process } = record.limits;
  const swap = swapLimit(cgroup);
  const state = started ? readLimitState(containers, record.id) : predictLimits(record);
  const asked = hasCgroupLimits(cgroup);
  return {
    host: {
      Memory: cgroup.memory ?? 0,
      MemorySwap: swap === 'max' ? -1 : swap === null ? 0 : swap + (cgroup.memory ?? 0),
      MemoryReservation: cgroup.memoryReservation ?? 0,
      NanoCpus: cgroup.cpus === null ? 0 : Math.round(cgroup.cpus * 1e9),
      CpuWeight: cgroup.cpuWeight ?? 0,
      CpusetCpus: cgroup.cpusetCpus ?? '',
      PidsLimit: cgroup.pids === null || cgroup.pids === 'unlimited' ? 0 : cgroup.pids,
      OomScoreAdj: process.oomScoreAdj ?? 0,
      Ulimits: process.rlimits.map((r) => ({ Name: `RLIMIT_${r.name.toUpperCase()}`, Soft: r.soft === 'unlimited' ? -1 : r.soft, Hard: r.hard === 'unlimited' ? -1 : r.hard })),
    },
    limits: {
      Requested: limitFlags(cgroup),
      Enforced: asked && state !== null && state.enforced,
      Cgroup: state?.enforced && state.kind === 'delegated' ? state.cgroup : '',
      SystemdUnit: state?.enforced && state.kind === 'systemd' ? state.unit : '',
      Reason: asked && state !== null && !state.enforced ? `${state.reason}. Fix: ${state.fix}` : '',
    },
  };
}

/** The container as `podman inspect` shows one: the fields podman users script against. */
export function inspectContainer(containers: ContainerStore, record: ContainerRecord): Record<string, unknown> {
  const status = containerStatus(containers, record.id);
  const running = status.state === 'running';
  const entrypoint = record.entrypoint ?? [];
  const limits = resources(containers, record, status.state !== 'created');
  return {
    Id: record.id,
    Created: record.created,
    Path: record.argv[0],
    Args: record.argv.slice(1),
    State: {
      Status: status.state,
      Running: running,
      Paused: false,
      Restarting: false,
      OOMKilled: false,
      Dead: false,
      Pid: running ? status.pid : 0,
      ConmonPid: running ? status.monitorPid : 0,
      ExitCode: status.state === 'exited' ? (status.exitCode ?? -1) : 0,
      Error: '',
      StartedAt: iso(status.state === 'created' ? null : status.startedAt),
      FinishedAt: iso(status.state === 'exited' ? status.finishedAt : null),
    },
    Image: record.image?.id ?? '',
    ImageName: record.image?.name ?? '',
    Rootfs: record.rootfsDir ?? '',
    LogPath: containers.path(record.id, LOG_FILE),
    Name: record.name,
    RestartCount: status.state === 'created' ? 0 : status.restarts,
    Driver: record.rootfs.kind === 'overlay' ? 'overlay' : record.rootfsDir === null ? 'vfs' : '',
    Mounts: mounts(record),
    NetworkSettings: { Ports: portBindings(record.network.ports) },
    Config: {
      Hostname: record.hostname,
      User: record.user.spec,
      Env: record.env,
      Cmd: record.argv.slice(entrypoint.length),
      Image: record.image?.name ?? '',
      WorkingDir: record.workdir,
      Entrypoint: entrypoint,
      Tty: record.tty,
      OpenStdin: record.interactive,
      StopSignal: record.stopSignal,
      StopTimeout: record.stopTimeout,
    },
    HostConfig: {
      AutoRemove: record.autoRemove,
      RestartPolicy: { Name: record.restart.policy, MaximumRetryCount: record.restart.maxRetries },
      ReadonlyRootfs: record.readOnly,
      NetworkMode: networkModeName(record.network.mode),
      PortBindings: portBindings(record.network.ports),
      Dns: record.network.dns.servers,
      DnsSearch: record.network.dns.search,
      DnsOptions: record.network.dns.options,
      ExtraHosts: record.network.addHosts.map((h) => `${h.name}:${h.ip}`),
      Init: record.init,
      Privileged: record.security.privileged,
      CapAdd: record.security.capAdd,
      CapDrop: record.security.capDrop,
      GroupAdd: record.user.groupAdd ?? [],
      SecurityOpt: [...(record.security.noNewPrivs ? ['no-new-privileges'] : []), ...(record.security.seccomp.kind === 'unconfined' ? ['seccomp=unconfined'] : [])],
      Tmpfs: Object.fromEntries(record.mounts.flatMap((m) => (m.kind === 'tmpfs' ? [[m.destination, m.data]] : []))),
      ...limits.host,
    },
    /** nook's own: whether the cgroup limits hold, and where, or why not. */
    Limits: limits.limits,
  };
}

/** `nook inspect` (and `container inspect`): containers, else images when none of the names is a container. */
export async function inspectCommand(opened: OpenedContainers, names: readonly string[], only: 'container' | null, format: string | undefined, io: ContainerIO): Promise<number> {
  const found = names.map((name) => {
    try {
      return findContainer(opened.containers, name);
    } catch (err) {
      if (only === 'container' || !(err instanceof ContainerError) || err instanceof CorruptContainerError) throw err;
      return null;
    }
  });
  if (only === null && found.every((r) => r === null)) {
    const { inspectedImages } = await import('../image/inspect.js');
    try {
      return await printInspected(await inspectedImages(names), format, io);
    } catch (err) {
      if (!(err instanceof ImageError)) throw err;
      throw new ContainerError(`no such object: "${names.find((n) => err.message.includes(n)) ?? names[0]}"`, 'see "nook ps -a" for containers and "nook images" for images');
    }
  }
  const missing = names.find((_, i) => found[i] === null);
  if (missing !== undefined) throw new ContainerError(`no container with name or ID "${missing}" found`, 'see "nook ps -a"');
  return printInspected(found.map((record) => inspectContainer(opened.containers, record!)), format, io);
}

/** podman's inspect output: one JSON array, or the template once per object. */
async function printInspected(objects: readonly unknown[], format: string | undefined, io: ContainerIO): Promise<number> {
  if (format === undefined || format === 'json') {
    io.out(JSON.stringify(objects, null, 4));
  } else {
    const { renderTemplate } = await import('../shared/go-template.js');
    for (const one of objects) io.out(renderTemplate(format, one));
  }
  return 0;
}
