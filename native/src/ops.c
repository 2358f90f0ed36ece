#include "ops.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/magic.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <termios.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "forward.h"
#include "limits.h"
#include "network.h"
#include "sync.h"
#include "reaper.h"
#include "resolve.h"
#include "syscalls.h"
#include "util.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* mount_setattr adds MOUNT_ATTR_RDONLY without restating the other flags, so unlike
 * MS_REMOUNT it cannot trip over the flags the kernel locked on mounts inherited from the
 * host (EPERM in a user namespace). */
static int set_readonly(int mnt, bool recursive, const char *path, struct nook_error *e)
{
	struct nook_mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };

	if (nook_mount_setattr(mnt, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr) < 0)
		return nook_fail(e, errno, "%s: making it read-only", path);
	return 0;
}

static int attach(int mnt, int target, const char *path, struct nook_error *e)
{
	if (nook_move_mount(mnt, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return nook_fail(e, errno, "%s", path);
	return 0;
}

static void replace_root(struct nook_ctx *ctx, int fd)
{
	close(ctx->rootfd);
	ctx->rootfd = fd;
}

static int nook_op_rootfs(struct nook_ctx *ctx, const struct nook_op *op, struct nook_error *e)
{
	const char *dir = op->rootfs.dir;
	int fd;

	/* Keeps what the container mounts from propagating back to the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return nook_fail(e, errno, "/: making it a slave mount");
	/* pivot_root needs the new root to be a mount point. */
	if (mount(dir, dir, NULL, MS_BIND | MS_REC, NULL) < 0)
		return nook_fail(e, errno, "%s", dir);
	/* Opened after the bind, so the fd is on the new mount, not the directory under it. */
	fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return nook_fail(e, errno, "%s", dir);
	replace_root(ctx, fd);
	return 0;
}

/* A fresh, empty tmpfs as the container root, for a sandbox whose view is the host's own
 * directories bound onto it. It is attached on @mount_point, a host directory, in the
 * container's mount namespace only: / turns slave first, so the host never sees it. */
static int nook_op_tmpfs_rootfs(struct nook_ctx *ctx, const struct nook_op *op,
				struct nook_error *e)
{
	const char *dir = op->tmpfs_rootfs.mount_point;
	_cleanup_close_ int fs = -1, mnt = -1, target = -1;
	int fd;

	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return nook_fail(e, errno, "/: making it a slave mount");
	fs = nook_fsopen("tmpfs", FSOPEN_CLOEXEC);
	if (fs < 0)
		return nook_fail(e, errno, "tmpfs: fsopen");
	if (nook_fsconfig(fs, FSCONFIG_SET_STRING, "mode", "0755", 0) < 0 ||
	    nook_fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return nook_fail(e, errno, "tmpfs: creating the root");
	mnt = nook_fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
	if (mnt < 0)
		return nook_fail(e, errno, "tmpfs: fsmount");
	target = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (target < 0)
		return nook_fail(e, errno, "%s", dir);
	if (attach(mnt, target, dir, e) < 0)
		return -1;
	/* Opened after the mount, so the fd is on the tmpfs, not the directory under it. */
	fd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return nook_fail(e, errno, "%s", dir);
	replace_root(ctx, fd);
	return 0;
}

/* The kernel explains a refused overlay in the filesystem context's log, not in errno. */
static int overlay_failed(int fs, const char *what, struct nook_error *e)
{
	int err = errno;
	char log[256];
	ssize_t n = read(fs, log, sizeof log - 1);

	if (n <= 0)
		return nook_fail(e, err, "overlay: %s", what);
	log[n] = '\0';
	log[strcspn(log, "\n")] = '\0';
	return nook_fail(e, err, "overlay: %s: %s", what, log);
}

/* Layers one by one with "lowerdir+" (Linux 6.8), so their number is not bound by the
 * one-page limit of mount data; older kernels refuse the key, and get the classic
 * colon-joined "lowerdir" (nook's store paths hold no ':' or ','). */
static int set_lower_dirs(int fs, char **lower, struct nook_error *e)
{
	_cleanup_free_ char *joined = NULL;
	char drain[256];
	size_t len = 0;

	if (nook_fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", lower[0], 0) == 0) {
		for (char **dir = lower + 1; *dir; dir++)
			if (nook_fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", *dir, 0) < 0)
				return overlay_failed(fs, *dir, e);
		return 0;
	}
	if (errno != EINVAL)
		return overlay_failed(fs, lower[0], e);
	/* The refusal left a message in the context's log: keep it from answering for a
	 * later failure. */
	while (read(fs, drain, sizeof drain) > 0)
		;
	for (char **dir = lower; *dir; dir++)
		len += strlen(*dir) + 1;
	joined = malloc(len);
	if (!joined)
		return nook_fail(e, ENOMEM, "overlay: lowerdir");
	joined[0] = '\0';
	for (char **dir = lower; *dir; dir++) {
		if (dir != lower)
			strcat(joined, ":");
		strcat(joined, *dir);
	}
	if (nook_fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir", joined, 0) < 0)
		return overlay_failed(fs, "lowerdir", e);
	return 0;
}

/* An image's layers as the container's root: overlayfs mounted inside the user namespace
 * (userxattr: whiteouts and opaque dirs live in user.overlay.* xattrs). */
static int nook_op_overlay_rootfs(struct nook_ctx *ctx, const struct nook_op *op,
				  struct nook_error *e)
{
	_cleanup_close_ int fs = -1, mnt = -1, target = -1;
	const char *dir = op->overlay.target;
	int fd;

	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return nook_fail(e, errno, "/: making it a slave mount");
	fs = nook_fsopen("overlay", FSOPEN_CLOEXEC);
	if (fs < 0)
		return nook_fail(e, errno, "overlay: fsopen");
	if (nook_fsconfig(fs, FSCONFIG_SET_STRING, "source", "overlay", 0) < 0)
		return overlay_failed(fs, "source", e);
	if (set_lower_dirs(fs, op->overlay.lower, e) < 0)
		return -1;
	if (nook_fsconfig(fs, FSCONFIG_SET_STRING, "upperdir", op->overlay.upper, 0) < 0)
		return overlay_failed(fs, op->overlay.upper, e);
	if (nook_fsconfig(fs, FSCONFIG_SET_STRING, "workdir", op->overlay.work, 0) < 0)
		return overlay_failed(fs, op->overlay.work, e);
	if (nook_fsconfig(fs, FSCONFIG_SET_FLAG, "userxattr", NULL, 0) < 0)
		return overlay_failed(fs, "userxattr", e);
	if (nook_fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return overlay_failed(fs, "creating the mount", e);
	mnt = nook_fsmount(fs, FSMOUNT_CLOEXEC, 0);
	if (mnt < 0)
		return overlay_failed(fs, "fsmount", e);
	target = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (target < 0)
		return nook_fail(e, errno, "%s", dir);
	if (attach(mnt, target, dir, e) < 0)
		return -1;
	/* Opened after the mount, so the fd is on the overlay, not the directory under it. */
	fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return nook_fail(e, errno, "%s", dir);
	replace_root(ctx, fd);
	return 0;
}

static int nook_op_mkdir(struct nook_ctx *ctx, const struct nook_op *op, struct nook_error *e)
{
	return nook_mkdir_in_root(ctx->rootfd, op->mkdir.path, op->mkdir.mode, e);
}

static int nook_op_mount(struct nook_ctx *ctx, const struct nook_op *op, struct nook_error *e)
{
	_cleanup_close_ int fd = -1;
	char target[32];

	if (nook_open_in_root(ctx->rootfd, op->mount.path, O_PATH | O_DIRECTORY, NOOK_NO_SYMLINKS,
			      &fd, e) < 0)
		return -1;
	/* mount(2) rather than fsopen: the data string reaches the filesystem exactly as the
	 * plan wrote it. The magic link pins the target to the directory resolved above. */
	snprintf(target, sizeof target, "/proc/self/fd/%d", fd);
	if (mount(op->mount.source, target, op->mount.fstype, op->mount.flags,
		  op->mount.data[0] ? op->mount.data : NULL) < 0)
		return nook_fail(e, errno, "%s", op->mount.path);
	return 0;
}

/* What the bind flags ask of the mount besides being there: mount_setattr on the still
 * detached tree, so the container never sees it without them. Only adds restrictions, which
 * the kernel allows even on mounts whose flags it locked. */
static int set_bind_attrs(int tree, unsigned int flags, const char *path, struct nook_error *e)
{
	struct nook_mount_attr attr = { 0 };

	if (flags & NOOK_BIND_RO)
		attr.attr_set |= MOUNT_ATTR_RDONLY;
	if (flags & NOOK_BIND_NOSUID)
		attr.attr_set |= MOUNT_ATTR_NOSUID;
	if (flags & NOOK_BIND_NODEV)
		attr.attr_set |= MOUNT_ATTR_NODEV;
	if (flags & NOOK_BIND_NOEXEC)
		attr.attr_set |= MOUNT_ATTR_NOEXEC;
	if (flags & NOOK_BIND_PRIVATE)
		attr.propagation = MS_PRIVATE;
	else if (flags & NOOK_BIND_SLAVE)
		attr.propagation = MS_SLAVE;
	else if (flags & NOOK_BIND_SHARED)
		attr.propagation = MS_SHARED;
	if (!attr.attr_set && !attr.propagation)
		return 0;
	if (nook_mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr) < 0)
		return nook_fail(e, errno, "%s: setting the mount's flags", path);
	return 0;
}

static int nook_op_bind(struct nook_ctx *ctx, const struct nook_op *op, struct nook_error *e)
{
	unsigned int flags = op->bind.flags;
	enum nook_follow follow = (flags & NOOK_BIND_NOFOLLOW) ? NOOK_NO_SYMLINKS : NOOK_FOLLOW;
	_cleanup_close_ int tree = -1, target = -1;
	int r;

	/* The source first: a missing source must not leave a created target behind. */
	tree = nook_open_tree(AT_FDCWD, op->bind.source,
			      OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
				      ((flags & NOOK_BIND_REC) ? AT_RECURSIVE : 0));
	if (tree < 0)
		return nook_fail(e, errno, "%s", op->bind.source);
	if (set_bind_attrs(tree, flags, op->bind.path, e) < 0)
		return -1;
	if (flags & (NOOK_BIND_CREATE_FILE | NOOK_BIND_CREATE_DIR))
		r = nook_create_in_root(ctx->rootfd, op->bind.path, flags & NOOK_BIND_CREATE_DIR,
					follow, &target, e);
	else
		r = nook_open_in_root(ctx->rootfd, op->bind.path, O_PATH, follow, &target, e);
	if (r < 0)
		return -1;
	return attach(tree, target, op->bind.path, e);
}

static int nook_op_symlink(struct nook_ctx *ctx, const struct nook_op *op, struct nook_error *e)
{
	_cleanup_close_ int parent = -1;
	const char *name;

	if (nook_open_parent(ctx->rootfd, op->symlink.path, NOOK_NO_SYMLINKS, &parent, &name, e) < 0)
		return -1;
	if (symlinkat(op->symlink.target, parent, name) < 0)
		return nook_fail(e, errno, "%s", op->symlink.path);
	return 0;
}

static int is_mount_root(int fd, bool *root, const char *path, struct nook_error *e)
{
	struct statx stx;

	if (statx(fd, "", AT_EMPTY_PATH, 0, &stx) < 0)
		return nook_fail(e, errno, "%s", path);
	if (!(stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT))
		return nook_fail(e, EOPNOTSUPP, "%s: the kernel does not tell mount points", path);
	*root = stx.stx_attributes & STATX_ATTR_MOUNT_ROOT;
	return 0;
}

static int nook_op_remount_ro(struct nook_ctx *ctx, const struct nook_op *op,
			      struct nook_error *e)
{
	bool rec = op->remount_ro.flags & NOOK_REMOUNT_REC;
	const char *path = op->remount_ro.path;
	_cleanup_close_ int fd = -1, tree = -1;
	bool mount_root = false;

	if (nook_open_in_root(ctx->rootfd, path, O_PATH, NOOK_NO_SYMLINKS, &fd, e) < 0)
		return (e->err == ENOENT && (op->remount_ro.flags & NOOK_REMOUNT_OPTIONAL)) ? 0 : -1;
	if (is_mount_root(fd, &mount_root, path, e) < 0)
		return -1;
	if (mount_root)
		return set_readonly(fd, rec, path, e);
	/* mount_setattr works on whole mounts only: give the path a mount of its own. */
	tree = nook_open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH |
					      (rec ? AT_RECURSIVE : 0));
	if (tree < 0)
		return nook_fail(e, errno, "%s", path);
	if (set_readonly(tree, rec, path, e) < 0)
		return -1;
	return attach(tree, fd, path, e);
}

/* fsopen rather than mount(2) on /proc/self/fd: masks run after pivot-root, and the
 * container need not have a /proc. */
static int mask_dir(int fd, const char *path, struct nook_error *e)
{
	_cleanup_close_ int fs = nook_fsopen("tmpfs", FSOPEN_CLOEXEC), mnt = -1;

	if (fs < 0)
		return nook_fail(e, errno, "%s: tmpfs", path);
	if (nook_fsconfig(fs, FSCONFIG_SET_STRING, "mode", "0555", 0) < 0 ||
	    nook_fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return nook_fail(e, errno, "%s: tmpfs", path);
	mnt = nook_fsmount(fs, FSMOUNT_CLOEXEC,
			   MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
				   MOUNT_ATTR_NOEXEC);
	if (mnt < 0)
		return nook_fail(e, errno, "%s: tmpfs", path);
	return attach(mnt, fd, path, e);
}

static int mask_file(int rootfd, int fd, const char *path, struct nook_error *e)
{
	_cleanup_close_ int null = -1, tree = -1;
	struct stat st;

	if (nook_open_in_root(rootfd, "/dev/null", O_PATH, NOOK_NO_SYMLINKS, &null, e) < 0)
		return -1;
	if (fstat(null, &st) < 0)
		return nook_fail(e, errno, "/dev/null");
	/* The container's own /dev/null, so it must really be the null device. */
	if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
		return nook_fail(e, ENODEV, "/dev/null is not the null device (1:3)");
	tree = nook_open_tree(null, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (tree < 0)
		return nook_fail(e, errno, "/dev/null");
	if (set_readonly(tree, false, path, e) < 0)
		return -1;
	return attach(tree, fd, path, e);
}

static int nook_op_mask(struct nook_ctx *ctx, const struct nook_op *op, struct nook_error *e)
{
	_cleanup_close_ int fd = -1;
	struct stat st;

	if (nook_open_in_root(ctx->rootfd, op->mask.path, O_PATH, NOOK_NO_SYMLINKS, &fd, e) < 0)
		return e->err == ENOENT ? 0 : -1;
	if (fstat(fd, &st) < 0)
		return nook_fail(e, errno, "%s", op->mask.path);
	if (S_ISDIR(st.st_mode))
		return mask_dir(fd, op->mask.path, e);
	return mask_file(ctx->rootfd, fd, op->mask.path, e);
}

/* A kernel parameter of the container's namespaces; the plan only names ones that are
 * namespaced. Written through the container's own procfs, which must really be one. */
static int nook_op_sysctl(struct nook_ctx *ctx, const struct nook_op *op, struct nook_error *e)
{
	const char *path = op->sysctl.path, *value = op->sysctl.value;
	_cleanup_close_ int fd = -1;
	size_t len = strlen(value);
	struct statfs fs;
	ssize_t n;

	if (nook_open_in_root(ctx->rootfd, path, O_WRONLY, NOOK_NO_SYMLINKS, &fd, e) < 0)
		return -1;
	if (fstatfs(fd, &fs) < 0)
		return nook_fail(e, errno, "%s", path);
	if (fs.f_type != PROC_SUPER_MAGIC)
		return nook_fail(e, EXDEV, "%s is not on procfs", path);
	n = write(fd, value, len);
	if (n < 0)
		return nook_fail(e, errno, "%s", path);
	if ((size_t)n != len)
		return nook_fail(e, EIO, "%s: short write", path);
	return 0;
}

static int nook_op_pivot_root(struct nook_ctx *ctx, struct nook_error *e)
{
	int fd;

	if (fchdir(ctx->rootfd) < 0)
		return nook_fail(e, errno, "fchdir to the root");
	/* Stacks the old root on top of the new one, then detaches it: no directory for the
	 * old root has to exist in the container. */
	if (nook_pivot_root(".", ".") < 0)
		return nook_fail(e, errno, "pivot_root");
	if (umount2(".", MNT_DETACH) < 0)
		return nook_fail(e, errno, "detaching the old root");
	if (chdir("/") < 0)
		return nook_fail(e, errno, "/");
	fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return nook_fail(e, errno, "/");
	replace_root(ctx, fd);
	return 0;
}

static int nook_op_loopback_up(struct nook_error *e)
{
	_cleanup_close_ int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = { .ifr_name = "lo" };

	if (sock < 0)
		return nook_fail(e, errno, "socket");
	if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0)
		return nook_fail(e, errno, "lo");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0)
		return nook_fail(e, errno, "lo");
	return 0;
}

static int nook_op_sethostname(const struct nook_op *op, struct nook_error *e)
{
	if (sethostname(op->sethostname.name, strlen(op->sethostname.name)) < 0)
		return nook_fail(e, errno, "%s", op->sethostname.name);
	return 0;
}

static int nook_op_chdir(struct nook_ctx *ctx, const struct nook_op *op, struct nook_error *e)
{
	_cleanup_close_ int fd = -1;

	if (nook_open_in_root(ctx->rootfd, op->chdir.path, O_PATH | O_DIRECTORY, NOOK_FOLLOW, &fd,
			      e) < 0)
		return -1;
	if (fchdir(fd) < 0)
		return nook_fail(e, errno, "%s", op->chdir.path);
	return 0;
}

static int nook_op_cap_bounding(const struct nook_op *op, struct nook_error *e)
{
	unsigned long cap;

	/* PR_CAPBSET_READ answers EINVAL past the kernel's last capability: no need for
	 * /proc/sys/kernel/cap_last_cap, which after pivot-root may not exist. */
	for (cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++) {
		if (cap < 64 && (op->caps.mask >> cap & 1))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return nook_fail(e, errno, "dropping capability %lu", cap);
	}
	if (errno != EINVAL)
		return nook_fail(e, errno, "reading capability %lu", cap);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return nook_fail(e, errno, "clearing the ambient capabilities");
	return 0;
}

/* Without no_new_privs the kernel wants CAP_SYS_ADMIN for this, which the plan still holds
 * here (it puts seccomp before user and cap-set); the filter then applies to the rest of
 * the setup too, so it must allow what those ops and execve do. */
static int nook_op_seccomp(const struct nook_op *op, struct nook_error *e)
{
	struct sock_fprog prog = { .len = op->seccomp.len, .filter = op->seccomp.insns };

	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return nook_fail(e, errno, "installing the filter (%u instructions)",
				 (unsigned)prog.len);
	return 0;
}

static int nook_op_user(struct nook_ctx *ctx, const struct nook_op *op, struct nook_error *e)
{
	/* A gid map the runtime wrote itself came with setgroups denied; asking for no
	 * groups then is no reason to fail. */
	if ((op->user.n_groups > 0 || !ctx->setgroups_denied) &&
	    setgroups(op->user.n_groups, op->user.groups) < 0)
		return nook_fail(e, errno, "setgroups");
	if (setresgid(op->user.gid, op->user.gid, op->user.gid) < 0)
		return nook_fail(e, errno, "setresgid(%u)", (unsigned)op->user.gid);
	if (setresuid(op->user.uid, op->user.uid, op->user.uid) < 0)
		return nook_fail(e, errno, "setresuid(%u)", (unsigned)op->user.uid);
	return nook_arm_deathsig(ctx->syncfd, e);
}

static int nook_op_cap_set(const struct nook_op *op, struct nook_error *e)
{
	struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	if (nook_capget(&header, data) < 0)
		return nook_fail(e, errno, "capget");
	for (int i = 0; i < 2; i++) {
		data[i].permitted &= (uint32_t)(op->caps.mask >> (32 * i));
		data[i].effective = data[i].permitted;
		data[i].inheritable = 0;
	}
	if (nook_capset(&header, data) < 0)
		return nook_fail(e, errno, "capset");
	return 0;
}

static int nook_op_no_new_privs(struct nook_error *e)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return nook_fail(e, errno, "PR_SET_NO_NEW_PRIVS");
	return 0;
}

static int nook_op_close_fds(struct nook_error *e)
{
	if (nook_close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		return nook_fail(e, errno, "close_range");
	return 0;
}

/* The terminal's master end goes to the monitor, which relays it; the message byte says
 * what the attached fd is (init.h). */
static int send_master(int syncfd, int master, struct nook_error *e)
{
	char msg = NOOK_SYNC_CONSOLE;
	struct iovec iov = { .iov_base = &msg, .iov_len = 1 };
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control = { 0 };
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof control.buf,
	};
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&mh);

	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &master, sizeof(int));
	if (sendmsg(syncfd, &mh, MSG_NOSIGNAL) != 1)
		return nook_fail(e, errno, "sending the terminal to the monitor");
	return 0;
}

/* A session of its own: no terminal of the user's stays the controlling terminal of a
 * container process, so none can be reached through /dev/tty or take its signals. */
static int nook_op_session(struct nook_error *e)
{
	if (setsid() < 0)
		return nook_fail(e, errno, "setsid");
	return 0;
}

/* A terminal of the container's own devpts instance, opened as the container user, made
 * the controlling terminal of the session (the session op made one) and the command's
 * stdio. */
static int nook_op_console(struct nook_ctx *ctx, struct nook_error *e)
{
	_cleanup_close_ int master = -1;
	int slave, unlock = 0;

	if (nook_open_in_root(ctx->rootfd, "/dev/ptmx", O_RDWR | O_NOCTTY, NOOK_FOLLOW, &master,
			      e) < 0)
		return -1;
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
		return nook_fail(e, errno, "/dev/ptmx: unlocking the terminal");
	/* The peer of this very master: no path lookup that a container could redirect. */
	slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	if (slave < 0)
		return nook_fail(e, errno, "/dev/ptmx: opening the terminal");
	if (send_master(ctx->syncfd, master, e) < 0 || ioctl(slave, TIOCSCTTY, 0) < 0 ||
	    dup2(slave, 0) < 0 || dup2(slave, 1) < 0 || dup2(slave, 2) < 0) {
		if (!e->err)
			nook_fail(e, errno, "making the terminal the command's stdio");
		close(slave);
		return -1;
	}
	/* Not close-on-exec: it may be one of 0, 1, 2 itself. */
	if (slave > 2)
		close(slave);
	return 0;
}

static const char *search_path(char **envp)
{
	for (; *envp; envp++)
		if (strncmp(*envp, "PATH=", 5) == 0)
			return *envp + 5;
	return DEFAULT_PATH;
}

/* Returns only on failure. Searches PATH as a shell does: EACCES is remembered while the
 * search goes on, ENOENT and ENOTDIR just move on, anything else stops it. */
static int nook_op_exec(const struct nook_op *op, struct nook_error *e)
{
	char **argv = op->exec.argv, **envp = op->exec.envp;
	const char *dir = search_path(envp);
	bool denied = false;

	if (strchr(argv[0], '/')) {
		execve(argv[0], argv, envp);
		return nook_fail(e, errno, "%s", argv[0]);
	}
	for (;;) {
		const char *end = strchrnul(dir, ':');
		int len = (int)(end - dir);
		char file[PATH_MAX];

		/* An empty PATH entry is the working directory. */
		if (snprintf(file, sizeof file, "%.*s%s%s", len, dir, len ? "/" : "", argv[0]) <
		    (int)sizeof file) {
			execve(file, argv, envp);
			if (errno == EACCES)
				denied = true;
			else if (errno != ENOENT && errno != ENOTDIR)
				return nook_fail(e, errno, "%s", argv[0]);
		}
		if (*end == '\0')
			break;
		dir = end + 1;
	}
	return nook_fail(e, denied ? EACCES : ENOENT, "%s", argv[0]);
}

int nook_run_ops(struct nook_ctx *ctx, const struct nook_plan *plan,
		 const struct nook_op **failed, struct nook_error *e)
{
	for (size_t i = 0; i < plan->n_ops; i++) {
		const struct nook_op *op = &plan->ops[i];
		int r;

		*failed = op;
		switch (op->code) {
		case NOOK_OP_ROOTFS:
			r = nook_op_rootfs(ctx, op, e);
			break;
		case NOOK_OP_OVERLAY_ROOTFS:
			r = nook_op_overlay_rootfs(ctx, op, e);
			break;
		case NOOK_OP_TMPFS_ROOTFS:
			r = nook_op_tmpfs_rootfs(ctx, op, e);
			break;
		case NOOK_OP_MKDIR:
			r = nook_op_mkdir(ctx, op, e);
			break;
		case NOOK_OP_MOUNT:
			r = nook_op_mount(ctx, op, e);
			break;
		case NOOK_OP_BIND:
			r = nook_op_bind(ctx, op, e);
			break;
		case NOOK_OP_SYMLINK:
			r = nook_op_symlink(ctx, op, e);
			break;
		case NOOK_OP_REMOUNT_RO:
			r = nook_op_remount_ro(ctx, op, e);
			break;
		case NOOK_OP_MASK:
			r = nook_op_mask(ctx, op, e);
			break;
		case NOOK_OP_SYSCTL:
			r = nook_op_sysctl(ctx, op, e);
			break;
		case NOOK_OP_PIVOT_ROOT:
			r = nook_op_pivot_root(ctx, e);
			break;
		case NOOK_OP_LOOPBACK_UP:
			r = nook_op_loopback_up(e);
			break;
		case NOOK_OP_SETHOSTNAME:
			r = nook_op_sethostname(op, e);
			break;
		case NOOK_OP_CHDIR:
			r = nook_op_chdir(ctx, op, e);
			break;
		case NOOK_OP_UMASK:
			umask(op->umask.mask);
			r = 0;
			break;
		case NOOK_OP_RLIMIT:
			r = nook_op_rlimit(op, e);
			break;
		case NOOK_OP_CAP_BOUNDING:
			r = nook_op_cap_bounding(op, e);
			break;
		case NOOK_OP_SECCOMP:
			r = nook_op_seccomp(op, e);
			break;
		case NOOK_OP_USER:
			r = nook_op_user(ctx, op, e);
			break;
		case NOOK_OP_CAP_SET:
			r = nook_op_cap_set(op, e);
			break;
		case NOOK_OP_NO_NEW_PRIVS:
			r = nook_op_no_new_privs(e);
			break;
		case NOOK_OP_SESSION:
			r = nook_op_session(e);
			break;
		case NOOK_OP_CONSOLE:
			r = nook_op_console(ctx, e);
			break;
		case NOOK_OP_CLOSE_FDS:
			r = nook_op_close_fds(e);
			break;
		case NOOK_OP_FORWARD:
			r = nook_op_forward(op, e);
			break;
		case NOOK_OP_AWAIT_NETWORK:
			r = nook_op_await_network(ctx->syncfd, e);
			break;
		case NOOK_OP_INIT:
			r = nook_op_init(ctx->syncfd, e);
			break;
		case NOOK_OP_EXEC:
			r = nook_op_exec(op, e);
			break;
		default:
			r = nook_fail(e, EINVAL, "%s is not a setup op", nook_op_name(op->code));
			break;
		}
		if (r < 0)
			return -1;
	}
	/* Not reached: plan.c makes exec the last op, and exec returns only by failing. */
	return nook_fail(e, EINVAL, "plan without exec");
}
