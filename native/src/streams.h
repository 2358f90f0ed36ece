/* The container's stdio when the plan has a stdio record: pipes the monitor reads (the
 * terminal case needs none: the console op sends the monitor its terminal). */
#ifndef NOOK_STREAMS_H
#define NOOK_STREAMS_H

#include "plan.h"
#include "report.h"

struct nook_streams {
	int in, out, err;	     /* the container's 0, 1, 2 to be; -1: inherited */
	int stdout_r, stderr_r;	     /* the monitor's read ends (non-blocking); -1: none */
	int stdin_w;		     /* detached stdin: a write end kept open, never written */
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
