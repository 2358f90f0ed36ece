/* The setup ops, executed in plan order by the container's first process. */
#ifndef NOOK_OPS_H
#define NOOK_OPS_H

#include <stdbool.h>

#include "plan.h"
#include "report.h"

struct nook_ctx {
	int rootfd;		/* the container root: what "/" means to container paths */
	int syncfd;		/* our end of the socket to the monitor */
	bool setgroups_denied;	/* the runtime wrote the gid map itself */
};

/* Runs every setup op; on success the last one, exec, does not return. On failure @failed
 * is the op that failed. */
int nook_run_ops(struct nook_ctx *ctx, const struct nook_plan *plan,
		 const struct nook_op **failed, struct nook_error *e);

#endif
