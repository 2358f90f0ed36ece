#include "monitor.h"

#include <errno.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const int forwarded_signals[] = {
	SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH,
};

#define N_FORWARDED (sizeof forwarded_signals / sizeof forwarded_signals[0])

/* nook relays what its terminal sent it, and the container, in the same process group,
 * already got that signal from the kernel: such a relay arriving this soon is a duplicate. */
#define DUPLICATE_WINDOW_NS 500000000LL

static pid_t container;
/* When each signal last came from the terminal; 0: not pending a duplicate. */
static long long terminal_sent_ns[NSIG];

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void relay(int sig, siginfo_t *info, void *context)
{
	int saved = errno;
	long long now = now_ns();

	(void)context;
	if (info->si_code == SI_KERNEL) {
		terminal_sent_ns[sig] = now;
	} else if (info->si_code == SI_USER && info->si_pid == getppid() &&
		   terminal_sent_ns[sig] && now - terminal_sent_ns[sig] < DUPLICATE_WINDOW_NS) {
		terminal_sent_ns[sig] = 0;
	} else {
		kill(container, sig);
	}
	errno = saved;
}

void nook_forwarded_signals(sigset_t *set)
{
	sigemptyset(set);
	for (size_t i = 0; i < N_FORWARDED; i++)
		sigaddset(set, forwarded_signals[i]);
}

int nook_monitor(pid_t child, const sigset_t *forwarded, struct nook_error *e)
{
	struct sigaction action = { .sa_sigaction = relay, .sa_flags = SA_SIGINFO | SA_RESTART };
	int status;

	container = child;
	/* One relay at a time: terminal_sent_ns needs no locking. */
	action.sa_mask = *forwarded;
	for (size_t i = 0; i < N_FORWARDED; i++)
		if (sigaction(forwarded_signals[i], &action, NULL) < 0)
			return nook_fail(e, errno, "sigaction");
	/* Signals that arrived since the clone were held back; they are relayed now. */
	sigprocmask(SIG_UNBLOCK, forwarded, NULL);

	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			return nook_fail(e, errno, "waitpid");
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
