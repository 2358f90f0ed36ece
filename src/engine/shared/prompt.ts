import { createInterface } from 'node:readline/promises';
import { UsageError } from '../../errors.js';

/** Asks on the terminal; refuses when stdin is not one, since nothing could answer. */
function requireTerminal(what: string, flag: string): void {
  if (!process.stdin.isTTY) throw new UsageError(`no ${what} given, and standard input is not a terminal to ask on`, `give ${flag}`);
}

export async function promptLine(question: string, what: string, flag: string): Promise<string> {
  requireTerminal(what, flag);
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(question)).trim();
  } finally {
    rl.close();
  }
}

/** Reads a line with echo off (raw mode), as `podman login` asks for a password. */
export async function promptHidden(question: string, what: string, flag: string): Promise<string> {
  requireTerminal(what, flag);
  process.stderr.write(question);
  const stdin = process.stdin;
  stdin.setRawMode(true);
  stdin.resume();
  try {
    return await new Promise<string>((resolve, reject) => {
      let value = '';
      const onData = (chunk: Buffer) => {
        for (const ch of chunk.toString('utf8')) {
          if (ch === '\r' || ch === '\n') return done(() => resolve(value));
          if (ch === '\u0003') return done(() => reject(new UsageError('login interrupted')));
          if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
          else value += ch;
        }
      };
      const done = (settle: () => void) => {
        stdin.off('data', onData);
        settle();
      };
      stdin.on('data', onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
    process.stderr.write('\n');
  }
}
