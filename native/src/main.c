/* nook-runtime: reads a plan on fd 3, creates the container it describes and stays as its
 * monitor. protocol.md is the contract; the handshake:
 *
 *   monitor                                   container (PID 1 of its namespace)
 *   read + decode the whole plan
 *   clone(NEWUSER | namespaces) ------------> wait on the sync socket
 *   write uid map, gid map (newuidmap or /proc)
 *   send NOOK_SYNC_MAPPED    ---------------> setresuid(0), PDEATHSIG, non-dumpable
 *   relay signals, waitpid                    setup ops ... exec
 *   exit with the container's status
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "idmap.h"
#include "init.h"
#include "monitor.h"
#include "plan.h"
#include "report.h"

#define PLAN_FD 3

static int give_up(pid_t child, int index, const char *op, const struct nook_error *e)
{
	nook_report(index, op, e);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	return NOOK_EXIT_FAILED;
}

static int run_monitor(const struct nook_plan *plan, pid_t child, int syncfd,
		       const sigset_t *forwarded)
{
	const char msg = NOOK_SYNC_MAPPED;
	struct nook_error e = { 0 };
	const struct nook_idmap *failed;
	int status;

	if (nook_write_idmaps(child, &plan->uid_map, &plan->gid_map, &failed, &e) < 0)
		return give_up(child, failed->index, failed == &plan->uid_map ? "uid-map" : "gid-map", &e);
	/* syncfd stays open as long as the monitor lives: the container reads its closing
	 * as the monitor's death (init.c). */
	if (send(syncfd, &msg, 1, MSG_NOSIGNAL) != 1) {
		nook_fail(&e, errno, "telling the container its maps are written");
		return give_up(child, -1, "sync", &e);
	}
	status = nook_monitor(child, forwarded, &e);
	if (status < 0)
		return give_up(child, -1, "sync", &e);
	return status;
}

int main(void)
{
	struct nook_plan plan = { 0 };
	struct nook_error e = { 0 };
	sigset_t forwarded, original;
	int sync[2];
	pid_t child, parent;

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
	 * dies with the monitor, init.c). */
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
	/* Held back until the monitor's relays are in place; the container unblocks them
	 * at once. */
	nook_forwarded_signals(&forwarded);
	sigprocmask(SIG_BLOCK, &forwarded, &original);

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync) < 0) {
		nook_fail(&e, errno, "socketpair");
		nook_report(-1, "sync", &e);
		return NOOK_EXIT_FAILED;
	}
	/* The raw system call, fork-like (no new stack): glibc's clone() wants a stack, and
	 * unshare() cannot put the caller itself into a new PID namespace. */
	child = (pid_t)syscall(SYS_clone, (unsigned long)plan.clone_flags | SIGCHLD, 0, 0, 0, 0);
	if (child < 0) {
		nook_fail(&e, errno, "creating the namespaces");
		nook_report(-1, "clone", &e);
		return NOOK_EXIT_FAILED;
	}
	if (child == 0) {
		close(sync[0]);
		nook_init(&plan, sync[1], &original);
	}
	close(sync[1]);
	/* Only after clone: the container would inherit it, and newuidmap refuses to map a
	 * non-dumpable process. Keeps the monitor's memory, fds and /proc/PID/exe out of
	 * reach of every process that is not root on the host. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		nook_fail(&e, errno, "PR_SET_DUMPABLE");
		return give_up(child, -1, "sync", &e);
	}
	return run_monitor(&plan, child, sync[0], &forwarded);
}
