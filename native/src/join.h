/* nook exec: the runtime enters a running container's namespaces, forks the command into
 * its PID namespace and monitors it. */
#ifndef NOOK_JOIN_H
#define NOOK_JOIN_H

#include <signal.h>

#include "plan.h"

/* Returns nook-runtime's exit status. Expects @forwarded blocked (main.c); @original is
 * the mask the command starts with. */
int nook_join(const struct nook_plan *plan, const sigset_t *forwarded,
	      const sigset_t *original);

#endif
