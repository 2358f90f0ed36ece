import { CommanderError } from 'commander';
import { startInputTrace } from '../sys/input-trace.js';
import { io, printError, reportFailure } from './io.js';
import { createProgram, type Invocation } from './program.js';

async function execute(invocation: Invocation): Promise<number> {
  switch (invocation.command) {
    case 'run': {
      const { runContainer } = await import('../engine/container/run.js');
      return runContainer(invocation.options, { out: io.out, warn: io.err });
    }
    case 'create': {
      const { createCommand } = await import('../engine/container/commands.js');
      return createCommand(invocation.options, io);
    }
    case 'start':
    case 'ps':
    case 'logs':
    case 'exec':
    case 'stop':
    case 'kill':
    case 'rm':
    case 'wait':
    case 'inspect':
    case 'rename':
    case 'container-prune':
    case 'update':
    case 'stats':
    case 'port':
    case 'top': {
      const { executeContainerCommand } = await import('../engine/container/commands.js');
      return executeContainerCommand(invocation, io);
    }
    case 'cp':
    case 'export': {
      const cp = await import('../engine/container/cp.js');
      return invocation.command === 'cp' ? cp.copyCommand(invocation.options, io) : cp.exportCommand(invocation.options, io);
    }
    case 'system-reset':
    case 'system-prune':
    case 'system-df': {
      const system = await import('../engine/system/system.js');
      if (invocation.command === 'system-df') return system.diskUsage(io);
      return invocation.command === 'system-reset'
        ? system.resetSystem({ force: invocation.force }, io)
        : system.pruneSystem({ force: invocation.force, volumes: invocation.volumes }, io);
    }
    case 'system-check': {
      const { checkSystem } = await import('../engine/system/check.js');
      return checkSystem({ repair: invocation.repair, maxAgeMs: invocation.maxAgeMs }, io);
    }
    case 'exists': {
      const { exists } = await import('../engine/system/exists.js');
      return exists(invocation);
    }
    case 'build': {
      const { buildCommand } = await import('../engine/build/build.js');
      return buildCommand(invocation.options, io);
    }
    case 'info': {
      const { showInfo } = await import('../engine/system/info.js');
      return showInfo(invocation.options, io);
    }
    case 'sandbox': {
      const { runSandbox } = await import('../engine/sandbox/run.js');
      return runSandbox(invocation.options, { out: io.out, warn: io.err });
    }
    case 'unshare': {
      const { unshareCommand } = await import('../engine/system/unshare.js');
      return unshareCommand(invocation.argv, io.err);
    }
    case 'volume-create':
    case 'volume-ls':
    case 'volume-inspect':
    case 'volume-rm':
    case 'volume-prune': {
      const volumes = await import('../engine/volume/commands.js');
      if (invocation.command === 'volume-create') return volumes.createVolume(invocation.name, io);
      if (invocation.command === 'volume-ls') return volumes.listVolumes(invocation.options, io);
      if (invocation.command === 'volume-inspect') return volumes.inspectVolumes(invocation.names, io);
      if (invocation.command === 'volume-rm') return volumes.removeVolumes(invocation.options, io);
      return volumes.pruneVolumes(invocation.options, io);
    }
    default: {
      const { executeImageCommand } = await import('../engine/image/commands.js');
      return executeImageCommand(invocation, io);
    }
  }
}

/** Parses argv, runs the command, and turns every failure into one message and an exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let invocation: Invocation | undefined;
  // What `run`, `exec` and `sandbox` read while they decide is what bin/nook checks before replaying them.
  if (['run', 'exec', 'sandbox'].includes(argv[0] ?? '') && process.env.NOOK_NO_FAST_PATH === undefined) startInputTrace();
  try {
    createProgram(io, (i) => (invocation = i), argv).parse([...argv], { from: 'user' });
    if (invocation === undefined) return 0;
    return await execute(invocation);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return 0;
      // A command group (nook volume, nook image) without its subcommand: commander has
      // printed the group's help; say what is missing, as podman does.
      if (err.code === 'commander.help') {
        printError('missing command', 'choose one of the commands listed above');
        return 125;
      }
      printError(err.message.replace(/^error: /, ''), 'see "nook --help" or "nook COMMAND --help"');
      return 125;
    }
    return reportFailure(err);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  () => {
    process.exitCode = 125;
  },
);
