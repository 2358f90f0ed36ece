/* nook-runtime: reads a plan on fd 3, creates the container it describes and stays as its
 * monitor (or joins a running container, join.c); `nook-runtime signal` signals one
 * (kill.c). protocol.md is the contract; the handshake:
 *
 *   monitor                                   container (PID 1 of its namespace)
 *   read + decode the whole plan
 *   [detach: fork the daemon monitor; the first process waits for "started" or a failure]
 *   clone(NEWUSER | namespaces) ------------> wait on the sync socket
 *   write uid map, gid map (newuidmap or /proc)
 *   send NOOK_SYNC_MAPPED    ---------------> setresuid(0), PDEATHSIG, non-dumpable
 *                            <--------------- setup ops; console: NOOK_SYNC_CONSOLE + terminal
 *                            <--------------- exec: the socket ends (or NOOK_SYNC_FAILED)
 *   state "running"; the first process exits 0
 *   relay signals and output, wait
 *   state "exited"; restart? else exit-command or exit with the container's status
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdnoreturn.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "idmap.h"
#include "init.h"
#include "join.h"
#include "limits.h"
#include "kill.h"
#include "stop.h"
#include "monitor.h"
#include "network.h"
#include "plan.h"
#include "proc.h"
#include "report.h"
#include "state.h"
#include "syscalls.h"

#define PLAN_FD 3

#define BACKOFF_FIRST_NS 100000000LL
#define BACKOFF_MAX_NS 10000000000LL

/* What the monitor keeps from one start of the container to the next. */
struct launch {
	const struct nook_plan *plan;
	sigset_t original;	/* the signal mask nook-runtime was given */
	int logfd;		/* -1: no log file */
	int notify;		/* detached: the first process waits on it; -1 once told */
	unsigned long restarts;
	struct nook_sink out, err;	/* foreground: where the container's output goes */
};

/* Where a start failed, for the report. */
struct failure {
	int index;
	const char *op;
};

/* Clones the container and writes its id maps; from here the container runs its setup
 * ops on its own. */
static int create_container(struct launch *l, struct nook_watch *w, struct nook_net *net,
			    struct failure *f, struct nook_error *e)
{
	const struct nook_plan *plan = l->plan;
	const char msg = NOOK_SYNC_MAPPED;
	const struct nook_idmap *failed;
	struct nook_proc_stat child;
	int sync[2];

