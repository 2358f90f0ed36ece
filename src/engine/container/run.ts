import { compilePlan } from '../../plan/compile.js';
import { explainPlan } from '../../plan/explain.js';
import { runtimeDirPath } from '../../sys/paths.js';
import { createContainer, plannedContainer } from './create.js';
import type { CreateOptions } from './create-options.js';
import { etcFilePaths } from './etc-files.js';
import { NETWORK_LOG, prepareNetwork } from '../network/prepare.js';
import { removeContainer } from './remove.js';
import { containerSecurity } from './security.js';
import { containerSpec, startContainer } from './start.js';

export interface RunOptions extends CreateOptions {
  /** -d: print the id and leave the container running in the background. */
  readonly detach: boolean;
  readonly explain: boolean;
}

export interface RunIO {
  readonly out: (line: string) => void;
  readonly warn: (line: string) => void;
}

/** `run --explain`: the plan as shell commands; nothing is created. */
async function explainRun(opts: RunOptions, io: RunIO): Promise<number> {
  const { record, containers, idMaps } = await plannedContainer(opts, io);
  const security = await containerSecurity(record.security, record.network.mode.kind, { dir: runtimeDirPath(), write: false });
  const network = await prepareNetwork(record, containers, idMaps, { runtimeDir: runtimeDirPath(), logPath: containers.path(record.id, NETWORK_LOG), dryRun: true });
  const spec = containerSpec(record, idMaps, security, etcFilePaths(containers.path(record.id, 'userdata'), network.hosts !== null), network);
  for (const line of explainPlan(compilePlan(spec))) io.out(line);
  return 0;
}

/**
 * create + start. In the foreground: the container's exit code (and with --rm the container
 * is gone when it returns); with -d: prints the id once the command runs.
 */
export async function runContainer(opts: RunOptions, io: RunIO): Promise<number> {
  if (opts.explain) return explainRun(opts, io);
  const { record, containers, idMaps } = await createContainer(opts, io);
  let started = false;
  try {
    const replay = { nameAsked: opts.name !== undefined, asksRegistry: opts.source.kind === 'image' && opts.source.pull.policy === 'always' };
    const status = await startContainer(containers, idMaps, record, { detach: opts.detach, replay }, io);
    started = true;
    if (opts.detach) io.out(record.id);
    return status;
  } finally {
    // podman's --rm also takes a container that failed to start, and its anonymous volumes.
    if (opts.remove && (!opts.detach || !started)) {
      await removeContainer(containers, idMaps, record, { volumes: true }).catch((err: Error) => io.warn(`WARN: container ${record.name} not removed: ${err.message}`));
    }
  }
}
