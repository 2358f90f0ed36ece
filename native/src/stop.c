#include "stop.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
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

/* Watches the state file's directory for files renamed into it: how every state line
 * arrives. */
static int watch_state(const char *path, struct nook_error *e)
{
	char dir[PATH_MAX];
	int fd;

	if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir)
		return nook_fail(e, ENAMETOOLONG, "%s", path);
	fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0)
		return nook_fail(e, errno, "inotify_init1");
	if (inotify_add_watch(fd, dirname(dir), IN_MOVED_TO) < 0) {
		nook_fail(e, errno, "watching %s", dir);
		close(fd);
		return -1;
	}
	return fd;
}

/* A pidfd is readable once its process has exited, whoever its parent is. */
static int await_end(int monitor_fd, int watch_fd, const char *state, uint64_t ms,
		     struct nook_error *e)
{
	long long deadline = monotonic_ms() + (long long)ms;

	for (;;) {
		struct pollfd p[2] = { { .fd = monitor_fd, .events = POLLIN },
				       { .fd = watch_fd, .events = POLLIN } };
		char events[4096];
		long long left;
		int n;

		if (state_exited(state))
			return NOOK_STOP_ENDED;
		left = deadline - monotonic_ms();
		n = poll(p, 2, left > 0 ? (int)left : 0);
		if (n < 0 && errno != EINTR)
			return nook_fail(e, errno, "poll");
		if (n == 0)
			return NOOK_STOP_RUNNING;
		if (n > 0 && p[0].revents)
			return NOOK_STOP_ENDED;
		/* Which file arrived does not matter: the state is read again. */
		while (read(watch_fd, events, sizeof events) > 0)
			;
	}
}

int nook_stop_main(int argc, char **argv)
{
	struct nook_error e = { 0 };
	uint64_t monitor, monitor_start, pid, start, sig, ms;
	_cleanup_close_ int monitor_fd = -1, watch_fd = -1;
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
	if (!nook_parse_decimal(argv[6], (uint64_t)SIGRTMAX, &sig) || sig == 0)
		return usage("bad signal");
	if (!nook_parse_decimal(argv[7], INT32_MAX, &ms))
		return usage("bad timeout");
	state = argv[8];
	if (state[0] != '/')
		return usage("the state file must be an absolute path");
	/* Both opened before the signal: the end it brings cannot be missed. */
	if (nook_open_process((pid_t)monitor, monitor_start, &monitor_fd, &e) < 0)
		return e.err == ESRCH ? NOOK_STOP_ENDED : failed(&e);
	watch_fd = watch_state(state, &e);
	if (watch_fd < 0)
		return failed(&e);
	if (pid != 0) {
		_cleanup_close_ int pidfd = -1;

		/* PID 1 gone already: its end is on record, or about to be. */
		if (nook_open_process((pid_t)pid, start, &pidfd, &e) < 0) {
			if (e.err != ESRCH)
				return failed(&e);
		} else if (nook_pidfd_send_signal(pidfd, (int)sig) < 0 && errno != ESRCH) {
			nook_fail(&e, errno, "signalling process %d", (int)pid);
			return failed(&e);
		}
	}
	status = await_end(monitor_fd, watch_fd, state, ms, &e);
	return status < 0 ? failed(&e) : status;
}
