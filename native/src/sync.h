/* The sync socket between the monitor and the container's first process: the messages on
 * it, and what the container side checks on it. Shared by the launch (init.c), the setup
 * ops (ops.c), the monitor and exec (join.c). */
#ifndef NOOK_SYNC_H
#define NOOK_SYNC_H

#include "report.h"

/* Messages on the sync socket. Monitor to container: "your id maps are written".
 * Monitor to container, with a network helper: "the network is ready" (await-network).
 * Container to monitor: "here is your terminal" (the master end attached, console op),
 * "a setup op failed, the report is written". The socket's end (every container copy
 * closed, at exec) tells the monitor that the command runs, unless FAILED came first. */
#define NOOK_SYNC_MAPPED 'M'
#define NOOK_SYNC_NETWORK 'N'
#define NOOK_SYNC_CONSOLE 'T'
#define NOOK_SYNC_FAILED 'F'

/* Asks for SIGKILL when the monitor dies, and fails if it already has. Needed again after
 * every credential change, which clears the setting. */
int nook_arm_deathsig(int syncfd, struct nook_error *e);

#endif
