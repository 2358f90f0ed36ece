/**
 * What the runtime gives a network helper (docs/protocol.md, `network`): the container's
 * user namespace on fd 3, its network namespace on fd 4, and fd 5 to write to once ready.
 */
export const HELPER_USERNS = '/proc/self/fd/3';
export const HELPER_NETNS = '/proc/self/fd/4';
export const HELPER_READY_FD = 5;
