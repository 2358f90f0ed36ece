#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "decimal.h"
#include "syscalls.h"
#include "util.h"

/* The fields after the command name, which may hold spaces and ')': counted from the last
 * ')'. Field 3 (state) is the first. */
static char *field(char *after_name, int number)
{
	char *p = after_name;

	for (int n = 3; p && n < number; n++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	return p;
}

static bool parse_field(char *text, uint64_t max, uint64_t *out)
{
	size_t len = text ? strcspn(text, " \n") : 0;
	char saved;
	bool ok;

	if (!text || len == 0)
		return false;
	saved = text[len];
	text[len] = '\0';
	ok = nook_parse_decimal(text, max, out);
	text[len] = saved;
	return ok;
}

int nook_proc_stat(pid_t pid, struct nook_proc_stat *st, struct nook_error *e)
{
	char path[32], stat[1024], *name_end;
	_cleanup_close_ int fd = -1;
	uint64_t ppid, start;
	ssize_t n;

	if (pid)
		snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	else
		snprintf(path, sizeof path, "/proc/self/stat");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return nook_fail(e, errno, "%s", path);
	n = read(fd, stat, sizeof stat - 1);
	if (n < 0)
		return nook_fail(e, errno, "%s", path);
	stat[n] = '\0';
	name_end = strrchr(stat, ')');
	if (!name_end || name_end[1] != ' ' ||
	    !parse_field(field(name_end + 2, 4), INT32_MAX, &ppid) ||
	    !parse_field(field(name_end + 2, 22), UINT64_MAX, &start))
		return nook_fail(e, EPROTO, "%s: unreadable", path);
	st->ppid = (pid_t)ppid;
	st->start = start;
	return 0;
}

/* The pidfd first, the start time after: if the pid was reused before the pidfd was
 * opened, the start time read now is the newcomer's; if it is reused after, the process
 * the pidfd names is gone and the start time is again another's. A match means the pidfd
 * names the process that started then. */
int nook_open_process(pid_t pid, uint64_t start, int *pidfd, struct nook_error *e)
{
	struct nook_proc_stat st;
	int fd = nook_pidfd_open(pid);

	if (fd < 0)
		return nook_fail(e, errno, "pidfd_open %d", (int)pid);
	if (nook_proc_stat(pid, &st, e) < 0) {
		close(fd);
		if (e->err == ENOENT)
			e->err = ESRCH;
		return -1;
	}
	if (st.start != start) {
		close(fd);
		return nook_fail(e, ESRCH,
				 "process %d is gone: the pid now names a process started at %llu, "
				 "not %llu",
				 (int)pid, (unsigned long long)st.start, (unsigned long long)start);
	}
	*pidfd = fd;
	return 0;
}
