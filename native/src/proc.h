/* A process as the host sees it, told apart from a later process that got the same pid:
 * nook records a pid together with its start time (field 22 of /proc/PID/stat, clock
 * ticks since boot) and acts on the process only through a pidfd opened and then checked
 * against that start time. A pidfd keeps naming its process after the pid is reused. */
#ifndef NOOK_PROC_H
#define NOOK_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "report.h"

struct nook_proc_stat {
	pid_t ppid;
	uint64_t start;
};

/* /proc/@pid/stat; @pid 0: the calling process. */
int nook_proc_stat(pid_t pid, struct nook_proc_stat *st, struct nook_error *e);

/* A pidfd of the process @pid started at @start. Fails with ESRCH when @pid is gone or now
 * names another process. */
int nook_open_process(pid_t pid, uint64_t start, int *pidfd, struct nook_error *e);

#endif
