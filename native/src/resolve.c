#include "resolve.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "syscalls.h"
#include "util.h"

static int open_beneath(int dirfd, const char *path, int flags, mode_t mode,
			enum nook_follow follow)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.mode = (flags & O_CREAT) ? mode : 0,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS |
			   (follow == NOOK_NO_SYMLINKS ? RESOLVE_NO_SYMLINKS : 0),
	};

	for (int attempt = 0;; attempt++) {
		int fd = nook_openat2(dirfd, path, &how);

		/* EAGAIN: a concurrent rename or mount might have let the walk leave the
		 * root; the kernel asks the caller to try again. */
		if (fd >= 0 || errno != EAGAIN || attempt == 8)
			return fd;
	}
}

int nook_open_in_root(int rootfd, const char *path, int flags, enum nook_follow follow,
		      int *fd, struct nook_error *e)
{
	*fd = open_beneath(rootfd, path, flags, 0, follow);
	if (*fd < 0)
		return nook_fail(e, errno, "%s", path);
	return 0;
}

int nook_open_parent(int rootfd, const char *path, enum nook_follow follow, int *fd,
		     const char **name, struct nook_error *e)
{
	const char *slash = strrchr(path, '/');
	char parent[PATH_MAX];

	/* Plan paths are absolute and shorter than PATH_MAX (plan.c). */
	if (slash == path) {
		strcpy(parent, "/");
	} else {
		memcpy(parent, path, (size_t)(slash - path));
		parent[slash - path] = '\0';
	}
	*name = slash + 1;
	return nook_open_in_root(rootfd, parent, O_PATH | O_DIRECTORY, follow, fd, e);
}

/* make_dirs met the dangling symlink @component (in @dir; @prefix is the path up to it, a
 * prefix of @todo of @len bytes): rewrites @todo to go through the link's target instead. */
static int through_link(int dir, const char *component, const char *prefix, char *todo,
			size_t len, struct nook_error *e)
{
	char link[PATH_MAX], rest[PATH_MAX];
	size_t parent = (size_t)(component - prefix) - 1;
	ssize_t n = readlinkat(dir, component, link, sizeof link - 1);

	if (n < 0)
		return nook_fail(e, errno == EINVAL ? ENOENT : errno, "%s", prefix);
	link[n] = '\0';
	strcpy(rest, todo + len);
	if (link[0] == '/' ? snprintf(todo, PATH_MAX, "%s%s", link, rest) >= PATH_MAX
			   : snprintf(todo, PATH_MAX, "%.*s/%s%s", (int)parent, prefix, link, rest) >=
				     PATH_MAX)
		return nook_fail(e, ENAMETOOLONG, "%s", prefix);
	return 1;
}

/* One pass of make_dirs over @todo; 1: it met a dangling symlink and rewrote @todo. */
static int make_dirs_pass(int rootfd, char *todo, enum nook_follow follow, int *fd,
			  struct nook_error *e)
{
	_cleanup_close_ int dir = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
	char prefix[PATH_MAX];

	if (dir < 0)
		return nook_fail(e, errno, "%s", todo);
	for (const char *slash = strchr(todo, '/'); slash;) {
		const char *next = strchr(slash + 1, '/');
		size_t len = next ? (size_t)(next - todo) : strlen(todo);
		const char *component;
		int sub;

		memcpy(prefix, todo, len);
		prefix[len] = '\0';
		component = strrchr(prefix, '/') + 1;
		slash = next;
		if (*component == '\0')
			continue;
		/* Each prefix is resolved from the root again, so symlinks among the parents are
		 * followed inside the root exactly as a lookup of the whole path follows them. */
		sub = open_beneath(rootfd, prefix, O_PATH | O_DIRECTORY, 0, follow);
		if (sub < 0 && errno == ENOENT) {
			/* EEXIST: made meanwhile by someone else, or a dangling symlink. */
			if (mkdirat(dir, component, 0755) < 0 && errno != EEXIST)
				return nook_fail(e, errno, "%s", prefix);
			sub = open_beneath(rootfd, prefix, O_PATH | O_DIRECTORY, 0, follow);
			if (sub < 0 && errno == ENOENT)
				return through_link(dir, component, prefix, todo, len, e);
		}
		if (sub < 0)
			return nook_fail(e, errno, "%s", prefix);
		close(dir);
		dir = sub;
	}
	*fd = dir;
	dir = -1;
	return 0;
}

