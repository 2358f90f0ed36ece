#include "stop_command.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../src/decimal.h"
#include "../src/proc.h"
#include "../src/stop.h"
#include "../src/util.h"

/* The recipe (a symlink's target) is a few dozen bytes; the state line under a hundred. */
#define SMALL_FILE_MAX 1024
/* The runtime's wait for a SIGKILL, as nook stop's (src/engine/container/stop.ts). */
#define KILL_WAIT_MS 10000
#define ID_LEN 64

struct target {
	const char *ref; /* as the user gave it: printed once stopped */
	char id[ID_LEN + 1];
	char recipe[SMALL_FILE_MAX + 1];
	const char *name, *signal_text;
	int signal;
	uint64_t timeout;
	pid_t monitor, pid;
	uint64_t monitor_start, pid_start;
};

/* An absolute path without "." or ".." segments: one Node's path.join leaves as it is, so
 * the directory meant is the one opened. */
static bool plain_absolute(const char *path)
{
	if (path[0] != '/')
		return false;
	for (const char *p = path; *p; p++) {
		if (p[0] != '/' || p[1] != '.')
			continue;
		if (p[2] == '/' || p[2] == '\0' || (p[2] == '.' && (p[3] == '/' || p[3] == '\0')))
			return false;
	}
	return true;
}

/* The store's root as src/store/paths.ts has env-paths make it; -1 when that takes more
 * than reading two variables (the home dir from passwd, a relative path). */
