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
