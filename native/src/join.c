#include "join.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "init.h"
#include "monitor.h"
#include "ops.h"
#include "proc.h"
#include "syscalls.h"
#include "util.h"

static int read_proc_file(pid_t pid, const char *file, char *buf, size_t size,
			  struct nook_error *e)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return nook_fail(e, errno, "%s", path);
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return nook_fail(e, errno, "%s", path);
	buf[n] = '\0';
	return 0;
}

/* How many PID namespaces @pid is in, from the NSpid line of its status. */
static int pid_ns_depth(pid_t pid, int *depth, struct nook_error *e)
{
	char status[4096], *line;

	if (read_proc_file(pid, "status", status, sizeof status, e) < 0)
		return -1;
	line = strstr(status, "\nNSpid:");
	if (!line)
		return nook_fail(e, ENOTSUP, "/proc/%d/status: no NSpid", (int)pid);
	*depth = 0;
	for (char *p = line + 7; *p && *p != '\n'; p++)
		if (*p != '\t' && *p != ' ' && (p[-1] == '\t' || p[-1] == ' '))
			(*depth)++;
	return 0;
}

/* An --init container's PID 1 is nook-init, non-dumpable for good, so the kernel lets only
 * host root join its namespaces (EPERM). Its first child is the command, in the same
 * namespaces: a child of PID 1 at PID 1's depth is in PID 1's PID namespace. The child is
 * opened as a pidfd first and checked after: still PID 1's child while PID 1 (held by
 * @init) still runs, so the pid was not reused in between. */
static int open_command(pid_t pid, int init, int *pidfd, struct nook_error *e)
{
	char path[64], children[64];
	struct nook_proc_stat st;
	int depth, child_depth;
	long child;
	int fd;

	snprintf(path, sizeof path, "task/%d/children", (int)pid);
	if (read_proc_file(pid, path, children, sizeof children, e) < 0)
		return -1;
	child = strtol(children, NULL, 10);
	if (child <= 0)
		return nook_fail(e, EPERM, "joining the namespaces of process %d", (int)pid);
	fd = nook_pidfd_open((pid_t)child);
	if (fd < 0)
		return nook_fail(e, errno, "pidfd_open %ld", child);
	if (nook_proc_stat((pid_t)child, &st, e) < 0 || pid_ns_depth(pid, &depth, e) < 0 ||
	    pid_ns_depth((pid_t)child, &child_depth, e) < 0) {
		close(fd);
		return -1;
	}
	if (st.ppid != pid || nook_pidfd_send_signal(init, 0) < 0) {
		close(fd);
		return nook_fail(e, ESRCH, "process %d is gone", (int)pid);
	}
	if (depth != child_depth) {
		close(fd);
		return nook_fail(e, EPERM, "joining the namespaces of process %d", (int)pid);
	}
	*pidfd = fd;
	return 0;
}

/* Whether the container's gid map came with setgroups denied: the user op then must not
 * call setgroups with an empty list (ops.c). Read once the user namespace is joined:
 * /proc/self/setgroups then tells the container's. */
static int read_setgroups(int self, bool *denied, struct nook_error *e)
{
	_cleanup_close_ int fd = openat(self, "setgroups", O_RDONLY | O_CLOEXEC);
	char text[16];
	ssize_t n;

	if (fd < 0)
		return nook_fail(e, errno, "/proc/self/setgroups");
	n = read(fd, text, sizeof text - 1);
	if (n < 0)
		return nook_fail(e, errno, "/proc/self/setgroups");
	text[n] = '\0';
	*denied = strncmp(text, "deny", 4) == 0;
	return 0;
}

/* Joins through a pidfd, checked against the start time the state recorded: a pid that now
 * names another process is never joined. setns on a pidfd enters every listed namespace at
 * once (the user namespace first, which gives the capabilities the others need), or none. */
