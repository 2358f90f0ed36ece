#include "kill.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "decimal.h"
#include "proc.h"
#include "report.h"
#include "syscalls.h"

static int usage(const char *why)
{
	fprintf(stderr, "nook-runtime signal: %s\nusage: nook-runtime signal PID START SIGNAL\n",
		why);
	return NOOK_EXIT_FAILED;
}

static int failed(const struct nook_error *e)
{
	fprintf(stderr, "nook-runtime signal: %s: %s\n", e->detail, strerror(e->err));
	return NOOK_EXIT_FAILED;
}

int nook_signal_main(int argc, char **argv)
{
	struct nook_error e = { 0 };
	uint64_t pid, start, sig;
	int pidfd;

	if (argc != 5)
		return usage("wrong number of arguments");
	if (!nook_parse_decimal(argv[2], INT32_MAX, &pid) || pid == 0)
		return usage("bad pid");
	if (!nook_parse_decimal(argv[3], UINT64_MAX, &start))
		return usage("bad start time");
	/* 0 checks only that the process is there. */
	if (!nook_parse_decimal(argv[4], (uint64_t)SIGRTMAX, &sig))
		return usage("bad signal");
	if (nook_open_process((pid_t)pid, start, &pidfd, &e) < 0)
		return e.err == ESRCH ? NOOK_SIGNAL_GONE : failed(&e);
	if (nook_pidfd_send_signal(pidfd, (int)sig) < 0) {
		/* Exited since the check: a zombie still takes signals, a reaped process not. */
		if (errno == ESRCH)
			return NOOK_SIGNAL_GONE;
		nook_fail(&e, errno, "signalling process %d", (int)pid);
		return failed(&e);
	}
	close(pidfd);
	return NOOK_SIGNAL_SENT;
}
