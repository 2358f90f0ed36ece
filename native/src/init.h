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
#include "sync.h"

/* @streams: the container's stdio to be (streams.h). */
noreturn void nook_init(const struct nook_plan *plan, int syncfd, const sigset_t *mask,
			struct nook_streams *streams);

/* Tells the monitor the command will not run (the report is written) and exits. */
noreturn void nook_container_fail(int syncfd, int status);

/* Runs the setup ops, which end in exec; on failure reports, tells the monitor and exits
 * with 125, 126 or 127. */
noreturn void nook_run_container(struct nook_ctx *ctx, const struct nook_plan *plan);

#endif