static int enter(const struct nook_plan *plan, bool *denied, struct nook_error *e)
{
	_cleanup_close_ int self = open("/proc/self", O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int init = -1, command = -1;
	pid_t pid = plan->join.pid;

	if (self < 0)
		return nook_fail(e, errno, "/proc/self");
	if (nook_open_process(pid, plan->join.start, &init, e) < 0)
		return -1;
	if (setns(init, plan->join.flags) < 0) {
		if (errno != EPERM)
			return nook_fail(e, errno, "joining the namespaces of process %d", (int)pid);
		if (open_command(pid, init, &command, e) < 0)
			return -1;
		if (setns(command, plan->join.flags) < 0)
			return nook_fail(e, errno, "joining the namespaces of process %d", (int)pid);
	}
	return read_setgroups(self, denied, e);
}

/* The forked command, in the container's PID namespace. */
static noreturn void run_child(const struct nook_plan *plan, int syncfd, bool denied,
			       const sigset_t *original, struct nook_streams *streams)
{
	struct nook_ctx ctx = { .rootfd = -1, .syncfd = syncfd, .setgroups_denied = denied };
	struct nook_error e = { 0 };

	prctl(PR_SET_NAME, "nook-init", 0, 0, 0);
	nook_monitor_signals_default();
	sigprocmask(SIG_SETMASK, original, NULL);
	/* Still non-dumpable (fork keeps it) until exec: the container's processes cannot
	 * reach into this one. Since setns(mnt), "/" is the container's root. */
	if (nook_arm_deathsig(syncfd, &e) < 0 || nook_streams_attach(streams, &e) < 0) {
		nook_report(-1, "sync", &e);
		nook_container_fail(syncfd, NOOK_EXIT_FAILED);
	}
	ctx.rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (ctx.rootfd < 0) {
		nook_fail(&e, errno, "/");
		nook_report(-1, "sync", &e);
		nook_container_fail(syncfd, NOOK_EXIT_FAILED);
	}
	nook_run_container(&ctx, plan);
}

static int start(const struct nook_plan *plan, struct nook_watch *w, bool denied,
		 const sigset_t *original, struct nook_error *e)
{
	int sync[2];

	if (nook_streams_open(plan, &w->streams, e) < 0)
		return -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync) < 0)
		return nook_fail(e, errno, "socketpair");
	w->syncfd = sync[0];
	w->child = fork();
	if (w->child < 0) {
		close(sync[1]);
		return nook_fail(e, errno, "fork");
	}
	if (w->child == 0) {
		close(sync[0]);
		run_child(plan, sync[1], denied, original, &w->streams);
	}
	close(sync[1]);
	nook_streams_close_container_ends(&w->streams);
	w->pidfd = nook_pidfd_open(w->child);
	if (w->pidfd < 0)
		return nook_fail(e, errno, "pidfd_open");
	return 0;
}

int nook_join(const struct nook_plan *plan, const sigset_t *forwarded,
	      const sigset_t *original)
{
	struct nook_sink out = NOOK_SINK_NONE, err = NOOK_SINK_NONE;
	struct nook_watch w = {
		.child = -1,
		.pidfd = -1,
		.syncfd = -1,
		.streams = NOOK_STREAMS_NONE,
		.logfd = -1,
		.relay_output = true,
		.out = &out,
		.err = &err,
		.relay_input = plan->stdio.keep_stdin,
		.master = -1,
	};
	struct nook_error e = { 0 };
	bool denied = false;

	/* Before anything of the container is opened: from setns(user) on, its root could
	 * otherwise open /proc/<runtime>/exe or read the runtime's memory. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		nook_fail(&e, errno, "PR_SET_DUMPABLE");
		return nook_watch_give_up(&w, -1, "sync", &e);
	}
	/* While /proc is still the host's: a sink may reopen fd 1 or 2 through it. */
	nook_sink_open(&out, 1);
	nook_sink_open(&err, 2);
	if (enter(plan, &denied, &e) < 0)
		return nook_watch_give_up(&w, plan->join.index, "join", &e);
	if (nook_monitor_setup(forwarded, plan->stdio.tty, &e) < 0)
		return nook_watch_give_up(&w, -1, "sync", &e);
	if (start(plan, &w, denied, original, &e) < 0 || nook_watch_start(&w, &e) < 0 ||
	    nook_watch_exit(&w, &e) < 0)
		return nook_watch_give_up(&w, -1, "sync", &e);
	nook_watch_end(&w);
	nook_sink_flush(&out);
	nook_sink_flush(&err);
	return w.status;
}
