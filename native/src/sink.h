/* Where the monitor relays a container's output in the foreground: its own fd 1 or 2, as
 * nook handed them on (the user's terminal, a pipe into less, a file). A sink is written
 * without ever blocking the monitor: a reader that stalls holds back the container (the
 * monitor stops reading its output once a sink holds NOOK_SINK_LIMIT bytes, as a full pipe
 * would), never the monitor, which goes on reaping, relaying signals and keeping the
 * state. Only after the container's end does the monitor wait for a slow reader
 * (nook_sink_flush). A reader that is gone (EPIPE) gets nothing more. */
#ifndef NOOK_SINK_H
#define NOOK_SINK_H

#include <stdbool.h>
#include <stddef.h>

#define NOOK_SINK_LIMIT (64 * 1024)

struct nook_sink {
	int fd;		/* -1: nothing to write to (no relay, or the reader is gone) */
	bool own;	/* fd is the sink's own non-blocking opening of the target */
	bool socket;	/* written with send(MSG_DONTWAIT) */
	bool gated;	/* written only after poll said POLLOUT, PIPE_BUF bytes at a time */
	char *buf;	/* what the target has not taken yet */
	size_t len, cap;
};

#define NOOK_SINK_NONE { .fd = -1 }

/* A sink writing to @target. Pipes and terminals get an open file description of their
 * own, non-blocking (the one nook handed on is shared with nook and whoever else holds
 * it, so its flags stay as they are); sockets are sent to without waiting; a regular file
 * or a device never keeps a writer waiting long. */
void nook_sink_open(struct nook_sink *s, int target);

/* Takes @len bytes: writes what the target takes now and keeps the rest. */
void nook_sink_put(struct nook_sink *s, const char *data, size_t len);

/* The target became writable (POLLOUT): writes what it takes now. */
void nook_sink_push(struct nook_sink *s);

/* Whether bytes wait for the target. */
bool nook_sink_pending(const struct nook_sink *s);

/* Whether the container's output should wait: the sink holds its limit. */
bool nook_sink_full(const struct nook_sink *s);

/* Waits until the target has taken everything, or its reader is gone. */
void nook_sink_flush(struct nook_sink *s);

void nook_sink_close(struct nook_sink *s);

#endif
