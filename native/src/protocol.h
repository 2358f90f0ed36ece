/* The plan's op table: the one place the C side names ops. src/plan/protocol.ts is its
 * TypeScript twin, and test/unit/protocol.test.ts parses the X() lines below with a regex,
 * so keep one entry per line in exactly this form. Arity -1 means variable (exec, exit-command, network). */
#ifndef NOOK_PROTOCOL_H
#define NOOK_PROTOCOL_H

#define NOOK_PROTOCOL_VERSION "1"

#define NOOK_OPS(X) \
  X(NOOK_OP_NOOK_PLAN, "nook-plan", 1) \
  X(NOOK_OP_NAMESPACES, "namespaces", 1) \
  X(NOOK_OP_UID_MAP, "uid-map", 2) \
  X(NOOK_OP_GID_MAP, "gid-map", 2) \
  X(NOOK_OP_STDIO, "stdio", 3) \
  X(NOOK_OP_DETACH, "detach", 0) \
  X(NOOK_OP_STATE, "state", 1) \
  X(NOOK_OP_RESTART, "restart", 3) \
  X(NOOK_OP_EXIT_COMMAND, "exit-command", -1) \
  X(NOOK_OP_JOIN, "join", 3) \
  X(NOOK_OP_CGROUP, "cgroup", 1) \
  X(NOOK_OP_NETWORK, "network", -1) \
  X(NOOK_OP_SHARE_NET, "share-net", 1) \
  X(NOOK_OP_ROOTFS, "rootfs", 1) \
  X(NOOK_OP_OVERLAY_ROOTFS, "overlay-rootfs", 4) \
  X(NOOK_OP_TMPFS_ROOTFS, "tmpfs-rootfs", 1) \
  X(NOOK_OP_MKDIR, "mkdir", 2) \
  X(NOOK_OP_MOUNT, "mount", 5) \
  X(NOOK_OP_BIND, "bind", 3) \
  X(NOOK_OP_SYMLINK, "symlink", 2) \
  X(NOOK_OP_REMOUNT_RO, "remount-ro", 2) \
  X(NOOK_OP_MASK, "mask", 1) \
  X(NOOK_OP_SYSCTL, "sysctl", 2) \
  X(NOOK_OP_PIVOT_ROOT, "pivot-root", 0) \
  X(NOOK_OP_LOOPBACK_UP, "loopback-up", 0) \
  X(NOOK_OP_SETHOSTNAME, "sethostname", 1) \
  X(NOOK_OP_CHDIR, "chdir", 1) \
  X(NOOK_OP_UMASK, "umask", 1) \
  X(NOOK_OP_RLIMIT, "rlimit", 3) \
  X(NOOK_OP_OOM_SCORE_ADJ, "oom-score-adj", 1) \
  X(NOOK_OP_CAP_BOUNDING, "cap-bounding", 1) \
  X(NOOK_OP_SECCOMP, "seccomp", 1) \
  X(NOOK_OP_USER, "user", 3) \
  X(NOOK_OP_CAP_SET, "cap-set", 1) \
  X(NOOK_OP_NO_NEW_PRIVS, "no-new-privs", 0) \
  X(NOOK_OP_SESSION, "session", 0) \
  X(NOOK_OP_AWAIT_NETWORK, "await-network", 0) \
  X(NOOK_OP_CONSOLE, "console", 0) \
  X(NOOK_OP_FORWARD, "forward", 2) \
  X(NOOK_OP_CLOSE_FDS, "close-fds", 0) \
  X(NOOK_OP_INIT, "init", 0) \
  X(NOOK_OP_EXEC, "exec", -1) \
  X(NOOK_OP_END, "end", 0)

enum nook_op_code {
#define NOOK_OP_ENUM(code, name, arity) code,
	NOOK_OPS(NOOK_OP_ENUM)
#undef NOOK_OP_ENUM
	NOOK_OP_COUNT
};

const char *nook_op_name(enum nook_op_code code);

#endif
