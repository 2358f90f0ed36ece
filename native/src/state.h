/* The state file (protocol.md, "State file"): one line that nook reads to tell a running
 * container from an exited one, and a live monitor from a recycled pid. */
#ifndef NOOK_STATE_H
#define NOOK_STATE_H

#include <stdint.h>
#include <sys/types.h>

#include "report.h"

long long nook_realtime_ns(void);

/* @container, @container_start: the container's PID 1 as the host sees it, and its start
 * time (proc.h), which nook checks before it signals or joins that pid. */
int nook_state_running(const char *path, pid_t container, uint64_t container_start,
		       long long started_ns, unsigned long restarts, struct nook_error *e);

int nook_state_exited(const char *path, int status, long long started_ns,
		      long long finished_ns, unsigned long restarts, struct nook_error *e);

#endif
