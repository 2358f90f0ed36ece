/* --init: a tiny init as the container's PID 1, in front of the command. */
#ifndef NOOK_REAPER_H
#define NOOK_REAPER_H

#include <stdnoreturn.h>

#include "report.h"

/* Forks: the caller's process stays as PID 1, reaping orphans and passing signals on to
 * the child, and exits with the child's status; the child returns 0 and goes on to exec
 * the command. The caller's process lets go of @syncfd. */
int nook_op_init(int syncfd, struct nook_error *e);

#endif
