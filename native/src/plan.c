#include "plan.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/un.h>
#include <sys/resource.h>
#include <unistd.h>

#include "decimal.h"
#include "netstring.h"
#include "util.h"

/* Largest fixed arity in the op table (mount). */
#define MAX_ARITY 5

static const struct {
	const char *name;
	int arity;
} op_table[] = {
#define NOOK_OP_ENTRY(code, name, arity) [code] = { name, arity },
	NOOK_OPS(NOOK_OP_ENTRY)
#undef NOOK_OP_ENTRY
};

const char *nook_op_name(enum nook_op_code code)
{
	return op_table[code].name;
}

int nook_plan_read(int fd, struct nook_plan *plan, struct nook_error *e)
{
	_cleanup_free_ char *buf = NULL;
	size_t cap = 0, len = 0;

	for (;;) {
		ssize_t n;

		if (len == cap) {
			/* One byte of room past the limit tells "exactly 16 MiB" from "more". */
			size_t grow = cap ? cap * 2 : 64 * 1024;
			char *bigger;

			if (cap > NOOK_PLAN_MAX)
				return nook_fail(e, E2BIG, "plan larger than 16 MiB");
			if (grow > NOOK_PLAN_MAX + 1)
				grow = NOOK_PLAN_MAX + 1;
			bigger = realloc(buf, grow);
			if (!bigger)
				return nook_fail(e, ENOMEM, "reading the plan");
			buf = bigger;
			cap = grow;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return nook_fail(e, errno, "reading the plan from fd 3");
		if (n == 0)
			break;
		len += (size_t)n;
	}
	plan->buf = buf;
	plan->len = len;
	buf = NULL;
	return 0;
}

struct cursor {
	char *p, *end;
};

/* One field of the plan: a string, so without NUL bytes. */
static int next_field(struct cursor *c, char **field, struct nook_error *e)
{
	size_t len;

	switch (nook_netstring_next(&c->p, c->end, NOOK_FIELD_MAX, field, &len)) {
	case NOOK_NETSTRING_OK:
		break;
	case NOOK_NETSTRING_TOO_LONG:
		return nook_fail(e, E2BIG, "field longer than 1 MiB");
	case NOOK_NETSTRING_TRUNCATED:
		return nook_fail(e, EINVAL, "plan ends inside a field");
	case NOOK_NETSTRING_MALFORMED:
		return nook_fail(e, EINVAL, "malformed netstring");
	case NOOK_NETSTRING_LEADING_ZERO:
		return nook_fail(e, EINVAL, "netstring length with a leading zero");
	case NOOK_NETSTRING_UNTERMINATED:
		return nook_fail(e, EINVAL, "netstring not terminated by ','");
	}
	if (memchr(*field, '\0', len))
		return nook_fail(e, EINVAL, "field contains a NUL byte");
	return 0;
}

static bool parse_mode(const char *s, mode_t *out)
{
	size_t len = strlen(s);
	mode_t mode = 0;

	if (len == 0 || len > 5)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '7')
			return false;
		mode = mode * 8 + (mode_t)(s[i] - '0');
	}
	if (mode > 07777)
		return false;
	*out = mode;
	return true;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static bool parse_mask(const char *s, uint64_t *out)
{
	size_t len = strlen(s);
	uint64_t mask = 0;

	if (len == 0 || len > 16)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		unsigned digit;

		if (c >= '0' && c <= '9')
			digit = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			digit = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			digit = (unsigned)(c - 'A' + 10);
		else
			return false;
		mask = mask << 4 | digit;
	}
	*out = mask;
	return true;
}

/* A BPF program as the TypeScript side hex-encodes it: lowercase digits, whole
 * instructions (struct sock_filter, in the host's byte order), at most BPF_MAXINSNS. */
