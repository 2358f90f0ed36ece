import { ContainerError, UsageError } from '../../errors.js';
import { shownHostIp } from '../../net/ports.js';
import { findContainer, type OpenedContainers } from '../container/lookup.js';

export interface PortIO {
  readonly out: (line: string) => void;
}

/**
 * `nook port CONTAINER [PORT[/PROTO]]`, as podman: every mapping as `80/tcp -> 0.0.0.0:8080`,
 * or only the host addresses of one container port.
 */
export function showPorts(opened: OpenedContainers, ref: string, port: string | undefined, io: PortIO): number {
  const record = findContainer(opened.containers, ref);
  const ports = record.network.ports;
  if (port === undefined) {
    for (const p of ports) io.out(`${p.containerPort}/${p.protocol} -> ${shownHostIp(p.hostIp)}:${p.hostPort}`);
    return 0;
  }
  const m = /^(\d{1,5})(?:\/(tcp|udp))?$/.exec(port);
  if (!m) throw new UsageError(`invalid port "${port}"`, 'give a container port, e.g. 80 or 53/udp');
  const matching = ports.filter((p) => p.containerPort === Number(m[1]) && p.protocol === (m[2] ?? 'tcp'));
  if (matching.length === 0) throw new ContainerError(`no public port ${m[1]}/${m[2] ?? 'tcp'} published for ${record.name}`, `see nook port ${ref}`);
  for (const p of matching) io.out(`${shownHostIp(p.hostIp)}:${p.hostPort}`);
  return 0;
}
