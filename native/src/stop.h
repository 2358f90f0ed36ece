/* nook-runtime stop MONITOR MONITOR_START PID START SIGNAL MS STATE: how nook stop ends a
 * container. Signals PID 1 as the signal mode does (kill.h; PID 0 or SIGNAL 0: nothing is
 * signalled, which is how nook wait waits),
 * then waits up to MS milliseconds for the container's end to be on record: its state file
 * STATE saying `exited` (the monitor writes it once the container and its network helper
 * are gone), or its monitor gone. pidfds of PID 1 and the monitor tell when to look, so
 * it learns of the end within a millisecond instead of a polling interval. */
#ifndef NOOK_STOP_H
#define NOOK_STOP_H

#include <stdint.h>
#include <sys/types.h>

#include "report.h"

/* Exit status: the end is on record (or the monitor is gone). */
#define NOOK_STOP_ENDED 0
/* Exit status: the container still runs after MS milliseconds. */
#define NOOK_STOP_RUNNING 4

/* What the mode does, for bin/nook's stop too (native/launcher/stop_command.c): NOOK_STOP_ENDED,
 * NOOK_STOP_RUNNING, or -1 with @e filled. @monitor gone already counts as ended. */
int nook_stop_process(pid_t monitor, uint64_t monitor_start, pid_t pid, uint64_t start, int sig,
		      uint64_t ms, const char *state, struct nook_error *e);

/* Returns the exit status; anything else than the two above is 125, with one line on
 * stderr. */
int nook_stop_main(int argc, char **argv);

#endif
