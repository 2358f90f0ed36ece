#include "forward.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdnoreturn.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "syscalls.h"

#define LISTENER_FD 3

/* Copies one direction to its end, then passes the end on as a half close. A failure
 * ends the whole connection, so the copy the other way stops too. */
static noreturn void copy(int from, int to)
{
	char buf[64 * 1024];

	for (;;) {
		ssize_t n = read(from, buf, sizeof buf);

		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0) {
			shutdown(to, SHUT_WR);
			_exit(0);
		}
		if (n < 0)
			break;
		for (ssize_t done = 0; done < n;) {
			ssize_t w = send(to, buf + done, (size_t)(n - done), MSG_NOSIGNAL);

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				goto failed;
			done += w;
		}
	}
failed:
	shutdown(from, SHUT_RDWR);
	shutdown(to, SHUT_RDWR);
	_exit(1);
}

/* One connection: its own process, and one more for the way back, so that neither
 * direction can stall the other and no event loop is needed. */
static noreturn void relay(int client, const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int upstream = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	pid_t pid;

	/* plan.c checked that the path fits. */
	strcpy(addr.sun_path, path);
	if (upstream < 0 || connect(upstream, (struct sockaddr *)&addr, sizeof addr) < 0)
		_exit(1);
	pid = fork();
	if (pid < 0)
		_exit(1);
	if (pid == 0)
		copy(client, upstream);
	copy(upstream, client);
}

static noreturn void serve(const char *path)
{
	/* The connections' processes are reaped by the kernel. */
	signal(SIGCHLD, SIG_IGN);
	for (;;) {
		int client = accept4(LISTENER_FD, NULL, NULL, SOCK_CLOEXEC);

		if (client < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE ||
			    errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
				continue;
			_exit(1);
		}
		if (fork() == 0) {
			close(LISTENER_FD);
			relay(client, path);
		}
		close(client);
	}
}

/* Holds only the listener (as fd 3) and /dev/null as stdio: not the sync socket, whose end
 * tells the monitor the command runs, nor the report fd, nor the container's terminal. */
static noreturn void become_forwarder(int listener, const char *path)
{
	int null;

	prctl(PR_SET_NAME, "nook-forward", 0, 0, 0);
	if (listener != LISTENER_FD && dup2(listener, LISTENER_FD) < 0)
		_exit(1);
	if (nook_close_range(LISTENER_FD + 1, ~0U, 0) < 0)
		_exit(1);
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0)
		_exit(1);
	for (int fd = 0; fd < 3; fd++)
		if (dup2(null, fd) < 0)
			_exit(1);
	serve(path);
}

int nook_op_forward(const struct nook_op *op, struct nook_error *e)
{
	struct sockaddr_in addr = {
		.sin_family = AF_INET,
		.sin_port = htons(op->forward.port),
		.sin_addr = { htonl(INADDR_LOOPBACK) },
	};
	int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	pid_t pid;

	if (listener < 0)
		return nook_fail(e, errno, "socket");
	if (setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(listener, 128) < 0) {
		nook_fail(e, errno, "127.0.0.1:%u", (unsigned)op->forward.port);
		close(listener);
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		nook_fail(e, errno, "fork");
		close(listener);
		return -1;
	}
	if (pid == 0)
		become_forwarder(listener, op->forward.socket);
	close(listener);
	return 0;
}
