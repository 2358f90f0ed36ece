import { procStatFields } from '../../src/sys/process.js';

/** Gone, or a zombie: it runs nothing any more (a daemon's reaper may not be the test's). */
export function processEnded(pid: number): boolean {
  const state = procStatFields(pid)?.[0];
  return state === undefined || state === 'Z';
}
