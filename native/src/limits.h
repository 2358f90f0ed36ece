/* Per-process limits: resource limits, which the container's first process (and exec's)
 * sets on itself, and the OOM killer's score adjustment, which the monitor sets on it. */
#ifndef NOOK_LIMITS_H
#define NOOK_LIMITS_H

#include <sys/types.h>

#include "plan.h"
#include "report.h"

/* setrlimit: lowering works everywhere; raising a hard limit past the one nook-runtime
 * was given needs CAP_SYS_RESOURCE on the host, so it fails with EPERM rootless. */
int nook_op_rlimit(const struct nook_op *op, struct nook_error *e);

/* Monitor side, between clone and the id maps' message: writes /proc/PID/oom_score_adj.
 * From outside because the container, non-dumpable during its setup, does not own its
 * own /proc files; lowering the score fails with EACCES rootless. */
int nook_set_oom_score_adj(const struct nook_plan *plan, pid_t pid, struct nook_error *e);

#endif