	*f = (struct failure){ plan->stdio.index, "stdio" };
	if (nook_streams_open(plan, &w->streams, e) < 0)
		return -1;
	*f = (struct failure){ -1, "sync" };
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync) < 0)
		return nook_fail(e, errno, "socketpair");
	w->syncfd = sync[0];
	/* The raw system call, fork-like (no new stack): glibc's clone() wants a stack, and
	 * unshare() cannot put the caller itself into a new PID namespace. */
	/* A restart finds the monitor non-dumpable (below), which the clone would pass on, and
	 * the monitor could not open the container's namespaces for its network helper. No
	 * container process exists between two starts. */
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
		return nook_fail(e, errno, "PR_SET_DUMPABLE");
	if (plan->share_net.pid)
		w->child = nook_net_clone_shared(plan, e);
	else
		w->child = (pid_t)syscall(SYS_clone, (unsigned long)plan->clone_flags | SIGCHLD,
					  0, 0, 0, 0);
	if (w->child < 0) {
		close(sync[1]);
		if (plan->share_net.pid) {
			*f = (struct failure){ plan->share_net.index, "share-net" };
			return -1;
		}
		*f = (struct failure){ -1, "clone" };
		return nook_fail(e, errno, "creating the namespaces");
	}
	if (w->child == 0) {
		close(sync[0]);
		if (l->notify >= 0)
			close(l->notify);
		if (l->logfd >= 0)
			close(l->logfd);
		nook_init(plan, sync[1], &l->original, &w->streams);
	}
	close(sync[1]);
	nook_streams_close_container_ends(&w->streams);
	/* Only after clone: the container would inherit it, and newuidmap refuses to map a
	 * non-dumpable process. Keeps the monitor's memory, fds and /proc/PID/exe out of
	 * reach of every process that is not root on the host. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return nook_fail(e, errno, "PR_SET_DUMPABLE");
	w->pidfd = nook_pidfd_open(w->child);
	if (w->pidfd < 0)
		return nook_fail(e, errno, "pidfd_open");
	/* The child is not reaped yet: /proc/PID is still its own. */
	if (nook_proc_stat(w->child, &child, e) < 0)
		return -1;
	w->child_start = child.start;
	if (nook_cgroup_enter(plan, w->child, e) < 0) {
		*f = (struct failure){ plan->cgroup.index, "cgroup" };
		return -1;
	}
	if (nook_set_oom_score_adj(plan, w->child, e) < 0) {
		*f = (struct failure){ plan->oom_score_adj.index, "oom-score-adj" };
		return -1;
	}
	/* The helper starts while the maps are written and the container runs its setup ops;
	 * the container waits for it only before exec (await-network). */
	*f = (struct failure){ plan->network.index, "network" };
	if (plan->network.argv && plan->network.before_maps &&
	    nook_net_start(plan, w->child, &l->original, net, e) < 0)
		return -1;
	/* A shared user namespace has its maps. */
	if (!plan->share_net.pid &&
	    nook_write_idmaps(w->child, &plan->uid_map, &plan->gid_map, &failed, e) < 0) {
		*f = (struct failure){ failed->index,
				       failed == &plan->uid_map ? "uid-map" : "gid-map" };
		return -1;
	}
	*f = (struct failure){ plan->network.index, "network" };
	if (plan->network.argv && !plan->network.before_maps &&
	    nook_net_start(plan, w->child, &l->original, net, e) < 0)
		return -1;
	/* syncfd stays open as long as the container may run setup ops: it reads its
	 * closing as the monitor's death (init.c). */
	*f = (struct failure){ -1, "sync" };
	if (send(sync[0], &msg, 1, MSG_NOSIGNAL) != 1)
		return nook_fail(e, errno, "telling the container its maps are written");
	*f = (struct failure){ plan->network.index, "network" };
	if (plan->network.argv && nook_net_await(plan, net, w->pidfd, sync[0], e) < 0)
		return -1;
	return 0;
}

/* The report, if any, is written by now: nook reads fd 4 once the first process is gone.
 * Later reports have no reader, so fd 4 becomes /dev/null, which also keeps the number
 * from being reused for anything a report could then land in. */
static void tell_first_process(struct launch *l, int status)
{
	unsigned char byte = (unsigned char)status;
	int null;

	if (l->notify < 0)
		return;
	null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null >= 0) {
		dup3(null, NOOK_REPORT_FD, O_CLOEXEC);
		close(null);
	}
	/* Fails for good only when the first process is gone (nook was killed): nobody to
	 * tell then. */
	while (write(l->notify, &byte, 1) < 0 && errno == EINTR)
		;
	close(l->notify);
	l->notify = -1;
}

/* One start of the container, watched to its end. Returns its exit status (125 when the
 * monitor failed); @started: the command was exec'd and its state written. */
static int watch_once(struct launch *l, struct nook_net *net, bool *started,
		      long long *started_ns)
{
	const struct nook_plan *plan = l->plan;
	struct nook_watch w = {
		.child = -1,
		.pidfd = -1,
		.syncfd = -1,
		.streams = NOOK_STREAMS_NONE,
		.logfd = l->logfd,
		.relay_output = !plan->detach,
		.out = &l->out,
		.err = &l->err,
		.relay_input = !plan->detach && plan->stdio.keep_stdin,
		.drain_to_eof = plan->clone_flags & CLONE_NEWPID,
		.master = -1,
	};
	struct failure f = { -1, "sync" };
	struct nook_error e = { 0 };

	*started = false;
	*started_ns = nook_realtime_ns();
	if (create_container(l, &w, net, &f, &e) < 0 || nook_watch_start(&w, &e) < 0)
		return nook_watch_give_up(&w, f.index, f.op, &e);
	if (!w.failed) {
		*started_ns = nook_realtime_ns();
		if (plan->state && nook_state_running(plan->state, w.child, w.child_start,
						      *started_ns, l->restarts, &e) < 0)
			return nook_watch_give_up(&w, plan->state_index, "state", &e);
		*started = true;
		tell_first_process(l, 0);
	}
	if (nook_watch_exit(&w, &e) < 0)
		return nook_watch_give_up(&w, -1, "sync", &e);
	nook_watch_end(&w);
	return w.status;
}

