#include "network.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdnoreturn.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sync.h"
#include "syscalls.h"
#include "util.h"

/* Above every fd the helper is given, so the dup2s below never overwrite a source. */
#define FD_PARK 10

static int park(int fd)
{
	int parked = fcntl(fd, F_DUPFD_CLOEXEC, FD_PARK);

	close(fd);
	return parked;
}

/* In the forked child: the helper's fds as protocol.md lists them, then exec. Errors go to
 * the log, where the monitor finds them. */
static noreturn void exec_helper(const struct nook_plan *plan, int log, int userns, int netns,
				 int ready, const sigset_t *mask)
{
	char *envp[] = { NULL };
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

	/* Its own session: a ^C at nook's terminal is the container's to handle, not a
	 * reason for its network to go away first. */
	setsid();
	log = park(log);
	userns = park(userns);
	netns = park(netns);
	ready = park(ready);
	null = park(null);
	if (null < 0 || log < 0 || userns < 0 || netns < 0 || ready < 0 ||
	    dup2(null, STDIN_FILENO) < 0 || dup2(log, STDOUT_FILENO) < 0 ||
	    dup2(log, STDERR_FILENO) < 0 || dup2(userns, NOOK_NET_USERNS_FD) < 0 ||
	    dup2(netns, NOOK_NET_NETNS_FD) < 0 || dup2(ready, NOOK_NET_READY_FD) < 0) {
		dprintf(log >= 0 ? log : STDERR_FILENO, "%s: setting up its fds: %s\n",
			plan->network.argv[0], strerror(errno));
		_exit(NOOK_EXIT_FAILED);
	}
	nook_close_range(NOOK_NET_READY_FD + 1, ~0U, 0);
	sigprocmask(SIG_SETMASK, mask, NULL);
	execve(plan->network.argv[0], plan->network.argv, envp);
	dprintf(STDERR_FILENO, "%s: %s\n", plan->network.argv[0], strerror(errno));
	_exit(NOOK_EXIT_CANNOT_EXEC);
}

static int open_ns(pid_t pid, const char *name, struct nook_error *e)
{
	char path[64];
	int fd;

	snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return nook_fail(e, errno, "%s", path);
	return fd;
}

int nook_net_start(const struct nook_plan *plan, pid_t child, const sigset_t *mask,
		   struct nook_net *net, struct nook_error *e)
{
	_cleanup_close_ int userns = -1, netns = -1, log = -1;
	pid_t parent = getpid();
	int ready[2];

