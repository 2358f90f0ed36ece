/* The container side of the launch: the cloned child, PID 1 of its namespace, which waits
 * for its id maps, becomes root in its user namespace and runs the setup ops. */
#ifndef NOOK_INIT_H
#define NOOK_INIT_H

#include <signal.h>
#include <stdnoreturn.h>

#include "ops.h"
#include "plan.h"
#include "report.h"
#include "streams.h"

/* Messages on the sync socket. Monitor to container: "your id maps are written".
 * Container to monitor: "here is your terminal" (the master end attached, console op),
 * "a setup op failed, the report is written". The socket's end (every container copy
 * closed, at exec) tells the monitor that the command runs, unless FAILED came first. */
#define NOOK_SYNC_MAPPED 'M'
#define NOOK_SYNC_CONSOLE 'T'
#define NOOK_SYNC_FAILED 'F'

/* @streams: the container's stdio to be (streams.h). */
noreturn void nook_init(const struct nook_plan *plan, int syncfd, const sigset_t *mask,
			struct nook_streams *streams);

/* Tells the monitor the command will not run (the report is written) and exits. */
noreturn void nook_container_fail(int syncfd, int status);

/* Runs the setup ops, which end in exec; on failure reports, tells the monitor and exits
 * with 125, 126 or 127. */
noreturn void nook_run_container(struct nook_ctx *ctx, const struct nook_plan *plan);

/* Asks for SIGKILL when the monitor dies, and fails if it already has. Needed again after
 * every credential change, which clears the setting. */
int nook_arm_deathsig(int syncfd, struct nook_error *e);

#endif
