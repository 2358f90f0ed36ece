/* nook-runtime signal PID START SIGNAL: how nook stop and nook kill signal a container's
 * PID 1. Node cannot hold a pidfd, and a pid alone may name another process by the time a
 * signal reaches it: this mode opens a pidfd, checks the process's start time (proc.h) and
 * signals through the pidfd. */
#ifndef NOOK_KILL_H
#define NOOK_KILL_H

/* Exit status: the signal was sent. */
#define NOOK_SIGNAL_SENT 0
/* Exit status: no process with that pid and start time (it exited, or was reaped and the
 * pid reused): nothing was signalled. */
#define NOOK_SIGNAL_GONE 3

/* Returns the exit status; anything else than the two above is 125, with one line on
 * stderr. */
int nook_signal_main(int argc, char **argv);

/* nook-runtime stop MONITOR MONITOR_START PID START SIGNAL MS: how nook stop ends a
 * container. Signals PID 1 as the signal mode does (PID 0: nothing to signal), then waits
 * up to MS milliseconds for the container's monitor to exit, through a pidfd: the monitor
 * exits once the container's end is on record and its network helper is gone, so the
 * caller learns of it at once instead of polling the state file. */

/* Exit status: the monitor has exited (or was gone before). */
#define NOOK_STOP_EXITED 0
/* Exit status: the monitor still runs after MS milliseconds. */
#define NOOK_STOP_RUNNING 4

/* Returns the exit status; anything else than the two above is 125, with one line on
 * stderr. */
int nook_stop_main(int argc, char **argv);

#endif
