#include "sync.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>

int nook_arm_deathsig(int syncfd, struct nook_error *e)
{
	struct pollfd p = { .fd = syncfd, .events = POLLRDHUP };

	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return nook_fail(e, errno, "PR_SET_PDEATHSIG");
	/* Did the monitor die before the prctl? getppid() cannot say: in a new PID namespace
	 * it is 0 either way. The monitor's end of the sync socket can: it closes only when
	 * the monitor exits. Polled for the hang-up, not read: a message the monitor sent
	 * (the network is ready) may be waiting for its op. */
	if (poll(&p, 1, 0) < 0)
		return nook_fail(e, errno, "sync socket");
	if (p.revents & (POLLRDHUP | POLLHUP))
		return nook_fail(e, ESRCH, "the monitor exited");
	return 0;
}
