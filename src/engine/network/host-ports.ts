import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { ContainerError } from '../../errors.js';
import { shownHostIp, type PortMapping } from '../../net/ports.js';

/** Binds the host address and port for a moment: the port it got, or the bind's error code. */
function tryBind(ip: string, port: number, protocol: PortMapping['protocol']): Promise<number | string> {
  const host = ip === '' ? '0.0.0.0' : ip;
  return new Promise((resolve) => {
    if (protocol === 'udp') {
      const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
      socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
      socket.bind({ address: host, port, exclusive: true }, () => {
        const got = socket.address().port;
        socket.close(() => resolve(got));
      });
      return;
    }
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    server.listen({ host, port, exclusive: true }, () => {
      const address = server.address();
      const got = typeof address === 'object' && address !== null ? address.port : port;
      server.close(() => resolve(got));
    });
  });
}

function portError(p: PortMapping, code: string): ContainerError {
  const where = `${shownHostIp(p.hostIp)}:${p.hostPort}/${p.protocol}`;
  if (code === 'EADDRINUSE') return new ContainerError(`host port ${where} is already in use`, 'stop what listens there, or publish another host port (-p OTHERPORT:CONTAINERPORT)');
  if (code === 'EACCES') return new ContainerError(`host port ${where} cannot be bound: ports below 1024 are the administrator's`, 'publish a host port of 1024 or above, e.g. -p 8080:80');
  if (code === 'EADDRNOTAVAIL') return new ContainerError(`host address ${shownHostIp(p.hostIp)} of -p is not an address of this machine`, 'give one of its addresses, or leave the address out');
  return new ContainerError(`host port ${where} cannot be bound: ${code}`, 'publish another host port');
}

/** -p without a host port and -P: a free port of the host's choosing for each. */
export async function pickHostPorts(ports: readonly PortMapping[]): Promise<PortMapping[]> {
  const picked: PortMapping[] = [];
  for (const p of ports) {
    if (p.hostPort !== 0) {
      picked.push(p);
      continue;
    }
    const got = await tryBind(p.hostIp, 0, p.protocol);
    if (typeof got === 'string') throw portError(p, got);
    picked.push({ ...p, hostPort: got });
  }
  return picked;
}

/**
 * Every published host port is free right now: a taken one is reported by its number before
 * anything starts, rather than as the network helper's failure.
 */
export async function assertPortsFree(ports: readonly PortMapping[]): Promise<void> {
  for (const p of ports) {
    const got = await tryBind(p.hostIp, p.hostPort, p.protocol);
    if (typeof got === 'string') throw portError(p, got);
  }
}
