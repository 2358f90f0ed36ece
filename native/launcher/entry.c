#include "entry.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "../src/decimal.h"
#include "../src/netstring.h"
#include "../src/util.h"

extern char **environ;

#define ENTRY_MAX (16u << 20)
#define CONTENT_MAX (64u * 1024)

struct cursor {
	char *p, *end;
	bool bad;
};

/* The next field; a malformed one marks the cursor bad, and every later field is empty. */
static struct bytes next(struct cursor *c)
{
	struct bytes none = { "", 0 };
	char *field;
	size_t len;

	if (c->bad || nook_netstring_next(&c->p, c->end, ENTRY_MAX, &field, &len) != NOOK_NETSTRING_OK) {
		c->bad = true;
		return none;
	}
	return (struct bytes){ field, len };
}

static const char *next_str(struct cursor *c)
{
	struct bytes b = next(c);

	if (memchr(b.p, '\0', b.len))
		c->bad = true;
	return b.p;
}

static size_t next_count(struct cursor *c)
{
	uint64_t n = 0;

	if (!nook_parse_decimal(next_str(c), ENTRY_MAX, &n))
		c->bad = true;
	return c->bad ? 0 : (size_t)n;
}

static bool same(struct bytes b, const char *s)
{
	return b.len == strlen(s) && memcmp(b.p, s, b.len) == 0;
}

