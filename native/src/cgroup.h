/* The container's own cgroup (protocol.md, `cgroup` record): nook makes the directory and
 * writes its limits; the runtime moves the container into it from outside, before the
 * container runs anything, and removes it when the monitor is done. */
#ifndef NOOK_CGROUP_H
#define NOOK_CGROUP_H

#include <sys/types.h>

#include "plan.h"
#include "report.h"

/* Monitor side, between clone and the id maps' message: writes @pid to cgroup.procs. */
int nook_cgroup_enter(const struct nook_plan *plan, pid_t pid, struct nook_error *e);

/* Container side, once in its cgroup: a cgroup namespace rooted there. */
int nook_cgroup_unshare(const struct nook_plan *plan, struct nook_error *e);

/* Monitor side, after the last start: removes the (by then empty) cgroup, best effort. */
void nook_cgroup_remove(const struct nook_plan *plan);

#endif
