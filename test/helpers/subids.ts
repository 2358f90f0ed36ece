import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';

/** First host id of the test user's subordinate range in /etc/subuid or /etc/subgid. */
export function subordinateStart(file: string): number {
  const { username } = userInfo();
  const uid = String(process.getuid!());
  const line = readFileSync(file, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${username}:`) || l.startsWith(`${uid}:`));
  if (line === undefined) throw new Error(`the test user ${username} needs a range in ${file} (see .ci/run)`);
  return Number(line.split(':')[1]);
}
