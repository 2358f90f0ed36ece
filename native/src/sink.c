#include "sink.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

void nook_sink_open(struct nook_sink *s, int target)
{
	struct stat st;
	char path[32];
	int fd;

	*s = (struct nook_sink)NOOK_SINK_NONE;
	if (fstat(target, &st) < 0)
		return;
	s->fd = target;
	if (S_ISSOCK(st.st_mode)) {
		s->socket = true;
		return;
	}
	if (!S_ISFIFO(st.st_mode) && !isatty(target))
		return;
	snprintf(path, sizeof path, "/proc/self/fd/%d", target);
	fd = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd >= 0) {
		s->fd = fd;
		s->own = true;
	} else if (errno == ENXIO) {
		/* A pipe without a reader. */
		s->fd = -1;
	} else {
		/* Not ours to open (a terminal of another user's, after su): one write per
		 * POLLOUT, small enough for a pipe to take at once. */
		s->gated = true;
	}
}

static void drop(struct nook_sink *s)
{
	if (s->own)
		close(s->fd);
	s->fd = -1;
	s->own = false;
	s->len = 0;
}

static ssize_t write_some(struct nook_sink *s, const char *p, size_t len)
{
	if (s->socket)
		return send(s->fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (s->gated && len > PIPE_BUF)
		len = PIPE_BUF;
	return write(s->fd, p, len);
}

void nook_sink_push(struct nook_sink *s)
{
	size_t done = 0;

	while (s->fd >= 0 && done < s->len) {
		ssize_t n = write_some(s, s->buf + done, s->len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			drop(s);
			return;
		}
		done += (size_t)n;
		if (s->gated)
			break;
	}
	memmove(s->buf, s->buf + done, s->len - done);
	s->len -= done;
}

void nook_sink_put(struct nook_sink *s, const char *data, size_t len)
{
	if (s->fd < 0 || len == 0)
		return;
	if (s->len + len > s->cap) {
		size_t cap = s->cap ? s->cap : NOOK_SINK_LIMIT;
		char *buf;

		while (cap < s->len + len)
			cap *= 2;
		buf = realloc(s->buf, cap);
		if (!buf) {
			/* The log has it; this reader goes without. */
			return;
		}
		s->buf = buf;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, data, len);
	s->len += len;
	if (!s->gated)
		nook_sink_push(s);
}

bool nook_sink_pending(const struct nook_sink *s)
{
	return s->fd >= 0 && s->len > 0;
}

bool nook_sink_full(const struct nook_sink *s)
{
	return s->fd >= 0 && s->len >= NOOK_SINK_LIMIT;
}

void nook_sink_flush(struct nook_sink *s)
{
	while (nook_sink_pending(s)) {
		struct pollfd p = { .fd = s->fd, .events = POLLOUT };

		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			drop(s);
		else
			nook_sink_push(s);
	}
}

void nook_sink_close(struct nook_sink *s)
{
	drop(s);
	free(s->buf);
	s->buf = NULL;
	s->cap = 0;
}
