/* The container's stdio when the plan has a stdio record. Without -t the container never
 * gets a terminal of the runtime's (the user's: TIOCSTI would let it type into the user's
 * shell): such an fd becomes a pipe the monitor relays; any other (a file, a pipe into
 * less) is passed on as it is, unless a log wants the output. With -t the container has
 * /dev/null until the console op gives it a terminal of its own. */
#ifndef NOOK_STREAMS_H
#define NOOK_STREAMS_H

#include "plan.h"
#include "report.h"

struct nook_streams {
	int in, out, err;	     /* the container's 0, 1, 2 to be; -1: inherited */
	int stdout_r, stderr_r;	     /* the monitor's read ends (non-blocking); -1: none */
	int stdin_w;		     /* the monitor's end of the container's stdin pipe
				      * (non-blocking): relayed from fd 0 in the foreground,
				      * kept open and never written when detached; -1: none */
};

#define NOOK_STREAMS_NONE { -1, -1, -1, -1, -1, -1 }

int nook_streams_open(const struct nook_plan *plan, struct nook_streams *s,
		      struct nook_error *e);

/* In the container: the container's ends onto 0, 1, 2; every end of @s closed. */
int nook_streams_attach(struct nook_streams *s, struct nook_error *e);

/* In the monitor, once the container has its copies. */
void nook_streams_close_container_ends(struct nook_streams *s);

void nook_streams_close(struct nook_streams *s);

#endif
