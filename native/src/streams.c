#include "streams.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* @monitor_end: non-blocking, so that draining never hangs on a pipe that a process outside
 * the container's PID namespace still holds, and relaying input never waits on a container
 * that does not read. */
static int open_pipe(int *container_end, int *monitor_end, bool monitor_reads,
		     struct nook_error *e)
{
	int fds[2];

	if (pipe2(fds, O_CLOEXEC) < 0)
		return nook_fail(e, errno, "pipe");
	*monitor_end = fds[monitor_reads ? 0 : 1];
	*container_end = fds[monitor_reads ? 1 : 0];
	if (fcntl(*monitor_end, F_SETFL, O_NONBLOCK) < 0)
		return nook_fail(e, errno, "pipe");
	return 0;
}

static int open_null(int *fd, struct nook_error *e)
{
	*fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (*fd < 0)
		return nook_fail(e, errno, "/dev/null");
	return 0;
}

static int dup_end(int fd, int *copy, struct nook_error *e)
{
	*copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (*copy < 0)
		return nook_fail(e, errno, "dup");
	return 0;
}

/* The terminal device @fd is on; 0: @fd is no terminal. */
static dev_t terminal_of(int fd)
{
	struct stat st;

	if (!isatty(fd) || fstat(fd, &st) < 0)
		return 0;
	return st.st_rdev;
}

static int open_stdin(const struct nook_plan *plan, struct nook_streams *s,
		      struct nook_error *e)
{
	if (!plan->stdio.keep_stdin)
		return open_null(&s->in, e);
	/* Detached, like podman -d -i: the command's reads block instead of meeting EOF. */
	if (!plan->detach && !isatty(0))
		return 0;
	return open_pipe(&s->in, &s->stdin_w, false, e);
}

static int open_outputs(const struct nook_plan *plan, struct nook_streams *s,
			struct nook_error *e)
{
	bool logged = plan->stdio.log != NULL;
	dev_t out_tty = terminal_of(1), err_tty = terminal_of(2);

	if ((logged || out_tty) && open_pipe(&s->out, &s->stdout_r, true, e) < 0)
		return -1;
	/* Both on one terminal: one pipe keeps the order in which the command wrote them. */
	if (!logged && out_tty && out_tty == err_tty)
		return dup_end(s->out, &s->err, e);
	if ((logged || err_tty) && open_pipe(&s->err, &s->stderr_r, true, e) < 0)
		return -1;
	return 0;
}

int nook_streams_open(const struct nook_plan *plan, struct nook_streams *s,
		      struct nook_error *e)
{
	*s = (struct nook_streams)NOOK_STREAMS_NONE;
	if (!plan->stdio.piped)
		return 0;
	if (plan->stdio.tty) {
		if (open_null(&s->in, e) < 0 || dup_end(s->in, &s->out, e) < 0 ||
		    dup_end(s->in, &s->err, e) < 0)
			goto fail;
		return 0;
	}
	if (open_stdin(plan, s, e) < 0 || open_outputs(plan, s, e) < 0)
		goto fail;
	return 0;
fail:
	nook_streams_close(s);
	return -1;
}

int nook_streams_attach(struct nook_streams *s, struct nook_error *e)
{
	int *ends[] = { &s->in, &s->out, &s->err };

	for (int target = 0; target < 3; target++)
		if (*ends[target] >= 0 && dup2(*ends[target], target) < 0)
			return nook_fail(e, errno, "stdio: fd %d", target);
	nook_streams_close(s);
	return 0;
}

void nook_streams_close_container_ends(struct nook_streams *s)
{
	close_fd(&s->in);
	close_fd(&s->out);
	close_fd(&s->err);
}

void nook_streams_close(struct nook_streams *s)
{
	nook_streams_close_container_ends(s);
	close_fd(&s->stdout_r);
	close_fd(&s->stderr_r);
	close_fd(&s->stdin_w);
}
