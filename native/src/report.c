#include "report.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int nook_fail(struct nook_error *e, int err, const char *fmt, ...)
{
	va_list ap;

	e->err = err;
	va_start(ap, fmt);
	vsnprintf(e->detail, sizeof e->detail, fmt, ap);
	va_end(ap);
	return -1;
}

static size_t put_netstring(char *out, size_t room, const char *field)
{
	int n = snprintf(out, room, "%zu:%s,", strlen(field), field);

	return n < 0 ? 0 : (size_t)n;
}

void nook_report(int index, const char *op, const struct nook_error *e)
{
	char index_text[16], errno_text[16];
	char record[sizeof e->detail + 128];
	size_t len = 0, done = 0;
	sigset_t pipe_signal;

	/* A reader gone from fd 4 must not kill us with SIGPIPE before the message reaches
	 * stderr. Left blocked: reporting is the last thing a process here does. */
	sigemptyset(&pipe_signal);
	sigaddset(&pipe_signal, SIGPIPE);
	sigprocmask(SIG_BLOCK, &pipe_signal, NULL);

	snprintf(index_text, sizeof index_text, "%d", index);
	snprintf(errno_text, sizeof errno_text, "%d", e->err);
	len += put_netstring(record + len, sizeof record - len, "error");
	len += put_netstring(record + len, sizeof record - len, index_text);
	len += put_netstring(record + len, sizeof record - len, op);
	len += put_netstring(record + len, sizeof record - len, errno_text);
	len += put_netstring(record + len, sizeof record - len, e->detail);

	while (done < len) {
		ssize_t n = write(NOOK_REPORT_FD, record + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* Nobody reads the report: the error must still reach a human. */
			fprintf(stderr, "nook-runtime: %s: %s%s%s\n", op, e->detail,
				e->err ? ": " : "", e->err ? strerror(e->err) : "");
			return;
		}
		done += (size_t)n;
	}
}
