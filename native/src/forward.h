/* The sandbox's one way out: a listener on the container's own 127.0.0.1 whose connections
 * are relayed to a Unix socket, where nook's filtering proxy waits outside. */
#ifndef NOOK_FORWARD_H
#define NOOK_FORWARD_H

#include "plan.h"
#include "report.h"

/* Listens on 127.0.0.1:PORT in the container's network namespace and forks nook-forward,
 * which relays every connection to the Unix socket at the op's path (a container path).
 * The caller keeps nothing of it. */
int nook_op_forward(const struct nook_op *op, struct nook_error *e);

#endif
