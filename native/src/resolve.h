/* Container paths are untrusted: every lookup goes through openat2 under the container
 * root, and a lookup the kernel refuses is reported, never retried another way. */
#ifndef NOOK_RESOLVE_H
#define NOOK_RESOLVE_H

#include <stdbool.h>
#include <sys/types.h>

#include "report.h"

enum nook_follow {
	NOOK_FOLLOW,	  /* symlinks are followed, clamped to the root */
	NOOK_NO_SYMLINKS, /* any symlink in the path: ELOOP */
};

/* Opens the absolute container path @path under @rootfd. Magic links are always refused. */
int nook_open_in_root(int rootfd, const char *path, int flags, enum nook_follow follow,
		      int *fd, struct nook_error *e);

/* Opens @path, first creating an empty file (or directory) there if nothing exists, and
 * the missing parent directories (0755; a dangling symlink among them gets its target made
 * inside the root); a dangling symlink at @path itself is refused. */
int nook_create_in_root(int rootfd, const char *path, bool dir, enum nook_follow follow,
			int *fd, struct nook_error *e);

/* Opens the parent directory of @path; @name points at the last component of @path. */
int nook_open_parent(int rootfd, const char *path, enum nook_follow follow, int *fd,
		     const char **name, struct nook_error *e);

/* mkdir -p without symlinks; directories it creates get exactly @mode. */
int nook_mkdir_in_root(int rootfd, const char *path, mode_t mode, struct nook_error *e);

#endif
