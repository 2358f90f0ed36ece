#include "sync.h"

#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>

int nook_arm_deathsig(int syncfd, struct nook_error *e)
{
	char byte;
	ssize_t n;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return nook_fail(e, errno, "PR_SET_PDEATHSIG");
	/* Did the monitor die before the prctl? getppid() cannot say: in a new PID namespace
	 * it is 0 either way. The monitor's end of the sync socket can: it closes only when
	 * the monitor exits. */
	n = recv(syncfd, &byte, 1, MSG_DONTWAIT);
	if (n == 0)
		return nook_fail(e, ESRCH, "the monitor exited");
	if (n > 0)
		return nook_fail(e, EPROTO, "unexpected message '%c' from the monitor", byte);
	if (errno != EAGAIN)
		return nook_fail(e, errno, "sync socket");
	return 0;
}
