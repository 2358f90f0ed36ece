import { readFileSync } from 'node:fs';

/**
 * Whether a process with this pid exists. EPERM means it exists but is another user's: it
 * may be one of ours in another guise (a setuid helper), so it counts as alive.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The fields of /proc/PID/stat from the third on (state, ppid, …), or null when the process
 * is gone. The command name before them may hold spaces and parentheses: counted from the
 * last ')'.
 */
export function procStatFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}
