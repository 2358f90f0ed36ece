/* The runtime's parent side once the container runs: relays signals, waits, and turns
 * the container's end into nook-runtime's exit status. */
#ifndef NOOK_MONITOR_H
#define NOOK_MONITOR_H

#include <signal.h>
#include <sys/types.h>

#include "report.h"

void nook_forwarded_signals(sigset_t *set);

/* Expects @forwarded blocked; unblocks it once the relays are in place. Returns the exit
 * status for nook-runtime, or -1 on error. */
int nook_monitor(pid_t child, const sigset_t *forwarded, struct nook_error *e);

#endif
