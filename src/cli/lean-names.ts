/**
 * The commands the entry (entry.ts) hands to the lean bundle: it decides on the command's
 * name alone, and the lean bundle hands every line it does not take on to the full CLI.
 */
export const LEAN_COMMANDS: ReadonlySet<string> = new Set(['ps', 'stop', 'rm']);
