#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cgroup.h"
#include "monitor.h"

static int wait_for_maps(int syncfd, struct nook_error *e)
{
	char msg;
	ssize_t n;

	do
		n = recv(syncfd, &msg, 1, 0);
	while (n < 0 && errno == EINTR);
	/* The monitor gave up before writing the maps, and has reported why. */
	if (n == 0)
		_exit(NOOK_EXIT_FAILED);
	if (n < 0)
		return nook_fail(e, errno, "waiting for the id maps");
	if (msg != NOOK_SYNC_MAPPED)
		return nook_fail(e, EPROTO, "unexpected message: expected '%c', got '%c'",
				 NOOK_SYNC_MAPPED, msg);
	return 0;
}

/* Whether id 0 of the namespace maps to a host id. ids holds inside, outside, count
 * triples as plan.c checked them. */
static bool maps_root(const struct nook_idmap *map)
{
	for (size_t i = 0; i + 2 < map->n_ids; i += 3)
		if (strcmp(map->ids[i], "0") == 0)
			return true;
	return false;
}

static int start(const struct nook_plan *plan, int syncfd, struct nook_ctx *ctx,
		 struct nook_error *e)
{
	if (wait_for_maps(syncfd, e) < 0)
		return -1;
	/* A map without root (a sandbox maps the user onto itself) leaves the process its own
	 * id: the clone gave it every capability of the new namespace already, and no id
	 * change takes them away. */
	if (maps_root(&plan->gid_map) && setresgid(0, 0, 0) < 0)
		return nook_fail(e, errno, "setresgid(0)");
	if (maps_root(&plan->uid_map) && setresuid(0, 0, 0) < 0)
		return nook_fail(e, errno, "setresuid(0)");
	if (nook_cgroup_unshare(plan, e) < 0)
		return -1;
	if (nook_arm_deathsig(syncfd, e) < 0)
		return -1;
	/* Only now: newuidmap refuses to write the maps of a non-dumpable process. Keeps
	 * /proc/1/fd, /proc/1/mem ... out of reach of container processes until execve. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return nook_fail(e, errno, "PR_SET_DUMPABLE");
	/* Until a rootfs op, container paths resolve under the runtime's own root. */
	ctx->rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (ctx->rootfd < 0)
		return nook_fail(e, errno, "/");
	ctx->syncfd = syncfd;
	ctx->setgroups_denied = plan->gid_map.helper == NULL;
	return 0;
}

noreturn void nook_container_fail(int syncfd, int status)
{
	const char msg = NOOK_SYNC_FAILED;

	/* Lost if the monitor is gone: then nobody waits for it. */
	send(syncfd, &msg, 1, MSG_NOSIGNAL);
	_exit(status);
}

noreturn void nook_run_container(struct nook_ctx *ctx, const struct nook_plan *plan)
{
	const struct nook_op *failed;
	struct nook_error e = { 0 };

	/* Returns only when an op failed: on success, exec replaced us. */
	nook_run_ops(ctx, plan, &failed, &e);
	nook_report(failed->index, nook_op_name(failed->code), &e);
	if (failed->code != NOOK_OP_EXEC)
		nook_container_fail(ctx->syncfd, NOOK_EXIT_FAILED);
	nook_container_fail(ctx->syncfd, e.err == ENOENT ? NOOK_EXIT_NOT_FOUND : NOOK_EXIT_CANNOT_EXEC);
}

noreturn void nook_init(const struct nook_plan *plan, int syncfd, const sigset_t *mask,
			struct nook_streams *streams)
{
	struct nook_ctx ctx = { .rootfd = -1 };
	struct nook_error e = { 0 };

	prctl(PR_SET_NAME, "nook-init", 0, 0, 0);
	/* The monitor blocked the signals it forwards; the command starts with the mask
	 * nook-runtime was given, and without the monitor's relays, which must be gone
	 * before a signal can arrive. */
	nook_monitor_signals_default();
	sigprocmask(SIG_SETMASK, mask, NULL);
	if (nook_streams_attach(streams, &e) < 0 || start(plan, syncfd, &ctx, &e) < 0) {
		nook_report(-1, "sync", &e);
		nook_container_fail(syncfd, NOOK_EXIT_FAILED);
	}
	nook_run_container(&ctx, plan);
}