	/* The monitor opens the namespaces, not the helper: the container may make itself
	 * non-dumpable (closing them to the user) while the helper is still starting. */
	userns = open_ns(child, "user", e);
	if (userns < 0)
		return -1;
	netns = open_ns(child, "net", e);
	if (netns < 0)
		return -1;
	log = open(plan->network.log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (log < 0)
		return nook_fail(e, errno, "%s", plan->network.log);
	/* A socket left by a helper that was killed would make the next one fail to bind. */
	if (plan->network.api_socket)
		unlink(plan->network.api_socket);
	if (pipe2(ready, O_CLOEXEC) < 0)
		return nook_fail(e, errno, "pipe");
	net->pid = fork();
	if (net->pid < 0) {
		close(ready[0]);
		close(ready[1]);
		return nook_fail(e, errno, "fork");
	}
	if (net->pid == 0) {
		close(ready[0]);
		/* Dies with the monitor, even a SIGKILLed one: nothing else would end it. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != parent)
			_exit(NOOK_EXIT_FAILED);
		exec_helper(plan, log, userns, netns, ready[1], mask);
	}
	close(ready[1]);
	net->ready = ready[0];
	return 0;
}

/* What the helper said as it gave up, for the report: its last line (earlier ones are its
 * warnings), or the line naming an option it refused (its usage follows that one). */
static void failure_line(const char *path, char *line, size_t size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	char text[4096], *end, *start;
	ssize_t n = fd < 0 ? -1 : read(fd, text, sizeof text - 1);

	text[n > 0 ? n : 0] = '\0';
	start = strstr(text, "unrecognized option");
	if (!start)
		start = strstr(text, "invalid option");
	if (start) {
		while (start > text && start[-1] != '\n')
			start--;
		snprintf(line, size, "%.*s", (int)strcspn(start, "\n"), start);
		return;
	}
	end = text + strlen(text);
	while (end > text && end[-1] == '\n')
		*--end = '\0';
	start = strrchr(text, '\n');
	snprintf(line, size, "%s", start ? start + 1 : text);
}

static int helper_failed(const struct nook_plan *plan, struct nook_net *net,
			 struct nook_error *e)
{
	const char *helper = plan->network.argv[0];
	char output[512];
	int status;

	while (waitpid(net->pid, &status, 0) < 0)
		if (errno != EINTR)
			return nook_fail(e, errno, "waiting for %s", helper);
	net->pid = -1;
	failure_line(plan->network.log, output, sizeof output);
	if (output[0])
		return nook_fail(e, 0, "%s: %s", basename(helper), output);
	if (WIFSIGNALED(status))
		return nook_fail(e, 0, "%s killed by signal %d", helper, WTERMSIG(status));
	return nook_fail(e, 0, "%s exited with status %d before it was ready", helper,
			 WEXITSTATUS(status));
}

/* 1: ready; 0: the container exited first; -1: the helper failed. */
static int wait_ready(const struct nook_plan *plan, struct nook_net *net, int child_pidfd,
		      struct nook_error *e)
{
	struct pollfd fds[] = { { .fd = net->ready, .events = POLLIN },
				{ .fd = child_pidfd, .events = POLLIN } };
	char byte;
	ssize_t n;

	for (;;) {
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return nook_fail(e, errno, "poll");
		}
		if (fds[0].revents)
			break;
		if (fds[1].revents)
			return 0;
	}
	do
		n = read(net->ready, &byte, 1);
	while (n < 0 && errno == EINTR);
	close(net->ready);
	net->ready = -1;
	if (n == 1)
		return 1;
	return helper_failed(plan, net, e);
}

/* One request to the helper's API (slirp4netns: one JSON object per connection); a reply
 * that does not start with {"return" is the helper's refusal. */
static int send_request(const char *path, const char *request, struct nook_error *e)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;
	char reply[1024];
	size_t len = 0, want = strlen(request);
	ssize_t n;

	if (strlen(path) >= sizeof addr.sun_path)
		return nook_fail(e, ENAMETOOLONG, "%s", path);
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0)
		return nook_fail(e, errno, "%s", path);
	for (size_t done = 0; done < want; done += (size_t)n) {
		n = send(fd, request + done, want - done, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			n = 0;
		else if (n < 0)
			return nook_fail(e, errno, "%s", path);
	}
	shutdown(fd, SHUT_WR);
	while (len + 1 < sizeof reply && (n = read(fd, reply + len, sizeof reply - 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return nook_fail(e, errno, "%s", path);
		len += (size_t)n;
	}
	reply[len] = '\0';
	reply[strcspn(reply, "\n")] = '\0';
	if (strncmp(reply, "{\"return\"", 9) != 0)
		return nook_fail(e, 0, "%s: %s", request, len ? reply : "no reply");
	return 0;
}

int nook_net_await(const struct nook_plan *plan, struct nook_net *net, int child_pidfd,
		   int syncfd, struct nook_error *e)
{
	const char msg = NOOK_SYNC_NETWORK;
	int r = wait_ready(plan, net, child_pidfd, e);

	if (r <= 0)
		return r;
	for (char **request = plan->network.requests; *request; request++)
		if (send_request(plan->network.api_socket, *request, e) < 0)
			return -1;
	/* Lost if the container has failed meanwhile: the monitor hears of that next. */
	send(syncfd, &msg, 1, MSG_NOSIGNAL);
	return 0;
}

void nook_net_stop(const struct nook_plan *plan, struct nook_net *net)
{
	if (net->ready >= 0)
		close(net->ready);
	net->ready = -1;
	if (net->pid > 0) {
		kill(net->pid, SIGKILL);
		while (waitpid(net->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	net->pid = -1;
	if (plan->network.api_socket)
		unlink(plan->network.api_socket);
}

int nook_op_await_network(int syncfd, struct nook_error *e)
{
	char msg;
	ssize_t n;

	do
		n = recv(syncfd, &msg, 1, 0);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return nook_fail(e, ESRCH, "the monitor exited before the network was ready");
	if (n < 0)
		return nook_fail(e, errno, "waiting for the network");
	if (msg != NOOK_SYNC_NETWORK)
		return nook_fail(e, EPROTO, "unexpected message: expected '%c', got '%c'",
				 NOOK_SYNC_NETWORK, msg);
	return 0;
}

/* In the launcher: enters the shared namespaces and clones the container as the monitor's
 * child (CLONE_PARENT). Tells the monitor the pid, or the errno, and exits; returns only
 * in the container. */
static void launch_shared(const struct nook_plan *plan, int userns, int netns, int report)
{
	int r[2] = { 0, 0 };
	pid_t pid;

	if (setns(userns, CLONE_NEWUSER) < 0) {
		r[1] = errno;
	} else if (setns(netns, CLONE_NEWNET) < 0) {
		r[1] = errno;
	} else {
		pid = (pid_t)syscall(SYS_clone, (unsigned long)plan->clone_flags | CLONE_PARENT,
				     0, 0, 0, 0);
		if (pid == 0) {
			close(report);
			return;
		}
		r[0] = pid;
		r[1] = pid < 0 ? errno : 0;
	}
	/* The monitor reads a short report as the launcher's failure. */
	_exit(nook_write_all(report, r, sizeof r) < 0 ? 1 : 0);
}

pid_t nook_net_clone_shared(const struct nook_plan *plan, struct nook_error *e)
{
	_cleanup_close_ int userns = -1, netns = -1, result = -1;
	int pipefd[2], r[2] = { 0, EPROTO };
	pid_t launcher;
	ssize_t n;

	userns = open_ns(plan->share_net.pid, "user", e);
	if (userns < 0)
		return -1;
	netns = open_ns(plan->share_net.pid, "net", e);
	if (netns < 0)
		return -1;
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return nook_fail(e, errno, "pipe");
	launcher = fork();
	if (launcher < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return nook_fail(e, errno, "fork");
	}
	if (launcher == 0) {
		close(pipefd[0]);
		launch_shared(plan, userns, netns, pipefd[1]);
		return 0;
	}
	close(pipefd[1]);
	result = pipefd[0];
	do
		n = read(result, r, sizeof r);
	while (n < 0 && errno == EINTR);
	while (waitpid(launcher, NULL, 0) < 0 && errno == EINTR)
		;
	if (n != sizeof r || r[1] != 0)
		return nook_fail(e, n == sizeof r ? r[1] : EPROTO,
				 "creating the namespaces in those of process %d",
				 (int)plan->share_net.pid);
	return r[0];
}
