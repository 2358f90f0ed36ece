#include "replay.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../src/util.h"

/* How many random names a replay tries before it lets the CLI choose (and number) one. */
#define NAME_ATTEMPTS 16

/* The values a replay makes afresh, each standing in for the recorded one. */
struct fresh {
	char id[65], short_id[13], created[25];
	const char *name;
	char name_buf[256];
};

/* @dir/@name into @out (PATH_MAX), -1 when it does not fit. */
static int path_join(char *out, const char *dir, const char *name)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);

	return n < 0 || n >= PATH_MAX ? -1 : 0;
}

static void random_bytes(void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = getrandom((char *)buf + done, len - done, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			abort(); /* the kernel has no entropy source: nothing sane is left to do */
		done += (size_t)n;
	}
}

static void hex(char *out, const unsigned char *bytes, size_t len)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 15];
	}
	out[2 * len] = '\0';
}

/* ISO 8601 with milliseconds, as JavaScript's Date.toISOString() writes the record's. */
static void iso_now(char out[25])
{
	struct timespec ts;
	struct tm tm;
	char buf[64];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
	memcpy(out, buf, 24);
	out[24] = '\0';
}

/* The store's temp name for @path (src/store/atomic.ts): the sweep knows it by the pid. */
static int temp_path(char *out, const char *path)
{
	unsigned char r[6];
	char h[13];
	int n;

	random_bytes(r, sizeof r);
	hex(h, r, sizeof r);
	n = snprintf(out, PATH_MAX, "%s.tmp-%d-%s", path, (int)getpid(), h);
	return n < 0 || n >= PATH_MAX ? -1 : 0;
}

/* @in with every @from replaced by @to; NULL on allocation failure. */
static char *replace(const char *in, size_t len, const char *from, const char *to, size_t *out_len)
{
	size_t from_len = strlen(from), to_len = strlen(to), count = 0, o = 0;
	char *out;

	for (const char *p = in; (p = memmem(p, len - (size_t)(p - in), from, from_len)); p += from_len)
		count++;
	out = malloc(len + count * to_len + 1);
	if (!out)
		return NULL;
	for (size_t i = 0; i < len;) {
		if (i + from_len <= len && memcmp(in + i, from, from_len) == 0) {
			memcpy(out + o, to, to_len);
			o += to_len;
			i += from_len;
		} else {
			out[o++] = in[i++];
		}
	}
	out[o] = '\0';
	*out_len = o;
	return out;
}

/* The recorded bytes with the fresh id (and hostname, its first 12 digits), and with
 * @name the fresh name and created time too (the container dir's files; the plan holds
 * neither). */
static char *freshen(const struct fast_entry *e, const struct fresh *f, struct bytes in, bool names, size_t *len)
{
	char recorded_short[13];
	char *a, *b;

	memcpy(recorded_short, e->id, 12);
	recorded_short[12] = '\0';
	a = replace(in.p, in.len, e->id, f->id, len);
	if (!a)
		return NULL;
	b = replace(a, *len, recorded_short, f->short_id, len);
	free(a);
	if (!b || !names)
		return b;
	a = replace(b, *len, e->created, f->created, len);
	free(b);
	if (!a || !e->random_name)
		return a;
	b = replace(a, *len, e->name, f->name, len);
	free(a);
	return b;
}

static int write_new_file(const char *path, const char *data, size_t len, unsigned mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0)
		return -1;
	/* The recorded mode exactly, whatever the umask. */
	if (nook_write_all(fd, data, len) < 0 || fchmod(fd, mode) < 0) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/* Removes the tree at @parent/@name as its owner can; -1 when something in it is not ours. */