static int decode_seccomp(const char *hex, struct nook_op *op, struct nook_error *e)
{
	size_t len = strlen(hex), n_insns = len / (2 * sizeof(struct sock_filter));
	unsigned char *bytes;

	if (len == 0 || len % (2 * sizeof(struct sock_filter)) != 0 || n_insns > BPF_MAXINSNS)
		return nook_fail(e, EINVAL, "seccomp: not a program of 1 to %d instructions",
				 BPF_MAXINSNS);
	bytes = malloc(len / 2);
	if (!bytes)
		return nook_fail(e, ENOMEM, "seccomp");
	op->seccomp.insns = (struct sock_filter *)bytes;
	op->seccomp.len = (unsigned short)n_insns;
	for (size_t i = 0; i < len; i += 2) {
		int hi = hex_digit(hex[i]), lo = hex_digit(hex[i + 1]);

		if (hi < 0 || lo < 0)
			return nook_fail(e, EINVAL, "seccomp: the program is not lowercase hex");
		bytes[i / 2] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

/* Plans carry normalized absolute paths (no empty, "." or ".." component, no trailing
 * slash), so what a path names never depends on how the kernel walks such components. */
static int check_path(const char *op, const char *path, struct nook_error *e)
{
	const char *slash = path;

	if (path[0] != '/' || strlen(path) >= PATH_MAX)
		return nook_fail(e, EINVAL, "%s: '%s' is not an absolute path", op, path);
	if (path[1] == '\0')
		return 0;
	while (*slash) {
		const char *name = slash + 1;
		const char *next = strchrnul(name, '/');
		size_t len = (size_t)(next - name);

		if (len == 0 || (len == 1 && name[0] == '.') ||
		    (len == 2 && name[0] == '.' && name[1] == '.'))
			return nook_fail(e, EINVAL, "%s: '%s' is not a normalized path", op, path);
		slash = next;
	}
	return 0;
}

struct flag {
	const char *name;
	unsigned long value;
};

static int parse_flags(const char *op, const char *list, const struct flag *table, size_t n,
		       unsigned long *out, struct nook_error *e)
{
	const char *item = list;

	*out = 0;
	if (*list == '\0')
		return 0;
	for (;;) {
		const char *comma = strchrnul(item, ',');
		size_t len = (size_t)(comma - item);
		size_t i;

		for (i = 0; i < n; i++)
			if (strlen(table[i].name) == len && memcmp(table[i].name, item, len) == 0)
				break;
		if (i == n)
			return nook_fail(e, EINVAL, "%s: unknown flag '%.*s'", op, (int)len, item);
		if (*out & table[i].value)
			return nook_fail(e, EINVAL, "%s: flag '%s' given twice", op, table[i].name);
		*out |= table[i].value;
		if (*comma == '\0')
			return 0;
		item = comma + 1;
	}
}

#define N_FLAGS(table) (sizeof(table) / sizeof((table)[0]))

static const struct flag namespace_flags[] = {
	{ "user", CLONE_NEWUSER }, { "mount", CLONE_NEWNS }, { "pid", CLONE_NEWPID },
	{ "uts", CLONE_NEWUTS },   { "ipc", CLONE_NEWIPC },  { "net", CLONE_NEWNET },
	{ "cgroup", CLONE_NEWCGROUP },
};

static const struct flag mount_flags[] = {
	{ "nosuid", MS_NOSUID },     { "nodev", MS_NODEV },
	{ "noexec", MS_NOEXEC },     { "ro", MS_RDONLY },
	{ "relatime", MS_RELATIME }, { "strictatime", MS_STRICTATIME },
	{ "noatime", MS_NOATIME },
};

static const struct flag bind_flags[] = {
	{ "rec", NOOK_BIND_REC },
	{ "ro", NOOK_BIND_RO },
	{ "nofollow", NOOK_BIND_NOFOLLOW },
	{ "create-file", NOOK_BIND_CREATE_FILE },
	{ "create-dir", NOOK_BIND_CREATE_DIR },
	{ "nosuid", NOOK_BIND_NOSUID },
	{ "nodev", NOOK_BIND_NODEV },
	{ "noexec", NOOK_BIND_NOEXEC },
	{ "private", NOOK_BIND_PRIVATE },
	{ "slave", NOOK_BIND_SLAVE },
	{ "shared", NOOK_BIND_SHARED },
};

static const struct flag remount_flags[] = {
	{ "rec", NOOK_REMOUNT_REC },
	{ "optional", NOOK_REMOUNT_OPTIONAL },
};

static int decode_idmap(const char *op, char **args, int index, struct nook_idmap *map,
			struct nook_error *e)
{
	char *map_text = args[1];
	size_t n = 1;

	if (args[0][0] != '\0' && check_path(op, args[0], e) < 0)
		return -1;
	for (const char *c = map_text; *c; c++)
		n += *c == ' ';
	if (n % 3 != 0)
		return nook_fail(e, EINVAL, "%s: map '%s' is not a list of triples", op, map_text);
	if (args[0][0] == '\0' && n != 3)
		return nook_fail(e, EINVAL, "%s: without a helper the map is one triple", op);
	map->ids = calloc(n, sizeof *map->ids);
	if (!map->ids)
		return nook_fail(e, ENOMEM, "%s", op);
	for (size_t i = 0; i < n; i++) {
		char *space = strchrnul(map_text, ' ');
		uint64_t id;

		if (!nook_parse_decimal_n(map_text, (size_t)(space - map_text), UINT32_MAX, &id))
			return nook_fail(e, EINVAL, "%s: bad number in map", op);
		map->ids[i] = map_text;
		map_text = space + (*space == ' ');
		*space = '\0';
	}
	map->n_ids = n;
	map->helper = args[0][0] ? args[0] : NULL;
	map->index = index;
	return 0;
}

static int decode_groups(const char *list, struct nook_op *op, struct nook_error *e)
{
	size_t n = 1;

	if (*list == '\0')
		return 0;
	for (const char *c = list; *c; c++)
		n += *c == ',';
	op->user.groups = calloc(n, sizeof *op->user.groups);
	if (!op->user.groups)
		return nook_fail(e, ENOMEM, "user");
	for (size_t i = 0; i < n; i++) {
		const char *comma = strchrnul(list, ',');
		uint64_t gid;

		if (!nook_parse_decimal_n(list, (size_t)(comma - list), UINT32_MAX - 1, &gid))
			return nook_fail(e, EINVAL, "user: bad group list");
		op->user.groups[i] = (gid_t)gid;
		list = comma + 1;
	}
	op->user.n_groups = n;
	return 0;
}

/* Reads a count field, then that many fields into a NULL-terminated vector. */
static int decode_vector(struct cursor *c, const char *op, const char *what, size_t min,
			 char ***out, struct nook_error *e)
{
	char *count_text;
	uint64_t count;
	char **vec;

	if (c->p == c->end)
		return nook_fail(e, EINVAL, "%s: missing %s count", op, what);
	if (next_field(c, &count_text, e) < 0)
		return -1;
	/* Each field takes at least 3 bytes ("0:,"): bounds the allocation by the plan. */
	if (!nook_parse_decimal(count_text, (uint64_t)(c->end - c->p) / 3, &count) || count < min)
		return nook_fail(e, EINVAL, "%s: bad %s count '%s'", op, what, count_text);
	vec = calloc(count + 1, sizeof *vec);
	if (!vec)
		return nook_fail(e, ENOMEM, "%s", op);
	*out = vec;
	for (uint64_t i = 0; i < count; i++)
		if (next_field(c, &vec[i], e) < 0)
			return -1;
	return 0;
}

/* argc, argv..., envc, env...: the shape of exec and exit-command. */
static int decode_command(struct cursor *c, const char *op, char ***argv, char ***envp,
			  struct nook_error *e)
{
	if (decode_vector(c, op, "argv", 1, argv, e) < 0 ||
	    decode_vector(c, op, "env", 0, envp, e) < 0)
		return -1;
	if ((*argv)[0][0] == '\0')
		return nook_fail(e, EINVAL, "%s: empty command", op);
	for (char **env = *envp; *env; env++)
		if ((*env)[0] == '=' || !strchr(*env, '='))
			return nook_fail(e, EINVAL, "%s: '%s' is not NAME=value", op, *env);
	return 0;
}

/* The lower layers come as one field, "top:…:bottom"; the plan buffer is ours to split. */
static int decode_overlay(const char *name, char **args, struct nook_op *op,
			  struct nook_error *e)
{
	size_t n = 1, i = 0;
	char *dir, *rest;

	for (const char *p = args[0]; *p; p++)
		n += *p == ':';
	op->overlay.lower = calloc(n + 1, sizeof *op->overlay.lower);
	if (!op->overlay.lower)
		return nook_fail(e, ENOMEM, "%s", name);
	rest = args[0];
	while ((dir = strsep(&rest, ":")) != NULL) {
		if (check_path(name, dir, e) < 0)
			return -1;
		op->overlay.lower[i++] = dir;
	}
	op->overlay.upper = args[1];
	op->overlay.work = args[2];
	op->overlay.target = args[3];
	if (check_path(name, args[1], e) < 0 || check_path(name, args[2], e) < 0)
		return -1;
	return check_path(name, args[3], e);
}

/* The names podman's --ulimit takes, as the TypeScript side sends them. */
static const struct {
	const char *name;
	int resource;
} rlimit_names[] = {
	{ "as", RLIMIT_AS },	       { "core", RLIMIT_CORE },
	{ "cpu", RLIMIT_CPU },	       { "data", RLIMIT_DATA },
	{ "fsize", RLIMIT_FSIZE },     { "locks", RLIMIT_LOCKS },
	{ "memlock", RLIMIT_MEMLOCK }, { "msgqueue", RLIMIT_MSGQUEUE },
	{ "nice", RLIMIT_NICE },       { "nofile", RLIMIT_NOFILE },
	{ "nproc", RLIMIT_NPROC },     { "rss", RLIMIT_RSS },
	{ "rtprio", RLIMIT_RTPRIO },   { "rttime", RLIMIT_RTTIME },
	{ "sigpending", RLIMIT_SIGPENDING }, { "stack", RLIMIT_STACK },
};

/* "unlimited" or a decimal below RLIM_INFINITY. */
static bool parse_rlim(const char *s, uint64_t *out)
{
	if (strcmp(s, "unlimited") == 0) {
		*out = RLIM_INFINITY;
		return true;
	}
	return nook_parse_decimal(s, RLIM_INFINITY - 1, out);
}

static int decode_rlimit(char **args, struct nook_op *op, struct nook_error *e)
{
	size_t i;

	for (i = 0; i < sizeof rlimit_names / sizeof rlimit_names[0]; i++)
		if (strcmp(args[0], rlimit_names[i].name) == 0)
			break;
	if (i == sizeof rlimit_names / sizeof rlimit_names[0])
		return nook_fail(e, EINVAL, "rlimit: unknown resource '%s'", args[0]);
	op->rlimit.name = args[0];
	op->rlimit.resource = rlimit_names[i].resource;
	if (!parse_rlim(args[1], &op->rlimit.soft) || !parse_rlim(args[2], &op->rlimit.hard))
		return nook_fail(e, EINVAL, "rlimit: bad limit '%s:%s'", args[1], args[2]);
	if (op->rlimit.soft > op->rlimit.hard)
		return nook_fail(e, EINVAL, "rlimit: %s soft limit above the hard one", args[0]);
	return 0;
}

static int decode_setup_op(const char *name, char **args, struct nook_op *op,
			   struct nook_error *e)
{
	unsigned long flags;
	uint64_t number;

	switch (op->code) {
	case NOOK_OP_ROOTFS:
		op->rootfs.dir = args[0];
		return check_path(name, args[0], e);
	case NOOK_OP_OVERLAY_ROOTFS:
		return decode_overlay(name, args, op, e);
	case NOOK_OP_TMPFS_ROOTFS:
		op->tmpfs_rootfs.mount_point = args[0];
		return check_path(name, args[0], e);
	case NOOK_OP_MKDIR:
		op->mkdir.path = args[0];
		if (!parse_mode(args[1], &op->mkdir.mode))
			return nook_fail(e, EINVAL, "mkdir: bad mode '%s'", args[1]);
		return check_path(name, args[0], e);
	case NOOK_OP_MOUNT:
		op->mount.fstype = args[0];
		op->mount.source = args[1];
		op->mount.path = args[2];
		op->mount.data = args[4];
		if (args[0][0] == '\0' || args[1][0] == '\0')
			return nook_fail(e, EINVAL, "mount: empty fstype or source");
		if (parse_flags(name, args[3], mount_flags, N_FLAGS(mount_flags), &flags, e) < 0)
			return -1;
		if (__builtin_popcountl(flags & (MS_RELATIME | MS_STRICTATIME | MS_NOATIME)) > 1)
			return nook_fail(e, EINVAL, "mount: more than one atime flag");
		op->mount.flags = flags;
		return check_path(name, args[2], e);
	case NOOK_OP_BIND:
		op->bind.source = args[0];
		op->bind.path = args[1];
		if (parse_flags(name, args[2], bind_flags, N_FLAGS(bind_flags), &flags, e) < 0)
			return -1;
		if ((flags & NOOK_BIND_CREATE_FILE) && (flags & NOOK_BIND_CREATE_DIR))
			return nook_fail(e, EINVAL, "bind: create-file and create-dir together");
		if (__builtin_popcountl(flags & (NOOK_BIND_PRIVATE | NOOK_BIND_SLAVE |
						 NOOK_BIND_SHARED)) > 1)
			return nook_fail(e, EINVAL, "bind: more than one propagation flag");
		op->bind.flags = (unsigned int)flags;
		if (check_path(name, args[0], e) < 0)
			return -1;
		return check_path(name, args[1], e);
	case NOOK_OP_SYMLINK:
		op->symlink.target = args[0];
		op->symlink.path = args[1];
		if (args[0][0] == '\0' || strlen(args[0]) >= PATH_MAX)
			return nook_fail(e, EINVAL, "symlink: bad target");
		return check_path(name, args[1], e);
	case NOOK_OP_REMOUNT_RO:
		op->remount_ro.path = args[0];
		if (parse_flags(name, args[1], remount_flags, N_FLAGS(remount_flags), &flags, e) < 0)
			return -1;
		op->remount_ro.flags = (unsigned int)flags;
		return check_path(name, args[0], e);
	case NOOK_OP_MASK:
		op->mask.path = args[0];
		return check_path(name, args[0], e);
	case NOOK_OP_SYSCTL:
		op->sysctl.path = args[0];
		op->sysctl.value = args[1];
		if (check_path(name, args[0], e) < 0)
			return -1;
		/* Only kernel parameters: the op is no general file writer. */
		if (strncmp(args[0], "/proc/sys/", 10) != 0)
			return nook_fail(e, EINVAL, "sysctl: '%s' is not under /proc/sys", args[0]);
		return 0;
	case NOOK_OP_SECCOMP:
		return decode_seccomp(args[0], op, e);
	case NOOK_OP_FORWARD:
		if (!nook_parse_decimal(args[0], UINT16_MAX, &number) || number == 0)
			return nook_fail(e, EINVAL, "forward: bad port '%s'", args[0]);
		op->forward.port = (uint16_t)number;
		op->forward.socket = args[1];
		if (strlen(args[1]) >= sizeof(((struct sockaddr_un *)0)->sun_path))
			return nook_fail(e, ENAMETOOLONG, "forward: socket path '%s' too long",
					 args[1]);
		return check_path(name, args[1], e);
	case NOOK_OP_SETHOSTNAME:
		op->sethostname.name = args[0];
		if (args[0][0] == '\0' || strlen(args[0]) > HOST_NAME_MAX)
			return nook_fail(e, EINVAL, "sethostname: bad name '%s'", args[0]);
		return 0;
	case NOOK_OP_CHDIR:
		op->chdir.path = args[0];
		return check_path(name, args[0], e);
	case NOOK_OP_UMASK:
		if (!parse_mode(args[0], &op->umask.mask) || op->umask.mask > 0777)
			return nook_fail(e, EINVAL, "umask: bad mask '%s'", args[0]);
		return 0;
	case NOOK_OP_RLIMIT:
		return decode_rlimit(args, op, e);
	case NOOK_OP_CAP_BOUNDING:
	case NOOK_OP_CAP_SET:
		if (!parse_mask(args[0], &op->caps.mask))
			return nook_fail(e, EINVAL, "%s: bad mask '%s'", name, args[0]);
		return 0;
	case NOOK_OP_USER:
		if (!nook_parse_decimal(args[0], UINT32_MAX - 1, &number))
			return nook_fail(e, EINVAL, "user: bad uid '%s'", args[0]);
		op->user.uid = (uid_t)number;
		if (!nook_parse_decimal(args[1], UINT32_MAX - 1, &number))
			return nook_fail(e, EINVAL, "user: bad gid '%s'", args[1]);
		op->user.gid = (gid_t)number;
		return decode_groups(args[2], op, e);
	case NOOK_OP_PIVOT_ROOT:
	case NOOK_OP_LOOPBACK_UP:
	case NOOK_OP_SESSION:
	case NOOK_OP_CONSOLE:
	case NOOK_OP_NO_NEW_PRIVS:
	case NOOK_OP_CLOSE_FDS:
	case NOOK_OP_INIT:
	case NOOK_OP_AWAIT_NETWORK:
		return 0;
	default:
		return nook_fail(e, EINVAL, "%s is not a setup op", name);
	}
}

/* Where the decoder stands: launch records, then setup ops ending with exec, then end. */
struct order {
	enum { AT_START, IN_LAUNCH, IN_SETUP, AFTER_EXEC } stage;
	bool seen[NOOK_OP_COUNT];
};

static bool is_launch_record(enum nook_op_code code)
{
	switch (code) {
	case NOOK_OP_NAMESPACES:
	case NOOK_OP_UID_MAP:
	case NOOK_OP_GID_MAP:
	case NOOK_OP_STDIO:
	case NOOK_OP_DETACH:
	case NOOK_OP_STATE:
	case NOOK_OP_RESTART:
	case NOOK_OP_EXIT_COMMAND:
	case NOOK_OP_JOIN:
	case NOOK_OP_CGROUP:
	case NOOK_OP_OOM_SCORE_ADJ:
	case NOOK_OP_NETWORK:
	case NOOK_OP_SHARE_NET:
		return true;
	default:
		return false;
	}
}

/* A join plan enters a container that already runs: nothing to mount, nothing to create,
 * nothing that outlives the command. */
static bool allowed_in_join(enum nook_op_code code)
{
	switch (code) {
	case NOOK_OP_CHDIR:
	case NOOK_OP_UMASK:
	case NOOK_OP_RLIMIT:
	case NOOK_OP_CAP_BOUNDING:
	case NOOK_OP_SECCOMP:
	case NOOK_OP_USER:
	case NOOK_OP_CAP_SET:
	case NOOK_OP_NO_NEW_PRIVS:
	case NOOK_OP_SESSION:
	case NOOK_OP_CONSOLE:
	case NOOK_OP_CLOSE_FDS:
	case NOOK_OP_EXEC:
		return true;
	default:
		return false;
	}
}

/* Launch records that only a container the runtime creates can have. */
static const enum nook_op_code create_only[] = {
	NOOK_OP_NAMESPACES, NOOK_OP_UID_MAP,	 NOOK_OP_GID_MAP, NOOK_OP_DETACH,
	NOOK_OP_STATE,	    NOOK_OP_RESTART,	 NOOK_OP_EXIT_COMMAND, NOOK_OP_CGROUP,
	NOOK_OP_OOM_SCORE_ADJ, NOOK_OP_NETWORK, NOOK_OP_SHARE_NET,
};

static bool is_create_only(enum nook_op_code code)
{
	for (size_t i = 0; i < sizeof create_only / sizeof create_only[0]; i++)
		if (create_only[i] == code)
			return true;
	return false;
}

/* The user and network namespaces: new ones (user required; a network helper needs net),
 * or another container's (share-net: neither listed, no helper of its own). */
static int check_network(const struct nook_plan *plan, struct nook_error *e)
{
	if (plan->share_net.pid) {
		if (plan->clone_flags & (CLONE_NEWUSER | CLONE_NEWNET))
			return nook_fail(e, EINVAL,
					 "share-net: namespaces cannot list user or net");
		if (plan->network.argv)
			return nook_fail(e, EINVAL, "share-net: the plan cannot have a network helper");
		return 0;
	}
	if (!(plan->clone_flags & CLONE_NEWUSER))
		return nook_fail(e, EINVAL, "namespaces: 'user' is required");
	if (plan->network.argv && !(plan->clone_flags & CLONE_NEWNET))
		return nook_fail(e, EINVAL, "network: the helper needs a net namespace");
	return 0;
}

static int check_launch_complete(const struct nook_plan *plan, const struct order *o,
				 const char *name, struct nook_error *e)
{
	if (!o->seen[NOOK_OP_JOIN]) {
		if (!o->seen[NOOK_OP_NAMESPACES] || !o->seen[NOOK_OP_UID_MAP] ||
		    !o->seen[NOOK_OP_GID_MAP])
			return nook_fail(e, EINVAL,
					 "namespaces, uid-map and gid-map (or join) must precede %s",
					 name);
		return check_network(plan, e);
	}
	for (size_t i = 0; i < sizeof create_only / sizeof create_only[0]; i++)
		if (o->seen[create_only[i]])
			return nook_fail(e, EINVAL, "join: a join plan cannot have %s",
					 nook_op_name(create_only[i]));
	if (plan->stdio.log)
		return nook_fail(e, EINVAL, "join: a join plan cannot have a log file");
	return 0;
}

static int check_order(const struct nook_plan *plan, struct order *o, enum nook_op_code code,
		       const char *name, struct nook_error *e)
{
	if (o->stage == AT_START) {
		if (code != NOOK_OP_NOOK_PLAN)
			return nook_fail(e, EINVAL, "plan does not start with nook-plan");
		o->stage = IN_LAUNCH;
	} else if (code == NOOK_OP_NOOK_PLAN) {
		return nook_fail(e, EINVAL, "nook-plan given twice");
	} else if (code == NOOK_OP_END) {
		if (o->stage != AFTER_EXEC)
			return nook_fail(e, EINVAL, "plan has no exec");
		/* The monitor waits for the terminal that console sends it. */
		if (plan->stdio.tty && !o->seen[NOOK_OP_CONSOLE])
			return nook_fail(e, EINVAL, "stdio: a tty needs a console op");
		if (o->seen[NOOK_OP_NETWORK] && !o->seen[NOOK_OP_AWAIT_NETWORK])
			return nook_fail(e, EINVAL, "network: the plan has no await-network op");
	} else if (is_launch_record(code)) {
		if (o->stage != IN_LAUNCH)
			return nook_fail(e, EINVAL, "%s after the first setup op", name);
		if (o->seen[code])
			return nook_fail(e, EINVAL, "%s given twice", name);
		if ((code == NOOK_OP_JOIN || is_create_only(code)) && o->seen[NOOK_OP_JOIN])
			return nook_fail(e, EINVAL, "join: a join plan cannot have %s", name);
	} else {
		if (o->stage == AFTER_EXEC)
			return nook_fail(e, EINVAL, "%s after exec", name);
		if (o->stage == IN_LAUNCH) {
			if (check_launch_complete(plan, o, name, e) < 0)
				return -1;
			o->stage = IN_SETUP;
		}
		if (o->seen[NOOK_OP_JOIN] && !allowed_in_join(code))
			return nook_fail(e, EINVAL, "%s: not allowed in a join plan", name);
		if (code == NOOK_OP_CONSOLE && !plan->stdio.tty)
			return nook_fail(e, EINVAL, "console without a stdio tty");
		/* TIOCSCTTY takes a session leader without a terminal. */
		if (code == NOOK_OP_CONSOLE && !o->seen[NOOK_OP_SESSION])
			return nook_fail(e, EINVAL, "console without a session before it");
		/* Its listener must not land on the host's loopback. */
		if (code == NOOK_OP_FORWARD && !(plan->clone_flags & CLONE_NEWNET))
			return nook_fail(e, EINVAL, "forward without a network namespace");
		if (code == NOOK_OP_AWAIT_NETWORK &&
		    (!o->seen[NOOK_OP_NETWORK] || o->seen[code] || o->seen[NOOK_OP_INIT]))
			return nook_fail(e, EINVAL,
					 "await-network: once, with a network record, before init");
		if (code == NOOK_OP_OVERLAY_ROOTFS || code == NOOK_OP_TMPFS_ROOTFS)
			code = NOOK_OP_ROOTFS;
		if (code == NOOK_OP_ROOTFS && o->seen[code])
			return nook_fail(e, EINVAL, "%s: the plan already has a root filesystem", name);
		if ((code == NOOK_OP_PIVOT_ROOT || code == NOOK_OP_INIT || code == NOOK_OP_SESSION ||
		     code == NOOK_OP_CONSOLE || code == NOOK_OP_FORWARD) &&
		    o->seen[code])
			return nook_fail(e, EINVAL, "%s given twice", name);
		if (code == NOOK_OP_PIVOT_ROOT && !o->seen[NOOK_OP_ROOTFS])
			return nook_fail(e, EINVAL, "pivot-root without rootfs");
		if (code == NOOK_OP_EXEC)
			o->stage = AFTER_EXEC;
	}
	o->seen[code] = true;
	return 0;
}

static struct nook_op *append_op(struct nook_plan *plan, struct nook_error *e)
{
	struct nook_op *ops = reallocarray(plan->ops, plan->n_ops + 1, sizeof *ops);

	if (!ops) {
		nook_fail(e, ENOMEM, "decoding the plan");
		return NULL;
	}
	plan->ops = ops;
	memset(&ops[plan->n_ops], 0, sizeof *ops);
	return &ops[plan->n_ops++];
}

static int parse_bit(const char *what, const char *s, bool *out, struct nook_error *e)
{
	if (strcmp(s, "0") != 0 && strcmp(s, "1") != 0)
		return nook_fail(e, EINVAL, "stdio: %s must be 0 or 1, not '%s'", what, s);
	*out = s[0] == '1';
	return 0;
}

static int decode_stdio(struct nook_plan *plan, char **args, struct nook_error *e)
{
	if (parse_bit("tty", args[0], &plan->stdio.tty, e) < 0 ||
	    parse_bit("stdin", args[1], &plan->stdio.keep_stdin, e) < 0)
		return -1;
	plan->stdio.piped = true;
	plan->stdio.index = nook_plan_index(plan);
	if (args[2][0] == '\0')
		return 0;
	plan->stdio.log = args[2];
	return check_path("stdio", args[2], e);
}

static int decode_restart(struct nook_plan *plan, char **args, struct nook_error *e)
{
	static const char *const policies[] = {
		[NOOK_RESTART_NO] = "no",
		[NOOK_RESTART_ON_FAILURE] = "on-failure",
		[NOOK_RESTART_ALWAYS] = "always",
	};
	size_t i;

	for (i = 0; i < sizeof policies / sizeof policies[0]; i++)
		if (strcmp(args[0], policies[i]) == 0)
			break;
	if (i == sizeof policies / sizeof policies[0])
		return nook_fail(e, EINVAL, "restart: unknown policy '%s'", args[0]);
	plan->restart.policy = (enum nook_restart_policy)i;
	if (!nook_parse_decimal(args[1], UINT32_MAX, &plan->restart.max))
		return nook_fail(e, EINVAL, "restart: bad retry count '%s'", args[1]);
	plan->restart.stop_file = args[2];
	return check_path("restart", args[2], e);
}

static int decode_join(struct nook_plan *plan, const char *name, char **args,
		       struct nook_error *e)
{
	unsigned long flags;
	uint64_t pid;

	if (!nook_parse_decimal(args[0], INT32_MAX, &pid) || pid == 0)
		return nook_fail(e, EINVAL, "join: bad pid '%s'", args[0]);
	if (!nook_parse_decimal(args[1], UINT64_MAX, &plan->join.start))
		return nook_fail(e, EINVAL, "join: bad start time '%s'", args[1]);
	if (parse_flags(name, args[2], namespace_flags, N_FLAGS(namespace_flags), &flags, e) < 0)
		return -1;
	if (!(flags & CLONE_NEWUSER))
		return nook_fail(e, EINVAL, "join: 'user' is required");
	plan->join.pid = (pid_t)pid;
	plan->join.flags = (int)flags;
	plan->join.index = nook_plan_index(plan);
	return 0;
}

/* -1000 to 1000: the one signed number in a plan. */
static int decode_oom_score_adj(struct nook_plan *plan, const char *s, struct nook_error *e)
{
	bool negative = s[0] == '-';
	uint64_t value;

	if (!nook_parse_decimal(s + negative, 1000, &value) || (negative && value == 0))
		return nook_fail(e, EINVAL, "oom-score-adj: bad value '%s'", s);
	plan->oom_score_adj.set = true;
	plan->oom_score_adj.value = negative ? -(int)value : (int)value;
	plan->oom_score_adj.index = nook_plan_index(plan);
	return 0;
}

static int decode_exit_command(struct nook_plan *plan, struct cursor *c, struct nook_error *e)
{
	if (decode_command(c, "exit-command", &plan->exit_argv, &plan->exit_envp, e) < 0)
		return -1;
	/* It runs in place of the monitor, with no shell and no PATH to search. */
	if (plan->exit_argv[0][0] != '/')
		return nook_fail(e, EINVAL, "exit-command: '%s' is not an absolute path",
				 plan->exit_argv[0]);
	return 0;
}

static int required_field(struct cursor *c, const char *op, char **field, struct nook_error *e)
{
	if (c->p == c->end)
		return nook_fail(e, EINVAL, "%s: missing fields", op);
	return next_field(c, field, e);
}

/* start, log, api socket, argc, argv..., n, requests...: the helper's command is absolute
 * (no PATH to search), its requests need a socket to go to. */
static int decode_network(struct nook_plan *plan, struct cursor *c, struct nook_error *e)
{
	char *start, *log, *socket;

	plan->network.index = nook_plan_index(plan);
	if (required_field(c, "network", &start, e) < 0 ||
	    required_field(c, "network", &log, e) < 0 ||
	    required_field(c, "network", &socket, e) < 0)
		return -1;
	if (strcmp(start, "clone") != 0 && strcmp(start, "id-maps") != 0)
		return nook_fail(e, EINVAL, "network: start is clone or id-maps, not '%s'", start);
	plan->network.before_maps = strcmp(start, "clone") == 0;
	if (check_path("network", log, e) < 0 ||
	    (socket[0] && check_path("network", socket, e) < 0))
		return -1;
	if (decode_vector(c, "network", "argv", 1, &plan->network.argv, e) < 0 ||
	    decode_vector(c, "network", "request", 0, &plan->network.requests, e) < 0)
		return -1;
	if (plan->network.argv[0][0] != '/')
		return nook_fail(e, EINVAL, "network: '%s' is not an absolute path",
				 plan->network.argv[0]);
	if (plan->network.requests[0] && !socket[0])
		return nook_fail(e, EINVAL, "network: requests without an api socket");
	plan->network.log = log;
	plan->network.api_socket = socket[0] ? socket : NULL;
	return 0;
}

static int decode_launch_record(struct nook_plan *plan, struct cursor *c,
				enum nook_op_code code, const char *name, char **args,
				struct nook_error *e)
{
	unsigned long flags;
	uint64_t pid;

	switch (code) {
	case NOOK_OP_NOOK_PLAN:
		if (strcmp(args[0], NOOK_PROTOCOL_VERSION) != 0)
			return nook_fail(e, EINVAL, "unsupported plan version '%s'", args[0]);
		return 0;
	case NOOK_OP_NAMESPACES:
		if (parse_flags(name, args[0], namespace_flags, N_FLAGS(namespace_flags), &flags,
				e) < 0)
			return -1;
		plan->clone_flags = (int)flags;
		return 0;
	case NOOK_OP_UID_MAP:
		return decode_idmap(name, args, nook_plan_index(plan), &plan->uid_map, e);
	case NOOK_OP_GID_MAP:
		return decode_idmap(name, args, nook_plan_index(plan), &plan->gid_map, e);
	case NOOK_OP_STDIO:
		return decode_stdio(plan, args, e);
	case NOOK_OP_DETACH:
		plan->detach = true;
		return 0;
	case NOOK_OP_STATE:
		plan->state = args[0];
		plan->state_index = nook_plan_index(plan);
		return check_path(name, args[0], e);
	case NOOK_OP_RESTART:
		return decode_restart(plan, args, e);
	case NOOK_OP_EXIT_COMMAND:
		return decode_exit_command(plan, c, e);
	case NOOK_OP_JOIN:
		return decode_join(plan, name, args, e);
	case NOOK_OP_CGROUP:
		plan->cgroup.path = args[0];
		plan->cgroup.index = nook_plan_index(plan);
		return check_path(name, args[0], e);
	case NOOK_OP_OOM_SCORE_ADJ:
		return decode_oom_score_adj(plan, args[0], e);
	case NOOK_OP_NETWORK:
		return decode_network(plan, c, e);
	case NOOK_OP_SHARE_NET:
		if (!nook_parse_decimal(args[0], INT32_MAX, &pid) || pid == 0)
			return nook_fail(e, EINVAL, "share-net: bad pid '%s'", args[0]);
		plan->share_net.pid = (pid_t)pid;
		plan->share_net.index = nook_plan_index(plan);
		return 0;
	default:
		return 0;
	}
}

int nook_plan_decode(struct nook_plan *plan, struct nook_error *e)
{
	struct cursor c = { plan->buf, plan->buf + plan->len };
	struct order order = { .stage = AT_START };

	for (plan->n_records = 0;; plan->n_records++) {
		char *args[MAX_ARITY];
		enum nook_op_code code;
		char *name;
		int arity;

		if (c.p == c.end)
			return nook_fail(e, EINVAL, "plan ends without end");
		if (next_field(&c, &name, e) < 0)
			return -1;
		for (code = 0; code < NOOK_OP_COUNT; code++)
			if (strcmp(op_table[code].name, name) == 0)
				break;
		if (code == NOOK_OP_COUNT)
			return nook_fail(e, EINVAL, "unknown op '%s'", name);
		arity = op_table[code].arity;
		for (int i = 0; i < arity; i++) {
			if (c.p == c.end)
				return nook_fail(e, EINVAL, "%s takes %d fields, got %d", name, arity,
						 i);
			if (next_field(&c, &args[i], e) < 0)
				return -1;
		}
		if (check_order(plan, &order, code, name, e) < 0)
			return -1;
		if (code == NOOK_OP_END)
			break;
		if (code == NOOK_OP_NOOK_PLAN || is_launch_record(code)) {
			if (decode_launch_record(plan, &c, code, name, args, e) < 0)
				return -1;
		} else {
			struct nook_op *op = append_op(plan, e);

			if (!op)
				return -1;
			op->code = code;
			op->index = nook_plan_index(plan);
			if (code == NOOK_OP_EXEC
				    ? decode_command(&c, name, &op->exec.argv, &op->exec.envp, e) < 0
				    : decode_setup_op(name, args, op, e) < 0)
				return -1;
		}
	}
	if (c.p != c.end) {
		plan->n_records++;
		return nook_fail(e, EINVAL, "data after end");
	}
	/* clone would root the namespace at the monitor's cgroup: the container makes it
	 * itself once it is in its own. */
	if (plan->cgroup.path && (plan->clone_flags & CLONE_NEWCGROUP)) {
		plan->clone_flags &= ~CLONE_NEWCGROUP;
		plan->cgroup.unshare_ns = true;
	}
	return 0;
}

static void free_op(struct nook_op *op)
{
	switch (op->code) {
	case NOOK_OP_OVERLAY_ROOTFS:
		free(op->overlay.lower);
		break;
	case NOOK_OP_SECCOMP:
		free(op->seccomp.insns);
		break;
	case NOOK_OP_USER:
		free(op->user.groups);
		break;
	case NOOK_OP_EXEC:
		free(op->exec.argv);
		free(op->exec.envp);
		break;
	default:
		break;
	}
}

void nook_plan_free(struct nook_plan *plan)
{
	for (size_t i = 0; i < plan->n_ops; i++)
		free_op(&plan->ops[i]);
	free(plan->ops);
	free(plan->uid_map.ids);
	free(plan->gid_map.ids);
	free(plan->exit_argv);
	free(plan->exit_envp);
	free(plan->buf);
	memset(plan, 0, sizeof *plan);
}
