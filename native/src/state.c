#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"
#include "util.h"

long long nook_realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int read_small_file(const char *path, char *buf, size_t size, struct nook_error *e)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return nook_fail(e, errno, "%s", path);
	n = read(fd, buf, size - 1);
	if (n < 0)
		return nook_fail(e, errno, "%s", path);
	buf[n] = '\0';
	return 0;
}

/* Readers see the old line or the new one, never a part. */
static int write_atomically(const char *path, const char *line, struct nook_error *e)
{
	char tmp[PATH_MAX + 32];
	size_t len = strlen(line);
	unsigned int nonce = 0;
	int fd;

	if (getrandom(&nonce, sizeof nonce, 0) != sizeof nonce)
		return nook_fail(e, errno, "getrandom");
	if (snprintf(tmp, sizeof tmp, "%s.tmp-%d-%08x", path, (int)getpid(), nonce) >=
	    (int)sizeof tmp)
		return nook_fail(e, ENAMETOOLONG, "%s", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return nook_fail(e, errno, "%s", tmp);
	if (nook_write_all(fd, line, len) < 0) {
		nook_fail(e, errno, "writing %s", tmp);
		close(fd);
		unlink(tmp);
		return -1;
	}
	if (close(fd) < 0) {
		nook_fail(e, errno, "closing %s", tmp);
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) < 0) {
		nook_fail(e, errno, "renaming %s to %s", tmp, path);
		unlink(tmp);
		return -1;
	}
	return 0;
}

int nook_state_running(const char *path, pid_t container, uint64_t container_start,
		       long long started_ns, unsigned long restarts, struct nook_error *e)
{
	char boot_id[64], line[256];
	struct nook_proc_stat self;

	if (nook_proc_stat(0, &self, e) < 0 ||
	    read_small_file("/proc/sys/kernel/random/boot_id", boot_id, sizeof boot_id, e) < 0)
		return -1;
	boot_id[strcspn(boot_id, "\n")] = '\0';
	snprintf(line, sizeof line, "running %d %llu %s %d %llu %lld %lu\n", (int)getpid(),
		 (unsigned long long)self.start, boot_id, (int)container,
		 (unsigned long long)container_start, started_ns, restarts);
	return write_atomically(path, line, e);
}

int nook_state_exited(const char *path, int status, long long started_ns,
		      long long finished_ns, unsigned long restarts, struct nook_error *e)
{
	char line[128];

	snprintf(line, sizeof line, "exited %d %lld %lld %lu\n", status, started_ns, finished_ns,
		 restarts);
	return write_atomically(path, line, e);
}