/* The network helper lives exactly as long as the start it serves. */
static int run_once(struct launch *l, bool *started, long long *started_ns)
{
	struct nook_net net = NOOK_NET_NONE;
	int status = watch_once(l, &net, started, started_ns);

	nook_net_stop(l->plan, &net);
	return status;
}

static bool stop_file_exists(const struct nook_plan *plan)
{
	return access(plan->restart.stop_file, F_OK) == 0 || errno != ENOENT;
}

static bool wants_restart(const struct launch *l, int status)
{
	const struct nook_plan *plan = l->plan;

	if (plan->restart.policy == NOOK_RESTART_NO)
		return false;
	if (plan->restart.policy == NOOK_RESTART_ON_FAILURE && status == 0)
		return false;
	if (plan->restart.max && l->restarts >= plan->restart.max)
		return false;
	return !stop_file_exists(plan);
}

/* 100 ms, doubling per restart, at most 10 s: a command that fails at once does not
 * spin. Signals stay blocked meanwhile and reach the next start. */
static void back_off(unsigned long restarts)
{
	long long ns = BACKOFF_FIRST_NS;
	struct timespec ts;

	for (unsigned long i = 0; i < restarts && ns < BACKOFF_MAX_NS; i++)
		ns *= 2;
	if (ns > BACKOFF_MAX_NS)
		ns = BACKOFF_MAX_NS;
	ts = (struct timespec){ .tv_sec = ns / 1000000000LL, .tv_nsec = ns % 1000000000LL };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int run(struct launch *l)
{
	const struct nook_plan *plan = l->plan;

	for (;;) {
		struct nook_error e = { 0 };
		long long started_ns;
		bool started;
		int status = run_once(l, &started, &started_ns);

		/* After a failed start the report is written already: one record per run. */
		if (plan->state && nook_state_exited(plan->state, status, started_ns,
						     nook_realtime_ns(), l->restarts, &e) < 0 &&
		    started)
			nook_report(plan->state_index, "state", &e);
		tell_first_process(l, status);
		/* Only now, with the end on record: a reader that stalls must not keep nook
		 * stop waiting. */
		nook_sink_flush(&l->out);
		nook_sink_flush(&l->err);
		/* A start failure is the plan's or the image's: it would fail again. */
		if (!started || !wants_restart(l, status))
			return status;
		back_off(l->restarts);
		if (stop_file_exists(plan))
			return status;
		l->restarts++;
	}
}

/* The first process: forks the daemon monitor and exits once it tells how the start went,
 * with the status a foreground run would have had. Returns in the daemon. */
static int detach(struct launch *l, struct nook_error *e)
{
	unsigned char status;
	int notify[2], null;
	ssize_t n;
	pid_t pid;

	/* The daemon outlives nook: it keeps nothing of nook's but the report fd, until the
	 * start is known. */
	if (nook_close_range(NOOK_REPORT_FD + 1, ~0U, 0) < 0)
		return nook_fail(e, errno, "close_range");
	if (pipe2(notify, O_CLOEXEC) < 0)
		return nook_fail(e, errno, "pipe");
	pid = fork();
	if (pid < 0)
		return nook_fail(e, errno, "fork");
	if (pid > 0) {
		close(notify[1]);
		do
			n = read(notify[0], &status, 1);
		while (n < 0 && errno == EINTR);
		_exit(n == 1 ? status : NOOK_EXIT_FAILED);
	}
	close(notify[0]);
	l->notify = notify[1];
	/* No terminal, no signals from nook's session, no directory of nook's kept busy. */
	if (setsid() < 0 || chdir("/") < 0)
		return nook_fail(e, errno, "daemon");
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0)
		return nook_fail(e, errno, "/dev/null");
	for (int fd = 0; fd < 3; fd++)
		dup2(null, fd);
	close(null);
	return 0;
}

static int open_log(struct launch *l, struct nook_error *e)
{
	const char *path = l->plan->stdio.log;

	if (!path)
		return 0;
	/* Appending: a restarted container adds to what it logged before. */
	l->logfd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (l->logfd < 0)
		return nook_fail(e, errno, "%s", path);
	return 0;
}

