#include "reaper.h"

#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "monitor.h"

static pid_t command;

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
	int status;
	pid_t pid;

	prctl(PR_SET_NAME, "nook-init", 0, 0, 0);
	action.sa_mask = *forwarded;
	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(forwarded, sig) == 1)
			sigaction(sig, &action, NULL);
	sigprocmask(SIG_UNBLOCK, forwarded, NULL);
	for (;;) {
		pid = waitpid(-1, &status, 0);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0)
			_exit(NOOK_EXIT_FAILED);
		if (pid != command)
			continue;
		if (WIFSIGNALED(status))
			_exit(128 + WTERMSIG(status));
		_exit(WEXITSTATUS(status));
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
