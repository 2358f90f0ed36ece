#include "resolve.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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
	if (nook_open_parent(rootfd, path, follow, &parent, &name, e) < 0)
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