/* In place of the monitor (nook's --rm for detached containers): the monitor is done, and
 * the command gets only fds 0-2. */
static noreturn void run_exit_command(const struct launch *l, int status)
{
	sigprocmask(SIG_SETMASK, &l->original, NULL);
	nook_close_range(3, ~0U, 0);
	execve(l->plan->exit_argv[0], l->plan->exit_argv, l->plan->exit_envp);
	_exit(status);
}

static int finish(struct launch *l, int status)
{
	if (l->logfd >= 0)
		close(l->logfd);
	nook_cgroup_remove(l->plan);
	if (l->plan->exit_argv)
		run_exit_command(l, status);
	return status;
}

/* The monitor could not even try a start. */
static int fail_early(struct launch *l, int index, const char *op, const struct nook_error *e)
{
	nook_report(index, op, e);
	tell_first_process(l, NOOK_EXIT_FAILED);
	return finish(l, NOOK_EXIT_FAILED);
}

int main(int argc, char **argv)
{
	struct nook_plan plan = { 0 };
	struct launch l = {
		.plan = &plan,
		.logfd = -1,
		.notify = -1,
		.out = NOOK_SINK_NONE,
		.err = NOOK_SINK_NONE,
	};
	struct nook_error e = { 0 };
	sigset_t forwarded, blocked;
	pid_t parent;

	if (argc > 1 && strcmp(argv[1], "signal") == 0)
		return nook_signal_main(argc, argv);
	if (argc > 1 && strcmp(argv[1], "stop") == 0)
		return nook_stop_main(argc, argv);
	if (argc > 1) {
		fprintf(stderr, "nook-runtime: unknown mode '%s'\n", argv[1]);
		return NOOK_EXIT_FAILED;
	}
	if (fcntl(PLAN_FD, F_GETFD) < 0 || fcntl(NOOK_REPORT_FD, F_GETFD) < 0) {
		fputs("nook-runtime: needs the plan on fd 3 and fd 4 for reports; "
		      "it is meant to be started by nook\n",
		      stderr);
		return NOOK_EXIT_FAILED;
	}
	/* A successful execve must close the report fd: its EOF tells nook that the runtime
	 * and the container are gone (the monitor keeps its copy until then). */
	fcntl(NOOK_REPORT_FD, F_SETFD, FD_CLOEXEC);
	prctl(PR_SET_NAME, "nook-monitor", 0, 0, 0);
	/* nook waits in the foreground for the container: if it is killed, nobody is left to
	 * report the end or clean up, so the container goes with it (the container itself
	 * dies with the monitor, init.c). A detached daemon, forked later, does not inherit
	 * this. */
	parent = getppid();
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (getppid() != parent)
		return NOOK_EXIT_FAILED;

	if (nook_plan_read(PLAN_FD, &plan, &e) < 0) {
		nook_report(-1, "plan", &e);
		return NOOK_EXIT_FAILED;
	}
	close(PLAN_FD);
	if (nook_plan_decode(&plan, &e) < 0) {
		nook_report(nook_plan_index(&plan), "plan", &e);
		return NOOK_EXIT_FAILED;
	}

	/* An inherited SIG_IGN would let the kernel reap the container behind waitpid. */
	signal(SIGCHLD, SIG_DFL);
	/* Held back until the monitor waits, where the relays run; the container unblocks
	 * them at once. SIGPIPE too: a reader of the monitor's output that went away is no
	 * reason to die (blocked rather than ignored, which the container would inherit). */
	nook_forwarded_signals(&forwarded);
	blocked = forwarded;
	sigaddset(&blocked, SIGPIPE);
	sigprocmask(SIG_BLOCK, &blocked, &l.original);

	if (plan.join.pid)
		return nook_join(&plan, &forwarded, &l.original);
	if (plan.detach && detach(&l, &e) < 0)
		return fail_early(&l, -1, "sync", &e);
	if (nook_monitor_setup(&forwarded, plan.stdio.tty, &e) < 0)
		return fail_early(&l, -1, "sync", &e);
	if (!plan.detach) {
		nook_sink_open(&l.out, 1);
		nook_sink_open(&l.err, 2);
	}
	if (open_log(&l, &e) < 0)
		return fail_early(&l, plan.stdio.index, "stdio", &e);
	return finish(&l, run(&l));
}
