#include "streams.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* @reader: the monitor's end, non-blocking so that draining never hangs on a pipe that a
 * process outside the container's PID namespace still holds. */
static int open_pipe(int *reader, int *writer, struct nook_error *e)
{
	int fds[2];

	if (pipe2(fds, O_CLOEXEC) < 0)
		return nook_fail(e, errno, "pipe");
	*reader = fds[0];
	*writer = fds[1];
	if (fcntl(*reader, F_SETFL, O_NONBLOCK) < 0)
		return nook_fail(e, errno, "pipe");
	return 0;
}

static int open_stdin(const struct nook_plan *plan, struct nook_streams *s,
		      struct nook_error *e)
{
	int fds[2];

	if (!plan->stdio.keep_stdin) {
		s->in = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (s->in < 0)
			return nook_fail(e, errno, "/dev/null");
		return 0;
	}
	if (!plan->detach)
		return 0;
	/* Like podman -d -i: the command's reads block instead of meeting EOF. */
	if (pipe2(fds, O_CLOEXEC) < 0)
		return nook_fail(e, errno, "pipe");
	s->in = fds[0];
	s->stdin_w = fds[1];
	return 0;
}

int nook_streams_open(const struct nook_plan *plan, struct nook_streams *s,
		      struct nook_error *e)
{
	*s = (struct nook_streams)NOOK_STREAMS_NONE;
	if (!plan->stdio.piped || plan->stdio.tty)
		return 0;
	if (open_stdin(plan, s, e) < 0)
		goto fail;
	if (open_pipe(&s->stdout_r, &s->out, e) < 0 || open_pipe(&s->stderr_r, &s->err, e) < 0)
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
