import { openContainers } from './lookup.js';
import type { ContainerInvocation, ContainerIO } from './options.js';

/** The commands the lean path runs (src/cli/lean.ts). */
export type LeanInvocation = Extract<ContainerInvocation, { command: 'ps' | 'stop' | 'rm' }>;

/**
 * ps, stop and rm: what the lean entry (src/cli/lean-main.ts) runs, and the full CLI too.
 * Nothing here reaches what creating or starting a container needs, so the lean bundle
 * stays small; each command loads only its own module (ps spawns nothing, so it does not
 * load node:child_process, ~3 ms).
 */
export async function executeLeanCommand(invocation: LeanInvocation, io: ContainerIO): Promise<number> {
  const opened = await openContainers();
  switch (invocation.command) {
    case 'ps': {
      const { listContainers } = await import('./ps.js');
      return listContainers(opened, invocation.options, io);
    }
    case 'stop': {
      const { stopContainers } = await import('./stop.js');
      return stopContainers(opened, invocation.containers, invocation.timeout, io);
    }
    case 'rm': {
      const { removeContainers } = await import('./rm.js');
      return removeContainers(opened, invocation.containers, invocation.force, invocation.volumes, invocation.timeout, io);
    }
  }
}
