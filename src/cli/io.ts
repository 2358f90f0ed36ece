import { writeSync } from 'node:fs';
import { NookError } from '../errors.js';
import type { CliIO } from './program.js';

/** SIGPIPE's status: how a Unix tool ends when its reader goes away (`nook ps | head -1`). */
const BROKEN_PIPE = 128 + 13;

let stdoutStream: NodeJS.WriteStream | null = null;

/**
 * process.stdout from the first write that fd 1 would block: its stream waits for a reader
 * that set the pipe non-blocking. Its errors are watched as the direct writes' are.
 */
function stdoutAsStream(): NodeJS.WriteStream {
  if (stdoutStream === null) {
    stdoutStream = process.stdout;
    stdoutStream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      process.exit(BROKEN_PIPE);
    });
  }
  return stdoutStream;
}

/**
 * Writes straight to fd 1, as process.stdout does on Linux for files, pipes and terminals
 * (synchronously): setting up process.stdout's stream would cost every start ~3 ms.
 */
function writeOut(line: string): void {
  const data = Buffer.from(`${line}\n`);
  let done = 0;
  if (stdoutStream === null) {
    try {
      while (done < data.length) done += writeSync(1, data, done);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') process.exit(BROKEN_PIPE);
      if (code !== 'EAGAIN') throw err;
    }
  }
  stdoutAsStream().write(data.subarray(done));
}

/** Where every command of the CLI prints. */
export const io: CliIO = {
  out: writeOut,
  err: (line) => process.stderr.write(`${line}\n`),
};

/** One line: what went wrong, then how to fix it. */
export function printError(message: string, hint: string | undefined): void {
  io.err(`Error: ${message}${hint ? ` (hint: ${hint})` : ''}`);
}

/** A command's failure as one message; its exit code (125 for what nook did not expect). */
export function reportFailure(err: unknown): number {
  if (err instanceof NookError) {
    printError(err.message, err.hint);
    return err.exitCode;
  }
  io.err(`Error: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  return 125;
}
