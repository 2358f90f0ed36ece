#include "cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

/* How long the monitor waits for the kernel to let go of the container's exited tasks. */
#define REMOVE_TRIES 100
#define REMOVE_PAUSE_NS 10000000L

int nook_cgroup_enter(const struct nook_plan *plan, pid_t pid, struct nook_error *e)
{
	char path[PATH_MAX], text[16];
	_cleanup_close_ int fd = -1;
	int len;

	if (!plan->cgroup.path)
		return 0;
	if (snprintf(path, sizeof path, "%s/cgroup.procs", plan->cgroup.path) >= (int)sizeof path)
		return nook_fail(e, ENAMETOOLONG, "%s", plan->cgroup.path);
	fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return nook_fail(e, errno, "%s", path);
	len = snprintf(text, sizeof text, "%d", (int)pid);
	if (write(fd, text, (size_t)len) != len)
		return nook_fail(e, errno, "%s", path);
	return 0;
}

int nook_cgroup_unshare(const struct nook_plan *plan, struct nook_error *e)
{
	if (plan->cgroup.unshare_ns && unshare(CLONE_NEWCGROUP) < 0)
		return nook_fail(e, errno, "the cgroup namespace");
	return 0;
}

void nook_cgroup_remove(const struct nook_plan *plan)
{
	const struct timespec pause = { 0, REMOVE_PAUSE_NS };

	if (!plan->cgroup.path)
		return;
	/* EBUSY while the last killed processes of the PID namespace are still exiting. */
	for (int i = 0; i < REMOVE_TRIES; i++) {
		if (rmdir(plan->cgroup.path) == 0 || errno != EBUSY)
			return;
		nanosleep(&pause, NULL);
	}
}
