#include "kill.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "decimal.h"
#include "proc.h"
#include "report.h"
#include "syscalls.h"
#include "util.h"

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

static int stop_usage(const char *why)
{
	fprintf(stderr,
		"nook-runtime stop: %s\nusage: nook-runtime stop MONITOR MONITOR_START PID START "
		"SIGNAL MS\n",
		why);
	return NOOK_EXIT_FAILED;
}

static int stop_failed(const struct nook_error *e)
{
	fprintf(stderr, "nook-runtime stop: %s: %s\n", e->detail, strerror(e->err));
	return NOOK_EXIT_FAILED;
}

static long long monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A pidfd is readable once its process has exited, whoever its parent is. */
static int await_exit(int pidfd, uint64_t ms, struct nook_error *e)
{
	long long deadline = monotonic_ms() + (long long)ms;

	for (;;) {
		struct pollfd p = { .fd = pidfd, .events = POLLIN };
		long long left = deadline - monotonic_ms();
		int n = poll(&p, 1, left > 0 ? (int)left : 0);

		if (n > 0)
			return NOOK_STOP_EXITED;
		if (n == 0)
			return NOOK_STOP_RUNNING;
		if (errno != EINTR)
			return nook_fail(e, errno, "poll");
	}
}

int nook_stop_main(int argc, char **argv)
{
	struct nook_error e = { 0 };
	uint64_t monitor, monitor_start, pid, start, sig, ms;
	_cleanup_close_ int monitor_fd = -1;
	int status;

	if (argc != 8)
		return stop_usage("wrong number of arguments");
	if (!nook_parse_decimal(argv[2], INT32_MAX, &monitor) || monitor == 0)
		return stop_usage("bad monitor pid");
	if (!nook_parse_decimal(argv[3], UINT64_MAX, &monitor_start))
		return stop_usage("bad monitor start time");
	if (!nook_parse_decimal(argv[4], INT32_MAX, &pid))
		return stop_usage("bad pid");
	if (!nook_parse_decimal(argv[5], UINT64_MAX, &start))
		return stop_usage("bad start time");
	if (!nook_parse_decimal(argv[6], (uint64_t)SIGRTMAX, &sig) || sig == 0)
		return stop_usage("bad signal");
	if (!nook_parse_decimal(argv[7], INT32_MAX, &ms))
		return stop_usage("bad timeout");
	/* Opened before the signal: the exit it causes cannot be missed. */
	if (nook_open_process((pid_t)monitor, monitor_start, &monitor_fd, &e) < 0)
		return e.err == ESRCH ? NOOK_STOP_EXITED : stop_failed(&e);
	if (pid != 0) {
		_cleanup_close_ int pidfd = -1;

		if (nook_open_process((pid_t)pid, start, &pidfd, &e) < 0) {
			/* PID 1 is gone already: its monitor is about to go too. */
			if (e.err != ESRCH)
				return stop_failed(&e);
		} else if (nook_pidfd_send_signal(pidfd, (int)sig) < 0 && errno != ESRCH) {
			nook_fail(&e, errno, "signalling process %d", (int)pid);
			return stop_failed(&e);
		}
	}
	status = await_exit(monitor_fd, ms, &e);
	return status < 0 ? stop_failed(&e) : status;
}