static int store_root(char *out, size_t size)
{
	const char *data = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
	int n;

	if (data && data[0])
		n = plain_absolute(data) ? snprintf(out, size, "%s/nook", data) : -1;
	else if (home && home[0])
		n = plain_absolute(home) ? snprintf(out, size, "%s/.local/share/nook", home) : -1;
	else
		n = -1;
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* @path opened for reading if it is a regular file of the user's, else -1: anything else
 * (a FIFO that would block, a file someone else put there) is not what nook wrote. */
static int open_own_file(const char *path, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0 && (fstat(fd, st) < 0 || !S_ISREG(st->st_mode) || st->st_uid != getuid())) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The whole of what @fd holds into @buf (NUL-terminated), -1 when it is more than @size - 1
 * bytes or unreadable. Closes @fd. */
static ssize_t read_small_fd(int fd, char *buf, size_t size)
{
	ssize_t n = fd < 0 ? -1 : nook_read_full(fd, buf, size - 1);

	if (fd >= 0)
		close(fd);
	/* Filling the buffer means there may be more than it holds. */
	if (n < 0 || (size_t)n == size - 1)
		return -1;
	buf[n] = '\0';
	return n;
}

/* The whole of a small file of the user's own into @buf, as read_small_fd. */
static ssize_t read_small(const char *path, char *buf, size_t size)
{
	struct stat st;

	return read_small_fd(open_own_file(path, &st), buf, size);
}

static int path_of(char *out, const char *root, const char *id, const char *file)
{
	int n = snprintf(out, PATH_MAX, "%s/containers/%s/%s", root, id, file);

	return n < 0 || n >= PATH_MAX ? -1 : 0;
}

static bool is_id(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");

	return n == ID_LEN && s[n] == '\0';
}

/* podman's rule for names, as isContainerName (src/store/containers.ts) has it, less its
 * exclusion of temp-shaped names: those go to the CLI. */
static bool plain_name(const char *s)
{
	static const char more[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";

	return s[0] && strchr(more, s[0]) && s[0] != '_' && s[0] != '.' && s[0] != '-' &&
	       s[strspn(s, more)] == '\0' && !strstr(s, ".tmp-");
}

/* The next line of the recipe, NULL when there is none or it holds a NUL. */
static const char *next_line(char **p, const char *end)
{
	char *line = *p, *nl = memchr(line, '\n', (size_t)(end - line));

	if (!nl || memchr(line, '\0', (size_t)(nl - line)))
		return NULL;
	*nl = '\0';
	*p = nl + 1;
	return line;
}

/* src/store/stop-recipe.ts's symlink; false when it is missing or not that form. */
static bool read_recipe(const char *root, struct target *t)
{
	char path[PATH_MAX], *p = t->recipe, *end;
	const char *magic, *signal, *timeout;
	uint64_t n;
	ssize_t len;

	if (path_of(path, root, t->id, "stop-recipe") < 0 ||
	    (len = readlink(path, t->recipe, sizeof t->recipe - 1)) < 0 || len == sizeof t->recipe - 1)
		return false;
	t->recipe[len] = '\0';
	end = t->recipe + len;
	magic = next_line(&p, end);
	t->name = next_line(&p, end);
	signal = next_line(&p, end);
	t->signal_text = next_line(&p, end);
	timeout = next_line(&p, end);
	if (!magic || strcmp(magic, "nook-stop-1") != 0 || !t->name || !signal || !t->signal_text ||
	    !timeout || p != end || !nook_parse_decimal(signal, 64, &n) || n == 0 ||
	    !nook_parse_decimal(timeout, UINT32_MAX, &t->timeout))
		return false;
	t->signal = (int)n;
	return true;
}

/* Records are written by JSON.stringify(record, null, 2) (src/store/containers.ts): the
 * top-level "name" is the line `  "name": "NAME",` (a name needs no escaping, nested keys are
 * indented further, and no string holds a raw newline). Beyond this size, the CLI reads it. */
#define RECORD_MAX (1 << 20)

/* Whether the record of @id exists and carries @name: the check findContainer makes of a
 * name's claim. -1 when there is no record. */
static int record_names(const char *root, const char *id, const char *name)
{
	char path[PATH_MAX], want[300];
	_cleanup_free_ char *text = NULL;
	_cleanup_close_ int fd = -1;
	struct stat st;
	ssize_t n;
	int len;

	if (path_of(path, root, id, "config.json") < 0)
		return 0;
	fd = open_own_file(path, &st);
	if (fd < 0)
		return errno == ENOENT ? -1 : 0;
	len = snprintf(want, sizeof want, "\n  \"name\": \"%s\",\n", name);
	if (len < 0 || len >= (int)sizeof want || st.st_size > RECORD_MAX || !(text = malloc((size_t)st.st_size + 1)))
		return 0;
	n = nook_read_full(fd, text, (size_t)st.st_size);
	if (n != st.st_size)
		return 0;
	text[n] = '\0';
	return strlen(text) == (size_t)n && strstr(text, want) != NULL;
}

/* Which container @ref names, as findContainer does: a name whose claim its record carries,
 * else a whole ID. An ID prefix, a claim whose record says otherwise (a rename cut short, a
 * corrupt record) or a container without a recipe is the CLI's to resolve or word. */
static bool resolve(const char *root, struct target *t)
{
	char link[PATH_MAX];
	ssize_t n = -1;
	int len;

	if (plain_name(t->ref)) {
		len = snprintf(link, sizeof link, "%s/container-names/%s", root, t->ref);
		if (len <= 0 || len >= (int)sizeof link)
			return false;
		n = readlink(link, t->id, sizeof t->id);
		if (n < 0 && errno != ENOENT)
			return false;
	}
	if (n >= 0) {
		int named;

		if (n != ID_LEN)
			return false;
		t->id[ID_LEN] = '\0';
		named = is_id(t->id) ? record_names(root, t->id, t->ref) : 0;
		if (named == 1)
			return read_recipe(root, t) && strcmp(t->name, t->ref) == 0;
		/* -1: a claim left over, its container gone: findContainer goes on to the ids. */
		if (named == 0)
			return false;
	}
	if (!is_id(t->ref))
		return false;
	memcpy(t->id, t->ref, sizeof t->id);
	return read_recipe(root, t) && record_names(root, t->id, t->name) == 1;
}

/* The words of the monitor's line (docs/protocol.md, `state`): single spaces between them,
 * one newline after; -1 for anything else (parseState reads it more loosely, and what it
 * would still take is the CLI's). Split in place. */
static int split_words(char *line, size_t len, char **words, int most)
{
	int n = 0;

	if (len == 0 || line[len - 1] != '\n' || strlen(line) != len)
		return -1;
	line[len - 1] = '\0';
	for (char *w = line;; w++) {
		char *space = strchr(w, ' ');

		if (n == most || *w == '\0' || *w == ' ')
			return -1;
		words[n++] = w;
		if (!space)
			return n;
		*space = '\0';
		w = space;
	}
}

/* This boot's id, read once (a state line is read for every container, and again before
 * each step of its stop); NULL when it cannot be read. */
static const char *boot_id(void)
{
	static char id[64];

	if (id[0] == '\0') {
		if (read_small_fd(open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC), id, sizeof id) < 0)
			return NULL;
		id[strcspn(id, "\n")] = '\0';
	}
	return id;
}

/* The monitor's `running` line, and its monitor alive: what a stop acts on. A line of an
 * older monitor, another boot's, or an exited container is the CLI's. */
static bool read_running(const char *root, struct target *t)
{
	char path[PATH_MAX], line[SMALL_FILE_MAX + 1], *w[9];
	const char *boot = boot_id();
	uint64_t monitor, pid;
	struct nook_error e = { 0 };
	int fd = -1;
	ssize_t len;
	bool alive;

	if (!boot || path_of(path, root, t->id, "state") < 0 || (len = read_small(path, line, sizeof line)) < 0 ||
	    split_words(line, (size_t)len, w, 9) != 8 || strcmp(w[0], "running") != 0)
		return false;
	if (strcmp(w[3], boot) != 0 || !nook_parse_decimal(w[1], INT32_MAX, &monitor) || monitor == 0 ||
	    !nook_parse_decimal(w[2], UINT64_MAX, &t->monitor_start) ||
	    !nook_parse_decimal(w[4], INT32_MAX, &pid) || !nook_parse_decimal(w[5], UINT64_MAX, &t->pid_start))
		return false;
	t->monitor = (pid_t)monitor;
	t->pid = (pid_t)pid;
	/* Alive and not a zombie (whose pidfd reads as ended): the CLI's view of running. */
	if (nook_open_process(t->monitor, t->monitor_start, &fd, &e) < 0)
		return false;
	alive = poll(&(struct pollfd){ .fd = fd, .events = POLLIN }, 1, 0) == 0;
	close(fd);
	return alive;
}

#define HINT "see \"nook ps\" and try again"

/* Writes the message into @error; false, for stop_one to return. A message too long for it
 * is cut, which only shortens what is said. */
__attribute__((format(printf, 3, 4))) static bool failed(char *error, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(error, size, fmt, ap);
	va_end(ap);
	return false;
}

/* As stopContainer: the stop file first (a container the user stopped is not restarted),
 * then, if it runs, the stop signal, and SIGKILL after the timeout. The state is read again
 * for each step, not taken from the check before the command began: an earlier container's
 * stop takes time, and a restart policy may have started another PID 1 meanwhile. false
 * with @error (the message, without its hint) when the container could not be stopped. */
static bool stop_one(const char *root, struct target *t, uint64_t timeout, char *error, size_t size)
{
	char stop_path[PATH_MAX], state[PATH_MAX];
	struct nook_error e = { 0 };
	uint64_t ms = timeout * 1000 > INT32_MAX ? INT32_MAX : timeout * 1000;
	int fd, r = NOOK_STOP_ENDED;

	if (path_of(stop_path, root, t->id, "stop") < 0 || path_of(state, root, t->id, "state") < 0)
		return failed(error, size, "the path of container %s is too long", t->name);
	fd = open(stop_path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0666);
	if (fd < 0)
		return failed(error, size, "cannot write %s: %s", stop_path, strerror(errno));
	close(fd);
	if (read_running(root, t))
		r = nook_stop_process(t->monitor, t->monitor_start, t->pid, t->pid_start, t->signal, ms, state, &e);
	if (r == NOOK_STOP_RUNNING && read_running(root, t)) {
		if (timeout > 0)
			fprintf(stderr,
				"WARN: StopSignal %s failed to stop container %s in %llu seconds, resorting to SIGKILL\n",
				t->signal_text, t->name, (unsigned long long)timeout);
		r = nook_stop_process(t->monitor, t->monitor_start, t->pid, t->pid_start, SIGKILL,
				      KILL_WAIT_MS, state, &e);
		if (r == NOOK_STOP_RUNNING && read_running(root, t))
			return failed(error, size, "container %s did not stop after SIGKILL", t->name);
	}
	if (r < 0)
		return failed(error, size, "cannot stop process %d: nook-runtime stop: %s: %s",
			      (int)t->monitor, e.detail, strerror(e.err));
	printf("%s\n", t->ref);
	fflush(stdout);
	return true;
}

void try_stop(int argc, char **argv)
{
	struct target *targets = NULL;
	char root[PATH_MAX], first[PATH_MAX + 128] = "";
	const char *why = "an option other than -t/--time, or no container";
	uint64_t timeout = 0;
	bool timeout_given = false;
	int n = 0;

	if (argc < 2 || strcmp(argv[1], "stop") != 0 || getenv("NOOK_NO_FAST_PATH"))
		return;
	if (store_root(root, sizeof root) < 0) {
		why = "XDG_DATA_HOME or HOME is not a plain absolute path";
		goto cli;
	}
	targets = calloc((size_t)argc, sizeof *targets);
	if (!targets)
		goto cli;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *value = NULL;

		if (strcmp(a, "-t") == 0 || strcmp(a, "--time") == 0)
			value = i + 1 < argc ? argv[++i] : NULL;
		else if (strncmp(a, "--time=", 7) == 0)
			value = a + 7;
		else if (strncmp(a, "-t", 2) == 0)
			value = a + 2;
		else if (a[0] == '-')
			goto cli;
		else
			targets[n++].ref = a;
		/* -t N, -tN, --time N and --time=N, as the CLI takes them. */
		if (a[0] == '-') {
			if (!value || !nook_parse_decimal(value, UINT32_MAX, &timeout))
				goto cli;
			timeout_given = true;
		}
	}
	if (n == 0)
		goto cli;
	/* Every container checked before any is stopped: the CLI gets the command whole. */
	for (int i = 0; i < n; i++) {
		if (!resolve(root, &targets[i])) {
			why = "a container not named by a whole name or ID with a stop recipe";
			goto cli;
		}
		if (!read_running(root, &targets[i])) {
			why = "a container that is not running";
			goto cli;
		}
	}
	/* As eachContainer: on past a failure; the first is the command's error, with its
	 * hint, after the others. */
	for (int i = 0; i < n; i++) {
		char error[PATH_MAX + 128];

		if (stop_one(root, &targets[i], timeout_given ? timeout : targets[i].timeout, error, sizeof error))
			continue;
		if (first[0])
			fprintf(stderr, "Error: %s\n", error);
		else
			memcpy(first, error, sizeof first);
	}
	if (first[0]) {
		fprintf(stderr, "Error: %s (hint: %s)\n", first, HINT);
		exit(125);
	}
	exit(0);
cli:
	if (getenv("NOOK_FAST_PATH_DEBUG"))
		fprintf(stderr, "nook: stop left to the CLI: %s\n", why);
	free(targets);
}
