/* Writing the container's id maps from outside, by the monitor. */
#ifndef NOOK_IDMAP_H
#define NOOK_IDMAP_H

#include <stdbool.h>
#include <sys/types.h>

#include "plan.h"
#include "report.h"

int nook_write_idmap(pid_t pid, const struct nook_idmap *map, bool gid, struct nook_error *e);

#endif
