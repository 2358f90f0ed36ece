#include "reaper.h"

#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "monitor.h"

/* Read by the handler; the command is never reaped while the handler may run, so the pid
 * stays its own. */
static volatile sig_atomic_t command;

static void forward(int sig)
{
	int saved = errno;

	kill(command, sig);
	errno = saved;
}

/* PID 1 of the container: every orphan of the container is reparented here and must be
 * waited for, and the kernel gives a namespace's init no default signal actions, so
 * signals meant for the command are passed on to it. Ends with the command. */
static noreturn void reap(const sigset_t *forwarded)
{
	struct sigaction action = { .sa_handler = forward, .sa_flags = SA_RESTART };
	siginfo_t info;

	prctl(PR_SET_NAME, "nook-init", 0, 0, 0);
	action.sa_mask = *forwarded;
	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(forwarded, sig) == 1)
			sigaction(sig, &action, NULL);
	sigprocmask(SIG_UNBLOCK, forwarded, NULL);
	for (;;) {
		/* Looked at first, reaped after: the command's end is taken without reaping
		 * it, and with the relays blocked. */
		info.si_pid = 0;
		if (waitid(P_ALL, 0, &info, WEXITED | WNOWAIT) < 0) {
			if (errno == EINTR)
				continue;
			_exit(NOOK_EXIT_FAILED);
		}
		if (info.si_pid != command) {
			waitpid(info.si_pid, NULL, 0);
			continue;
		}
		sigprocmask(SIG_BLOCK, forwarded, NULL);
		if (info.si_code == CLD_EXITED)
			_exit(info.si_status);
		_exit(128 + info.si_status);
	}
}

int nook_op_init(int syncfd, struct nook_error *e)
{
	sigset_t forwarded, original;

	nook_forwarded_signals(&forwarded);
	sigprocmask(SIG_BLOCK, &forwarded, &original);
	command = fork();
	if (command < 0) {
		sigprocmask(SIG_SETMASK, &original, NULL);
		return nook_fail(e, errno, "fork");
	}
	if (command > 0) {
		/* The monitor takes the socket's end as "the command was exec'd": only the
		 * command may hold it now. */
		close(syncfd);
		reap(&forwarded);
	}
	sigprocmask(SIG_SETMASK, &original, NULL);
	return 0;
}