/* mkdir -p of @path under the root (new directories 0755), following symlinks inside it:
 * a dangling one on the way gets its target made, inside the root, as podman does for a
 * volume's target. Opens the last directory. */
static int make_dirs(int rootfd, const char *path, enum nook_follow follow, int *fd,
		     struct nook_error *e)
{
	char todo[PATH_MAX];

	strcpy(todo, path);
	for (int links = 0; links <= 40; links++) {
		int r = make_dirs_pass(rootfd, todo, follow, fd, e);

		if (r <= 0)
			return r;
	}
	return nook_fail(e, ELOOP, "%s", path);
}

/* Opens the parent directory of @path like nook_open_parent, first making the missing
 * ones. */
static int open_or_make_parent(int rootfd, const char *path, enum nook_follow follow, int *fd,
			       const char **name, struct nook_error *e)
{
	const char *last = strrchr(path, '/');
	char parent[PATH_MAX];

	*name = last + 1;
	if (last == path)
		strcpy(parent, "/");
	else {
		memcpy(parent, path, (size_t)(last - path));
		parent[last - path] = '\0';
	}
	return make_dirs(rootfd, parent, follow, fd, e);
}

int nook_create_in_root(int rootfd, const char *path, bool dir, enum nook_follow follow,
			int *fd, struct nook_error *e)
{
	_cleanup_close_ int parent = -1;
	const char *name;

	*fd = open_beneath(rootfd, path, O_PATH, 0, follow);
	if (*fd >= 0)
		return 0;
	if (errno != ENOENT)
		return nook_fail(e, errno, "%s", path);
	if (open_or_make_parent(rootfd, path, follow, &parent, &name, e) < 0)
		return -1;
	/* Neither mkdirat nor O_CREAT|O_EXCL follows a last-component symlink: EEXIST here
	 * means the ENOENT above came from a dangling one. */
	if (dir) {
		if (mkdirat(parent, name, 0755) < 0)
			return nook_fail(e, errno, "%s%s", path,
					 errno == EEXIST ? ": dangling symlink" : "");
		*fd = open_beneath(parent, name, O_PATH | O_DIRECTORY, 0, NOOK_NO_SYMLINKS);
	} else {
		*fd = open_beneath(parent, name, O_RDONLY | O_CREAT | O_EXCL, 0644,
				   NOOK_NO_SYMLINKS);
		if (*fd < 0 && errno == EEXIST)
			return nook_fail(e, errno, "%s: dangling symlink", path);
	}
	if (*fd < 0)
		return nook_fail(e, errno, "%s", path);
	return 0;
}

/* Opens the directory mkdirat just made and gives it @mode exactly: mkdirat's mode went
 * through the umask, and mkdir promises e.g. 1777 for /dev/shm. */
static int open_created_dir(int parent, const char *name, mode_t mode)
{
	int fd = open_beneath(parent, name, O_RDONLY | O_DIRECTORY, 0, NOOK_NO_SYMLINKS);

	if (fd >= 0 && fchmod(fd, mode) < 0) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int nook_mkdir_in_root(int rootfd, const char *path, mode_t mode, struct nook_error *e)
{
	_cleanup_close_ int dir = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
	char components[PATH_MAX];
	char *save = NULL;

	if (dir < 0)
		return nook_fail(e, errno, "%s", path);
	strcpy(components, path);
	for (char *name = strtok_r(components, "/", &save); name;
	     name = strtok_r(NULL, "/", &save)) {
		int next = open_beneath(dir, name, O_PATH | O_DIRECTORY, 0, NOOK_NO_SYMLINKS);

		if (next < 0 && errno == ENOENT) {
			if (mkdirat(dir, name, mode) == 0)
				next = open_created_dir(dir, name, mode);
			else if (errno == EEXIST) /* created meanwhile by someone else */
				next = open_beneath(dir, name, O_PATH | O_DIRECTORY, 0,
						    NOOK_NO_SYMLINKS);
		}
		if (next < 0)
			return nook_fail(e, errno, "%s", path);
		close(dir);
		dir = next;
	}
	return 0;
}
