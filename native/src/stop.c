#include "stop.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
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
	fprintf(stderr,
		"nook-runtime stop: %s\nusage: nook-runtime stop MONITOR MONITOR_START PID START "
		"SIGNAL MS STATE\n",
		why);
	return NOOK_EXIT_FAILED;
}

static int failed(const struct nook_error *e)
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

/* The monitor's last line starts so (docs/protocol.md, `state`); it is renamed into place
 * whole, so a read sees one line or the other. */
static bool state_exited(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	char line[8];

	return fd >= 0 && read(fd, line, sizeof line) >= 7 && memcmp(line, "exited ", 7) == 0;
}

/* poll() until `deadline`: the number of fds ready, 0 at the deadline. */
static int poll_until(struct pollfd *fds, nfds_t n, long long deadline, long long most,
		      struct nook_error *e)
{
	for (;;) {
		long long left = deadline - monotonic_ms();
		int ready;

		if (left > most)
			left = most;
		ready = poll(fds, n, left > 0 ? (int)left : 0);
		if (ready >= 0)
			return ready;
		if (errno != EINTR)
			return nook_fail(e, errno, "poll");
	}
}

/*
 * Until PID 1 exits (its pidfd turns readable, whoever its parent is) the wait is a single
 * poll. Then the monitor reaps it, ends the network helper and writes the state line: that
 * takes from under a millisecond to ~20 ms (the helper's exit), and the file is read every
 * READ_EVERY_MS meanwhile. Not inotify: releasing an inotify instance waits for a grace
 * period, ~15 ms at this process's exit. The monitor's pidfd ends the wait in either phase.
 */
#define READ_EVERY_MS 1

static int await_end(int monitor_fd, int pid1_fd, const char *state, uint64_t ms,
		     struct nook_error *e)
{
	long long deadline = monotonic_ms() + (long long)ms;
	struct pollfd p[2] = { { .fd = monitor_fd, .events = POLLIN },
			       { .fd = pid1_fd, .events = POLLIN } };
	int n;

	if (pid1_fd >= 0 && !state_exited(state)) {
		n = poll_until(p, 2, deadline, deadline, e);
		if (n <= 0)
			return n < 0 ? -1 : NOOK_STOP_RUNNING;
		if (p[0].revents)
			return NOOK_STOP_ENDED;
	}
	for (;;) {
		if (state_exited(state))
			return NOOK_STOP_ENDED;
		if (monotonic_ms() >= deadline)
			return NOOK_STOP_RUNNING;
		n = poll_until(p, 1, deadline, READ_EVERY_MS, e);
		if (n != 0)
			return n < 0 ? -1 : NOOK_STOP_ENDED;
	}
}

int nook_stop_process(pid_t monitor, uint64_t monitor_start, pid_t pid, uint64_t start, int sig,
		      uint64_t ms, const char *state, struct nook_error *e)
{
	_cleanup_close_ int monitor_fd = -1, pid1_fd = -1;

	/* Opened before the signal: the end it brings cannot be missed. */
	if (nook_open_process(monitor, monitor_start, &monitor_fd, e) < 0)
		return e->err == ESRCH ? NOOK_STOP_ENDED : -1;
	/* PID 1 gone already (ESRCH): its end is on record, or about to be. */
	if (pid != 0 && nook_open_process(pid, start, &pid1_fd, e) < 0 && e->err != ESRCH)
		return -1;
	if (pid1_fd >= 0 && sig != 0 && nook_pidfd_send_signal(pid1_fd, sig) < 0 && errno != ESRCH)
		return nook_fail(e, errno, "signalling process %d", (int)pid);
	return await_end(monitor_fd, pid1_fd, state, ms, e);
}

int nook_stop_main(int argc, char **argv)
{
	struct nook_error e = { 0 };
	uint64_t monitor, monitor_start, pid, start, sig, ms;
	const char *state;
	int status;

	if (argc != 9)
		return usage("wrong number of arguments");
	if (!nook_parse_decimal(argv[2], INT32_MAX, &monitor) || monitor == 0)
		return usage("bad monitor pid");
	if (!nook_parse_decimal(argv[3], UINT64_MAX, &monitor_start))
		return usage("bad monitor start time");
	if (!nook_parse_decimal(argv[4], INT32_MAX, &pid))
		return usage("bad pid");
	if (!nook_parse_decimal(argv[5], UINT64_MAX, &start))
		return usage("bad start time");
	if (!nook_parse_decimal(argv[6], (uint64_t)SIGRTMAX, &sig))
		return usage("bad signal");
	if (!nook_parse_decimal(argv[7], INT32_MAX, &ms))
		return usage("bad timeout");
	state = argv[8];
	if (state[0] != '/')
		return usage("the state file must be an absolute path");
	status = nook_stop_process((pid_t)monitor, monitor_start, (pid_t)pid, start, (int)sig, ms,
				   state, &e);
	return status < 0 ? failed(&e) : status;
}