int fast_runtime_dir(char *out, size_t size)
{
	uid_t uid = getuid();
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	char run_user[64];
	struct stat st;
	int n;

	snprintf(run_user, sizeof run_user, "/run/user/%u", (unsigned)uid);
	if (xdg && xdg[0] == '/' && lstat(xdg, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == uid)
		n = snprintf(out, size, "%s/nook", xdg);
	else if (lstat(run_user, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == uid)
		n = snprintf(out, size, "%s/nook", run_user);
	else
		n = snprintf(out, size, "/tmp/nook-%u", (unsigned)uid);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

int fast_entry_path(char *out, size_t size, const char *runtime_dir, int argc, char **argv, const char *cwd)
{
	uint64_t hash = 0xcbf29ce484222325ull;
	int n;

	for (int i = 1; i <= argc; i++) {
		const unsigned char *s = (const unsigned char *)(i < argc ? argv[i] : cwd);
		size_t len = strlen((const char *)s) + (i < argc ? 1 : 0); /* argv's NUL counts */

		for (size_t k = 0; k < len; k++) {
			hash ^= s[k];
			hash *= 0x100000001b3ull;
		}
	}
	n = snprintf(out, size, "%s/fast/%016llx", runtime_dir, (unsigned long long)hash);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

static char *read_private_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	char *buf = NULL;

	if (fd < 0)
		return NULL;
	/* Only the user's own, unshared file: anything else is not an entry nook wrote. */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 077) || st.st_size <= 0 ||
	    (size_t)st.st_size > ENTRY_MAX)
		goto out;
	buf = malloc((size_t)st.st_size + 1);
	if (buf && nook_read_full(fd, buf, (size_t)st.st_size) != st.st_size) {
		free(buf);
		buf = NULL;
	}
	if (buf) {
		buf[st.st_size] = '\0';
		*len = (size_t)st.st_size;
	}
out:
	close(fd);
	return buf;
}

static bool ttys_match(const char *ttys)
{
	char now[4];

	for (int fd = 0; fd < 3; fd++)
		now[fd] = isatty(fd) ? '1' : '0';
	now[3] = '\0';
	return strcmp(now, ttys) == 0;
}

/* `some`: each variable as recorded (`=value`, or `-` for unset); `all`: exactly these. */
static bool env_matches(struct cursor *c)
{
	struct bytes kind = next(c);
	size_t n = next_count(c);
	bool all = same(kind, "all");
	size_t present = 0;
	bool ok = all || same(kind, "some");

	for (size_t i = 0; i < n && !c->bad; i++) {
		const char *name = next_str(c);
		const char *want = next_str(c);
		const char *have = getenv(name);

		if (want[0] == '-')
			ok = ok && have == NULL;
		else
			ok = ok && have != NULL && strcmp(have, want + 1) == 0;
		present += have != NULL;
	}
	if (all) {
		size_t count = 0;

		for (char **e = environ; *e; e++)
			count++;
		ok = ok && count == present;
	}
	return ok && !c->bad;
}

/* Each up and running interface's first IPv4 address, as Node's os.networkInterfaces()
 * lists them (libuv skips interfaces that are not both up and running). */
static bool interfaces_match(const char *want)
{
	struct ifaddrs *all, *ifa;
	char have[4096] = "";
	const char *seen[64];
	size_t used = 0, n_seen = 0;
	bool ok = true;

	if (getifaddrs(&all) < 0)
		return false;
	for (ifa = all; ifa && ok; ifa = ifa->ifa_next) {
		char addr[INET_ADDRSTRLEN];
		bool first = true;
		int n;

		if (!ifa->ifa_addr || ifa->ifa_addr->sa_family != AF_INET || !(ifa->ifa_flags & IFF_UP) || !(ifa->ifa_flags & IFF_RUNNING))
			continue;
		for (size_t i = 0; i < n_seen; i++)
			first = first && strcmp(seen[i], ifa->ifa_name) != 0;
		if (!first)
			continue;
		if (n_seen == sizeof seen / sizeof *seen)
			ok = false;
		else
			seen[n_seen++] = ifa->ifa_name;
		inet_ntop(AF_INET, &((struct sockaddr_in *)ifa->ifa_addr)->sin_addr, addr, sizeof addr);
		n = snprintf(have + used, sizeof have - used, "%s%s=%s", used ? " " : "", ifa->ifa_name, addr);
		if (n < 0 || (size_t)n >= sizeof have - used)
			ok = false;
		else
			used += (size_t)n;
	}
	freeifaddrs(all);
	return ok && strcmp(have, want) == 0;
}

static bool content_matches(const char *path, struct bytes want)
{
	char buf[CONTENT_MAX + 1];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return false;
	n = nook_read_full(fd, buf, sizeof buf);
	close(fd);
	return n >= 0 && (size_t)n == want.len && memcmp(buf, want.p, want.len) == 0;
}

static bool dependency_matches(const char *path, struct bytes kind, struct bytes value)
{
	struct stat st;
	char now[200];

	if (same(kind, "absent"))
		return stat(path, &st) < 0 && (errno == ENOENT || errno == ENOTDIR);
	if (same(kind, "content"))
		return content_matches(path, value);
	if (stat(path, &st) < 0)
		return false;
	/* Looked at, not read: what it is and whose, not when it last changed. */
	if (same(kind, "meta")) {
		snprintf(now, sizeof now, "%llu %llu %llu %llu %llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
			 (unsigned long long)st.st_mode, (unsigned long long)st.st_uid, (unsigned long long)st.st_gid);
		return same(value, now);
	}
	if (!same(kind, "stat"))
		return false;
	snprintf(now, sizeof now, "%llu %llu %llu %llu %llu %llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
		 (unsigned long long)st.st_mode, (unsigned long long)st.st_size,
		 (unsigned long long)st.st_mtim.tv_sec * 1000000000ull + (unsigned long long)st.st_mtim.tv_nsec,
		 (unsigned long long)st.st_ctim.tv_sec * 1000000000ull + (unsigned long long)st.st_ctim.tv_nsec);
	return same(value, now);
}

static const char **word_list(struct cursor *c, size_t *n)
{
	const char **words;

	*n = next_count(c);
	if (c->bad || *n == 0)
		return c->bad = true, NULL;
	words = calloc(*n, sizeof *words);
	if (!words)
		return c->bad = true, NULL;
	for (size_t i = 0; i < *n; i++)
		words[i] = next_str(c);
	return words;
}

/* The decision's part of the entry, after its inputs were found unchanged. */
static bool decode_decision(struct cursor *c, struct fast_entry *e)
{
	struct bytes kind;

	e->runtime = next_str(c);
	e->pass_stdin = same(next(c), "1");
	e->plan = next(c);
	kind = next(c);
	if (same(kind, "plan"))
		return !c->bad && c->p == c->end;
	if (!same(kind, "run"))
		return false;
	e->new_container = true;
	e->containers_dir = next_str(c);
	e->names_dir = next_str(c);
	e->id = next_str(c);
	e->created = next_str(c);
	kind = next(c);
	e->name = next_str(c);
	e->random_name = same(kind, "random");
	if (e->random_name) {
		e->adjectives = word_list(c, &e->n_adjectives);
		e->nouns = word_list(c, &e->n_nouns);
	} else if (!same(kind, "fixed")) {
		return false;
	}
	e->n_files = next_count(c);
	e->files = calloc(e->n_files ? e->n_files : 1, sizeof *e->files);
	if (!e->files)
		return false;
	for (size_t i = 0; i < e->n_files && !c->bad; i++) {
		struct entry_file *f = &e->files[i];
		struct bytes type;
		char *end;

		f->path = next_str(c);
		type = next(c);
		f->mode = (unsigned)strtoul(next_str(c), &end, 8);
		f->content = next(c);
		if (same(type, "dir"))
			f->kind = ENTRY_DIR;
		else if (same(type, "link"))
			f->kind = ENTRY_LINK;
		else if (same(type, "file"))
			f->kind = ENTRY_FILE;
		else
			return false;
		/* Relative, without .. : the file stays in the container's dir. A link's target is
		 * a string (the stop recipe), not a path a replay would follow. */
		if (f->path[0] == '/' || f->path[0] == '\0' || strstr(f->path, "..") || f->mode > 07777 ||
		    (f->kind == ENTRY_LINK && (f->content.len == 0 || memchr(f->content.p, '\0', f->content.len))))
			return false;
	}
	return !c->bad && c->p == c->end && strlen(e->id) == 64 && strlen(e->created) == 24 && e->name[0] != '\0';
}

static char miss[PATH_MAX + 64] = "no entry for this command line";

const char *fast_entry_miss(void)
{
	return miss;
}

static bool missed(const char *what, const char *detail)
{
	snprintf(miss, sizeof miss, "%s%s%s", what, detail ? ": " : "", detail ? detail : "");
	return false;
}

static bool inputs_match(struct cursor *c, int argc, char **argv, const char *cwd)
{
	struct utsname uts;
	char number[32];
	size_t n;

	if (!same(next(c), "nook-fast-run") || !same(next(c), "1"))
		return missed("an entry of another format", NULL);
	{
		char self[PATH_MAX];
		ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);

		self[len > 0 ? len : 0] = '\0';
		if (len <= 0 || strcmp(next_str(c), self) != 0)
			return missed("an entry of another bin/nook", NULL);
	}
	if (next_count(c) != (size_t)(argc - 1))
		return missed("another command line", NULL);
	for (int i = 1; i < argc; i++)
		if (strcmp(next_str(c), argv[i]) != 0)
			return missed("another command line", NULL);
	if (strcmp(next_str(c), cwd) != 0)
		return missed("another working directory", NULL);
	snprintf(number, sizeof number, "%u", (unsigned)getuid());
	if (strcmp(next_str(c), number) != 0)
		return missed("another user", NULL);
	snprintf(number, sizeof number, "%u", (unsigned)getgid());
	if (strcmp(next_str(c), number) != 0)
		return missed("another group", NULL);
	if (!ttys_match(next_str(c)))
		return missed("other terminals on stdin, stdout or stderr", NULL);
	if (uname(&uts) < 0 || strcmp(next_str(c), uts.release) != 0)
		return missed("another kernel", NULL);
	{
		mode_t mask = umask(0);

		umask(mask);
		snprintf(number, sizeof number, "%o", (unsigned)mask);
		if (strcmp(next_str(c), number) != 0)
			return missed("another umask", NULL);
	}
	if (!env_matches(c))
		return missed("the environment changed", NULL);
	{
		const char *interfaces = next_str(c);

		if (strcmp(interfaces, "-") != 0 && !interfaces_match(interfaces))
			return missed("the network interfaces changed", NULL);
	}
	n = next_count(c);
	for (size_t i = 0; i < n; i++) {
		const char *dep = next_str(c);
		struct bytes kind = next(c), value = next(c);

		if (c->bad || !dependency_matches(dep, kind, value))
			return missed("changed", dep);
	}
	return !c->bad || missed("a malformed entry", NULL);
}

bool fast_entry_load(const char *path, int argc, char **argv, const char *cwd, struct fast_entry *e)
{
	size_t len = 0;
	struct cursor c;

	memset(e, 0, sizeof *e);
	e->buf = read_private_file(path, &len);
	if (!e->buf)
		return missed("no entry (or not a private file of yours)", path);
	c = (struct cursor){ e->buf, e->buf + len, false };
	if (!inputs_match(&c, argc, argv, cwd) || (!decode_decision(&c, e) && !missed("a malformed entry", NULL))) {
		fast_entry_free(e);
		return false;
	}
	return true;
}

void fast_entry_free(struct fast_entry *e)
{
	free(e->adjectives);
	free(e->nouns);
	free(e->files);
	free(e->buf);
	memset(e, 0, sizeof *e);
}
