#include "idmap.h"

#include <errno.h>
#include <fcntl.h>
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

	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return nook_fail(e, errno, "%s", path);
	/* The kernel takes a map in one write, and only one. */
	if (write(fd, text, len) != (ssize_t)len)
		return nook_fail(e, errno, "%s: %.*s", path, (int)len - 1, text);
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

static int run_helper(pid_t pid, const struct nook_idmap *map, struct nook_error *e)
{
	_cleanup_free_ char **argv = calloc(map->n_ids + 3, sizeof *argv);
	_cleanup_close_ int out_read = -1;
	posix_spawn_file_actions_t actions;
	char *envp[] = { NULL };
	char pid_text[16], output[512];
	int out[2], status, r;
	pid_t helper;

	if (!argv)
		return nook_fail(e, ENOMEM, "%s", map->helper);
	snprintf(pid_text, sizeof pid_text, "%d", (int)pid);
	argv[0] = (char *)map->helper;
	argv[1] = pid_text;
	memcpy(argv + 2, map->ids, map->n_ids * sizeof *argv);

	/* The helper's complaint goes into the report instead of onto the container's
	 * terminal. */
	if (pipe2(out, O_CLOEXEC) < 0)
		return nook_fail(e, errno, "pipe");
	out_read = out[0];
	r = posix_spawn_file_actions_init(&actions);
	if (r == 0)
		r = posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
	if (r == 0)
		r = posix_spawn_file_actions_adddup2(&actions, out[1], STDERR_FILENO);
	if (r == 0)
		r = posix_spawn(&helper, map->helper, &actions, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&actions);
	close(out[1]);
	if (r != 0)
		return nook_fail(e, r, "%s", map->helper);

	read_first_line(out_read, output, sizeof output);
	while (waitpid(helper, &status, 0) < 0)
		if (errno != EINTR)
			return nook_fail(e, errno, "waiting for %s", map->helper);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (output[0])
		return nook_fail(e, 0, "%s", output);
	if (WIFSIGNALED(status))
		return nook_fail(e, 0, "%s killed by signal %d", map->helper, WTERMSIG(status));
	return nook_fail(e, 0, "%s exited with status %d", map->helper, WEXITSTATUS(status));
}

int nook_write_idmap(pid_t pid, const struct nook_idmap *map, bool gid, struct nook_error *e)
{
	return map->helper ? run_helper(pid, map, e) : write_map(pid, map, gid, e);
}