static int remove_tree_at(int parent, const char *name)
{
	int fd, rc = 0;
	DIR *dir;
	struct dirent *d;

	if (unlinkat(parent, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -1;
	fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	/* overlayfs leaves work/work mode 000 (a directory: unlinkat said so, not a link). */
	if (fd < 0 && errno == EACCES && fchmodat(parent, name, 0700, 0) == 0)
		fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return -1;
	}
	while ((d = readdir(dir))) {
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		if (remove_tree_at(dirfd(dir), d->d_name) < 0)
			rc = -1;
	}
	closedir(dir);
	if (rc == 0 && unlinkat(parent, name, AT_REMOVEDIR) < 0)
		rc = -1;
	return rc;
}

/* Files of other container ids: removed as container root, by the CLI (`nook unshare`). */
static void remove_as_container_root(char *const node_argv[], const char *path)
{
	char *argv[16];
	int n = 0, status;
	pid_t pid;

	while (node_argv[n] && n < 8) {
		argv[n] = node_argv[n];
		n++;
	}
	argv[n++] = "unshare";
	argv[n++] = "/bin/rm";
	argv[n++] = "-rf";
	argv[n++] = "--";
	argv[n++] = (char *)path;
	argv[n] = NULL;
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(null, 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (pid > 0)
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
}

/* The container out of the store's view at once (renamed aside, its name released), then
 * its files: what removeContainer does for `run --rm`. */
static void remove_container(const struct fast_entry *e, const struct fresh *f, const char *dir, char *const node_argv[])
{
	char doomed[PATH_MAX], link[PATH_MAX], target[80];
	ssize_t n;

	if (temp_path(doomed, dir) < 0 || rename(dir, doomed) < 0)
		return;
	n = path_join(link, e->names_dir, f->name) < 0 ? -1 : readlink(link, target, sizeof target - 1);
	if (n == 64 && memcmp(target, f->id, 64) == 0)
		unlink(link);
	if (remove_tree_at(AT_FDCWD, doomed) < 0)
		remove_as_container_root(node_argv, doomed);
}

static int claim_name(const struct fast_entry *e, struct fresh *f)
{
	char link[PATH_MAX];

	if (mkdir(e->names_dir, 0700) < 0 && errno != EEXIST)
		return -1;
	for (int attempt = 0; attempt < (e->random_name ? NAME_ATTEMPTS : 1); attempt++) {
		if (e->random_name) {
			uint16_t r[2];

			random_bytes(r, sizeof r);
			snprintf(f->name_buf, sizeof f->name_buf, "%s_%s", e->adjectives[r[0] % e->n_adjectives], e->nouns[r[1] % e->n_nouns]);
			f->name = f->name_buf;
		} else {
			f->name = e->name;
		}
		if (path_join(link, e->names_dir, f->name) < 0)
			return -1;
		if (symlink(f->id, link) == 0)
			return 0;
		if (errno != EEXIST)
			return -1;
	}
	/* Taken (or a claim a killed command left): the CLI says which, or takes it over. */
	return -1;
}

static int write_pid_file(const char *path)
{
	char pid[32];
	int n = snprintf(pid, sizeof pid, "%d\n", (int)getpid());

	return write_new_file(path, pid, (size_t)n, 0600);
}

/* The container dir's files as recorded, freshened; the record last, under a temp name
 * first: from its rename on, the container exists. */
static int write_container(const struct fast_entry *e, const struct fresh *f, const char *dir)
{
	char path[PATH_MAX], creator[PATH_MAX], temp[PATH_MAX];
	const struct entry_file *record = NULL;
	size_t len;
	char *data;
	int rc;

	if (path_join(creator, dir, "nook.pid") < 0 || write_pid_file(creator) < 0)
		return -1;
	for (size_t i = 0; i < e->n_files; i++) {
		const struct entry_file *file = &e->files[i];

		if (path_join(path, dir, file->path) < 0)
			return -1;
		if (file->kind == ENTRY_DIR) {
			if (mkdir(path, 0700) < 0 || chmod(path, file->mode) < 0)
				return -1;
			continue;
		}
		if (file->kind == ENTRY_LINK) {
			data = freshen(e, f, file->content, true, &len);
			rc = data ? symlink(data, path) : -1;
			free(data);
			if (rc < 0)
				return -1;
			continue;
		}
		if (strcmp(file->path, "config.json") == 0) {
			record = file;
			continue;
		}
		data = freshen(e, f, file->content, true, &len);
		rc = data ? write_new_file(path, data, len, file->mode) : -1;
		free(data);
		if (rc < 0)
			return -1;
	}
	if (!record)
		return -1;
	if (path_join(path, dir, "config.json") < 0 || temp_path(temp, path) < 0)
		return -1;
	data = freshen(e, f, record->content, true, &len);
	rc = data ? write_new_file(temp, data, len, record->mode) : -1;
	free(data);
	if (rc < 0 || rename(temp, path) < 0)
		return -1;
	return unlink(creator);
}

static volatile sig_atomic_t runtime_pid;

static void relay(int sig)
{
	if (runtime_pid > 0)
		kill((pid_t)runtime_pid, sig);
}

static int memfd_with(const char *name, const char *data, size_t len)
{
	int fd = (int)syscall(SYS_memfd_create, name, 0);

	/* Read from the start by the runtime, as the file launchRuntime writes. */
	if (fd >= 0 && (nook_write_all(fd, data, len) < 0 || lseek(fd, 0, SEEK_SET) < 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Starts nook-runtime as launchRuntime does (plan on fd 3, report on fd 4, an empty
 * environment), relays the user's signals to it, and waits. */
static int run_runtime(const struct fast_entry *e, const char *plan, size_t plan_len, bool *reported)
{
	static const int relayed[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
	struct sigaction sa = { .sa_handler = relay, .sa_flags = SA_RESTART };
	int plan_fd = memfd_with("nook-plan", plan, plan_len), report_fd = memfd_with("nook-report", "", 0);
	int status = 0;
	char byte;
	pid_t pid;

	if (plan_fd < 0 || report_fd < 0)
		return -1;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof relayed / sizeof *relayed; i++)
		sigaction(relayed[i], &sa, NULL);
	pid = fork();
	if (pid == 0) {
		char *argv[] = { (char *)e->runtime, NULL }, *envp[] = { NULL };

		if (!e->pass_stdin) {
			int null = open("/dev/null", O_RDONLY);

			dup2(null, 0);
		}
		dup2(plan_fd, 3);
		dup2(report_fd, 4);
		syscall(SYS_close_range, 5, ~0U, 0);
		execve(e->runtime, argv, envp);
		_exit(126);
	}
	if (pid < 0)
		return -1;
	runtime_pid = pid;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	runtime_pid = 0;
	*reported = pread(report_fd, &byte, 1, 0) == 1;
	close(plan_fd);
	close(report_fd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

enum replay_outcome fast_replay(const struct fast_entry *e, char *const node_argv[], int *status)
{
	struct fresh f;
	unsigned char r[32];
	char dir[PATH_MAX], starting[PATH_MAX];
	char *plan;
	size_t plan_len;
	bool reported = false;

	if (!e->new_container) {
		*status = run_runtime(e, e->plan.p, e->plan.len, &reported);
		return *status < 0 || reported ? REPLAY_FAILED : REPLAY_DONE;
	}
	random_bytes(r, sizeof r);
	hex(f.id, r, sizeof r);
	memcpy(f.short_id, f.id, 12);
	f.short_id[12] = '\0';
	iso_now(f.created);
	f.name = NULL;
	if (path_join(dir, e->containers_dir, f.id) < 0 || path_join(starting, dir, "starting") < 0)
		return REPLAY_DECLINED;
	if (mkdir(e->containers_dir, 0700) < 0 && errno != EEXIST)
		return REPLAY_DECLINED;
	if (mkdir(dir, 0700) < 0)
		return REPLAY_DECLINED;
	if (claim_name(e, &f) < 0) {
		remove_tree_at(AT_FDCWD, dir);
		return REPLAY_DECLINED;
	}
	plan = freshen(e, &f, e->plan, false, &plan_len);
	if (!plan || write_container(e, &f, dir) < 0 || write_pid_file(starting) < 0) {
		free(plan);
		remove_container(e, &f, dir, node_argv);
		return REPLAY_DECLINED;
	}
	*status = run_runtime(e, plan, plan_len, &reported);
	free(plan);
	unlink(starting);
	remove_container(e, &f, dir, node_argv);
	if (*status < 0)
		return REPLAY_FAILED;
	return reported ? REPLAY_FAILED : REPLAY_DONE;
}
