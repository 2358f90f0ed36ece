/* The container side of the launch: the cloned child, PID 1 of its namespace, which waits
 * for its id maps, becomes root in its user namespace and runs the setup ops. */
#ifndef NOOK_INIT_H
#define NOOK_INIT_H

#include <signal.h>
#include <stdnoreturn.h>

#include "plan.h"
#include "report.h"

/* The one message on the sync socket: monitor to container, "your id maps are written". */
#define NOOK_SYNC_MAPPED 'M'

noreturn void nook_init(const struct nook_plan *plan, int syncfd, const sigset_t *mask);

/* Asks for SIGKILL when the monitor dies, and fails if it already has. Needed again after
 * every credential change, which clears the setting. */
int nook_arm_deathsig(int syncfd, struct nook_error *e);

#endif
