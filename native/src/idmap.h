/* Writing the container's id maps from outside, by the monitor. */
#ifndef NOOK_IDMAP_H
#define NOOK_IDMAP_H

#include <stdbool.h>
#include <sys/types.h>

#include "plan.h"
#include "report.h"

/* Writes both maps of @pid; on failure @failed is the map that could not be written. */
int nook_write_idmaps(pid_t pid, const struct nook_idmap *uid, const struct nook_idmap *gid,
		      const struct nook_idmap **failed, struct nook_error *e);

#endif
