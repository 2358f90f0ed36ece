import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';

/** First host id of the test user's subordinate range in /etc/subuid or /etc/subgid. */
export function subordinateStart(file: string): number {
  return subordinateRange(file).start;
}

/** The test user's (first) subordinate range in /etc/subuid or /etc/subgid. */
export function subordinateRange(file: string): { start: number; count: number } {
  const { username } = userInfo();
  const uid = String(process.getuid!());
  const line = readFileSync(file, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${username}:`) || l.startsWith(`${uid}:`));
  if (line === undefined) throw new Error(`the test user ${username} needs a range in ${file} (see .ci/run)`);
  const [, start, count] = line.split(':');
  return { start: Number(start), count: Number(count) };
}
