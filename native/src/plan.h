/* The plan, decoded and validated in full before anything is created. Strings point into
 * the plan buffer, which lives as long as the process. */
#ifndef NOOK_PLAN_H
#define NOOK_PLAN_H

#include <linux/filter.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "protocol.h"
#include "report.h"

#define NOOK_FIELD_MAX (1u << 20)
#define NOOK_PLAN_MAX (16u << 20)

enum {
	NOOK_BIND_REC = 1 << 0,
	NOOK_BIND_RO = 1 << 1,
	NOOK_BIND_NOFOLLOW = 1 << 2,
	NOOK_BIND_CREATE_FILE = 1 << 3,
	NOOK_BIND_CREATE_DIR = 1 << 4,
	NOOK_BIND_NOSUID = 1 << 5,
	NOOK_BIND_NODEV = 1 << 6,
	NOOK_BIND_NOEXEC = 1 << 7,
	NOOK_BIND_PRIVATE = 1 << 8,
	NOOK_BIND_SLAVE = 1 << 9,
	NOOK_BIND_SHARED = 1 << 10,
};

enum {
	NOOK_REMOUNT_REC = 1 << 0,
	NOOK_REMOUNT_OPTIONAL = 1 << 1,
};

/* index: the record's place after nook-plan (namespaces is 0), as reports give it; that is
 * its place in the op list the TypeScript side encodes. */
struct nook_idmap {
	int index;
	const char *helper; /* NULL: the runtime writes /proc/PID/[ug]id_map itself */
	char **ids;	    /* inside, outside, count, inside, ... as decimal strings */
	size_t n_ids;
};

struct nook_op {
	enum nook_op_code code;
	int index;
	union {
		struct {
			const char *dir;
		} rootfs;
		struct {
			const char *mount_point;
		} tmpfs_rootfs;
		struct {
			char **lower; /* topmost first, NULL-terminated */
			const char *upper, *work, *target;
		} overlay;
		struct {
			const char *path;
			mode_t mode;
		} mkdir;
		struct {
			const char *fstype, *source, *path, *data;
			unsigned long flags;
		} mount;
		struct {
			const char *source, *path;
			unsigned int flags;
		} bind;
		struct {
			const char *target, *path;
		} symlink;
		struct {
			const char *path;
			unsigned int flags;
		} remount_ro;
		struct {
			const char *path;
		} mask;
		struct {
			const char *path, *value;
		} sysctl;
		struct {
			struct sock_filter *insns;
			unsigned short len;
		} seccomp;
		struct {
			const char *name;
		} sethostname;
		struct {
			const char *path;
		} chdir;
		struct {
			mode_t mask;
		} umask;
		struct {
			uint64_t mask;
		} caps;
		struct {
			uid_t uid;
			gid_t gid;
			gid_t *groups;
			size_t n_groups;
		} user;
		struct {
			const char *name; /* as the plan gives it: nofile, nproc ... */
			int resource;	  /* RLIMIT_* */
			uint64_t soft, hard; /* RLIM_INFINITY: unlimited */
		} rlimit;
		struct {
			char **argv;
			char **envp;
		} exec;
		struct {
			uint16_t port;
			const char *socket;
		} forward;
	};
};

enum nook_restart_policy {
	NOOK_RESTART_NO,
	NOOK_RESTART_ON_FAILURE,
	NOOK_RESTART_ALWAYS,
};

struct nook_plan {
	char *buf;
	size_t len;
	/* Records decoded so far, nook-plan included. */
	int n_records;
	int clone_flags;
	struct nook_idmap uid_map, gid_map;
	struct {
		bool piped;	/* a stdio record: the monitor carries the container's stdio */
		bool tty;
		bool keep_stdin;
		const char *log; /* NULL: no log file */
		int index;
	} stdio;
	bool detach;
	const char *state;	/* NULL: no state file */
	int state_index;
	struct {
		enum nook_restart_policy policy;
		uint64_t max;	/* 0: unlimited */
		const char *stop_file;
	} restart;
	char **exit_argv, **exit_envp; /* NULL: no exit command */
	struct {
		pid_t pid;	/* 0: not a join plan */
		uint64_t start;	/* the process's start time (proc.h) */
		int flags;	/* CLONE_NEW* of the namespaces to join */
		int index;
	} join;
	struct {
		bool set;
		int value;
		int index;
	} oom_score_adj;
	struct {
		const char *path; /* NULL: the container stays in the monitor's cgroup */
		int index;
		/* The cgroup namespace is made after the container joined its cgroup, so
		 * that cgroup is the namespace's root (cgroup.c). */
		bool unshare_ns;
	} cgroup;
	struct {
		char **argv;	/* NULL: no network helper */
		bool before_maps; /* started right after clone, not once the id maps are written */
		const char *log;
		const char *api_socket; /* NULL: no requests */
		char **requests;
		int index;
	} network;
	struct {
		pid_t pid;	/* 0: the container gets network namespaces of its own */
		int index;
	} share_net;
	struct nook_op *ops;
	size_t n_ops;
};

int nook_plan_read(int fd, struct nook_plan *plan, struct nook_error *e);
int nook_plan_decode(struct nook_plan *plan, struct nook_error *e);
/* Frees what reading and decoding allocated, after a failed decode too. The runtime keeps
 * its plan to the end; a caller that decodes many (the fuzzer) frees each. */
void nook_plan_free(struct nook_plan *plan);

/* The report index of the record being decoded (-1: nook-plan, or nothing read yet). */
static inline int nook_plan_index(const struct nook_plan *plan)
{
	return plan->n_records - 1;
}

#endif
