/**
 * The kernel interfaces a container must not reach, as Docker and podman list them: paths
 * made read-only, and paths masked (a file by /dev/null, a directory by an empty read-only
 * tmpfs) so that host details and host-wide controls stay out of sight.
 */
export const READONLY_PATHS: readonly string[] = [
  '/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger',
];

export const MASKED_PATHS: readonly string[] = [
  '/proc/acpi', '/proc/asound', '/proc/interrupts', '/proc/kcore', '/proc/keys',
  '/proc/latency_stats', '/proc/sched_debug', '/proc/scsi', '/proc/timer_list',
  '/proc/timer_stats', '/sys/firmware', '/sys/devices/virtual/powercap',
];

/** Device nodes bind-mounted from the host: a user namespace may not mknod them. */
export const HOST_DEVICES: readonly string[] = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
