/* The container's user-mode network stack (pasta, slirp4netns): a helper the monitor starts
 * against the container's namespaces while the container runs its setup ops, and kills
 * when the container ends. The container waits for it before exec (await-network). */
#ifndef NOOK_NETWORK_H
#define NOOK_NETWORK_H

#include <signal.h>
#include <sys/types.h>

#include "plan.h"
#include "report.h"

/* The helper's fds, which the plan's argv refers to as /proc/self/fd/N. */
#define NOOK_NET_USERNS_FD 3
#define NOOK_NET_NETNS_FD 4
#define NOOK_NET_READY_FD 5

/* One start's helper. */
struct nook_net {
	pid_t pid;	/* -1: none started, or reaped */
	int ready;	/* read end of the ready pipe; -1 once the helper is ready */
};

#define NOOK_NET_NONE ((struct nook_net){ .pid = -1, .ready = -1 })

/* Starts the helper of @plan's network record against the namespaces of @child, whose id
 * maps are written. It starts with the signal mask @mask. */
int nook_net_start(const struct nook_plan *plan, pid_t child, const sigset_t *mask,
		   struct nook_net *net, struct nook_error *e);

/* Waits until the helper is ready (or the container has exited: @child_pidfd), sends the
 * plan's requests to its API socket, then tells the container (@syncfd) to go on. */
int nook_net_await(const struct nook_plan *plan, struct nook_net *net, int child_pidfd,
		   int syncfd, struct nook_error *e);

/* Kills and reaps the helper: the container it served is gone. */
void nook_net_stop(const struct nook_plan *plan, struct nook_net *net);

/* clone(2) of the container into the user and network namespaces of the plan's share-net
 * process (another container's), with the plan's other namespaces new: fork-like, 0 in
 * the container, its pid in the monitor, whose child it is. */
pid_t nook_net_clone_shared(const struct nook_plan *plan, struct nook_error *e);

/* The await-network op, in the container: blocks until the monitor says the network is
 * ready. */
int nook_op_await_network(int syncfd, struct nook_error *e);

#endif
