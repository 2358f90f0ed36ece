#include "limits.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "util.h"

int nook_op_rlimit(const struct nook_op *op, struct nook_error *e)
{
	const struct rlimit limit = { .rlim_cur = op->rlimit.soft, .rlim_max = op->rlimit.hard };

	if (setrlimit(op->rlimit.resource, &limit) < 0)
		return nook_fail(e, errno, "%s", op->rlimit.name);
	return 0;
}

int nook_set_oom_score_adj(const struct nook_plan *plan, pid_t pid, struct nook_error *e)
{
	char path[64], text[16];
	_cleanup_close_ int fd = -1;
	int len;

	if (!plan->oom_score_adj.set)
		return 0;
	snprintf(path, sizeof path, "/proc/%d/oom_score_adj", (int)pid);
	len = snprintf(text, sizeof text, "%d", plan->oom_score_adj.value);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, text, (size_t)len) != len)
		return nook_fail(e, errno, "%s", text);
	return 0;
}
