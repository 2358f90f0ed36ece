#include "idmap.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

static int write_proc_file(pid_t pid, const char *file, const char *text, struct nook_error *e)
{
	size_t len = strlen(text);
	_cleanup_close_ int fd = -1;
	char path[64];
	ssize_t n;

	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return nook_fail(e, errno, "opening %s", path);
	/* The kernel takes a map in one write, and only one: a short write cannot be
	 * finished. */
	n = write(fd, text, len);
	if (n < 0)
		return nook_fail(e, errno, "writing %s: %.*s", path, (int)strcspn(text, "\n"), text);
	if ((size_t)n != len)
		return nook_fail(e, EIO, "writing %s: short write (%zd of %zu bytes)", path, n, len);
	return 0;
}

static int write_map(pid_t pid, const struct nook_idmap *map, bool gid, struct nook_error *e)
{
	char text[64];

	/* Without CAP_SETGID outside, the kernel takes a gid map only once setgroups is
	 * denied for good. */
	if (gid && write_proc_file(pid, "setgroups", "deny", e) < 0)
		return -1;
	snprintf(text, sizeof text, "%s %s %s\n", map->ids[0], map->ids[1], map->ids[2]);
	return write_proc_file(pid, gid ? "gid_map" : "uid_map", text, e);
}

/* Reads what the helper printed, keeping its first line for the report. */
static void read_first_line(int fd, char *line, size_t size)
{
	size_t len = 0;
	char chunk[256];
	ssize_t n;

	while ((n = read(fd, chunk, sizeof chunk)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		for (ssize_t i = 0; i < n && len + 1 < size; i++)
			line[len++] = chunk[i];
	}
	line[len] = '\0';
	line[strcspn(line, "\n")] = '\0';
}

/* Runs @path with its stdout and stderr on @out. The monitor holds back the signals it
 * relays: the helper starts as any program would, nothing blocked and every signal at its
 * default. Returns 0 or an errno. */
static int spawn_helper(pid_t *pid, const char *path, char **argv, char **envp, int out)
{
	posix_spawn_file_actions_t actions;
	posix_spawnattr_t attr;
	sigset_t none, all;
	int r;

	sigemptyset(&none);
	sigfillset(&all);
	r = posix_spawn_file_actions_init(&actions);
	if (r != 0)
		return r;
	r = posix_spawnattr_init(&attr);
	if (r != 0) {
		posix_spawn_file_actions_destroy(&actions);
		return r;
	}
	r = posix_spawn_file_actions_adddup2(&actions, out, STDOUT_FILENO);
	if (r == 0)
		r = posix_spawn_file_actions_adddup2(&actions, out, STDERR_FILENO);
	if (r == 0)
		r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	if (r == 0)
		r = posix_spawnattr_setsigmask(&attr, &none);
	if (r == 0)
		r = posix_spawnattr_setsigdefault(&attr, &all);
	if (r == 0)
		r = posix_spawn(pid, path, &actions, &attr, argv, envp);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&actions);
	return r;
}

/* A newuidmap/newgidmap run in flight: its pid and the read end of its output. */
struct helper_run {
	const struct nook_idmap *map;
	pid_t pid;
	int out;
};

static int start_helper(pid_t target, const struct nook_idmap *map, struct helper_run *run,
			struct nook_error *e)
{
	_cleanup_free_ char **argv = calloc(map->n_ids + 3, sizeof *argv);
	char *envp[] = { NULL };
	char pid_text[16];
	int out[2], r;

	run->map = map;
	run->out = -1;
	if (!argv)
		return nook_fail(e, ENOMEM, "%s", map->helper);
	snprintf(pid_text, sizeof pid_text, "%d", (int)target);
	argv[0] = (char *)map->helper;
	argv[1] = pid_text;
	memcpy(argv + 2, map->ids, map->n_ids * sizeof *argv);

	/* The helper's complaint goes into the report instead of onto the container's
	 * terminal. */
	if (pipe2(out, O_CLOEXEC) < 0)
		return nook_fail(e, errno, "pipe");
	r = spawn_helper(&run->pid, map->helper, argv, envp, out[1]);
	close(out[1]);
	if (r != 0) {
		close(out[0]);
		return nook_fail(e, r, "%s", map->helper);
	}
	run->out = out[0];
	return 0;
}

static int finish_helper(struct helper_run *run, struct nook_error *e)
{
	const char *helper = run->map->helper;
	char output[512];
	int status;

	read_first_line(run->out, output, sizeof output);
	close(run->out);
	run->out = -1;
	while (waitpid(run->pid, &status, 0) < 0)
		if (errno != EINTR)
			return nook_fail(e, errno, "waiting for %s", helper);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (output[0])
		return nook_fail(e, 0, "%s", output);
	if (WIFSIGNALED(status))
		return nook_fail(e, 0, "%s killed by signal %d", helper, WTERMSIG(status));
	return nook_fail(e, 0, "%s exited with status %d", helper, WEXITSTATUS(status));
}

static int run_helpers_one(pid_t pid, const struct nook_idmap *map, struct nook_error *e)
{
	struct helper_run run;

	if (start_helper(pid, map, &run, e) < 0)
		return -1;
	return finish_helper(&run, e);
}

/* Both helpers run at once: each is a setuid exec of a few milliseconds, and neither
 * map depends on the other. */
static int run_helpers(pid_t pid, const struct nook_idmap *uid, const struct nook_idmap *gid,
		       const struct nook_idmap **failed, struct nook_error *e)
{
	struct helper_run runs[2];
	struct nook_error second = { 0 };
	int r;

	*failed = uid;
	if (start_helper(pid, uid, &runs[0], e) < 0)
		return -1;
	if (start_helper(pid, gid, &runs[1], &second) < 0) {
		finish_helper(&runs[0], e);
		*failed = gid;
		*e = second;
		return -1;
	}
	r = finish_helper(&runs[0], e);
	if (finish_helper(&runs[1], &second) < 0 && r == 0) {
		*failed = gid;
		*e = second;
		return -1;
	}
	return r;
}

int nook_write_idmaps(pid_t pid, const struct nook_idmap *uid, const struct nook_idmap *gid,
		      const struct nook_idmap **failed, struct nook_error *e)
{
	if (uid->helper && gid->helper)
		return run_helpers(pid, uid, gid, failed, e);
	*failed = uid;
	if ((uid->helper ? run_helpers_one(pid, uid, e) : write_map(pid, uid, false, e)) < 0)
		return -1;
	*failed = gid;
	return gid->helper ? run_helpers_one(pid, gid, e) : write_map(pid, gid, true, e);
}
