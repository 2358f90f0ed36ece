/* try-syscall: the security tests' probe, built static by test/helpers/try-syscall.ts and
 * copied into a busybox rootfs.
 *
 *   try-syscall NAME|NUMBER [ARG...]   calls it with the arguments (integers, 0x… allowed) and
 *                                      prints "ok" or "errno N"
 *   try-syscall chroot-escape PATH     the classic chroot escape (chroot into a subdir,
 *                                      chdir .. past it, chroot .), then says whether PATH exists
 *   try-syscall tiocsti FD TEXT [high] pushes TEXT into the input of the terminal on FD, a byte
 *                                      at a time (ioctl TIOCSTI; "high": with garbage in the
 *                                      request's upper 32 bits, which the kernel ignores); prints
 *                                      "ok" or the first "errno N"
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ENTRY(name) { #name, SYS_##name },
static const struct {
	const char *name;
	long nr;
} calls[] = {
	ENTRY(acct) ENTRY(add_key) ENTRY(adjtimex) ENTRY(bpf) ENTRY(chroot) ENTRY(clock_adjtime)
	ENTRY(clock_settime) ENTRY(clone) ENTRY(clone3) ENTRY(delete_module) ENTRY(finit_module)
	ENTRY(fsopen) ENTRY(getpid) ENTRY(init_module) ENTRY(io_uring_setup) ENTRY(ioctl) ENTRY(kexec_file_load)
	ENTRY(kexec_load) ENTRY(keyctl) ENTRY(mkdirat) ENTRY(mount) ENTRY(open_by_handle_at)
	ENTRY(open_tree) ENTRY(perf_event_open) ENTRY(personality) ENTRY(pivot_root) ENTRY(quotactl)
	ENTRY(reboot) ENTRY(request_key) ENTRY(setns) ENTRY(settimeofday) ENTRY(socket)
	ENTRY(swapoff) ENTRY(swapon) ENTRY(syslog) ENTRY(umount2) ENTRY(uname) ENTRY(unshare)
	ENTRY(userfaultfd)
};

static long lookup(const char *name)
{
	char *end;
	long nr = strtol(name, &end, 0);

	if (*name && !*end)
		return nr;
	for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++)
		if (strcmp(calls[i].name, name) == 0)
			return calls[i].nr;
	fprintf(stderr, "try-syscall: unknown system call %s\n", name);
	exit(2);
}

static int chroot_escape(const char *probe)
{
	struct stat st;

	mkdir("/tmp/jail", 0755);
	if (chroot("/tmp/jail") < 0) {
		printf("chroot errno %d\n", errno);
		return 0;
	}
	/* The cwd stayed outside the new root: walk up from it as far as ".." goes. */
	for (int i = 0; i < 256; i++)
		if (chdir("..") < 0)
			break;
	if (chroot(".") < 0) {
		printf("chroot . errno %d\n", errno);
		return 0;
	}
	printf("%s %s\n", probe, stat(probe, &st) == 0 ? "exists" : "absent");
	return 0;
}

static int tiocsti(const char *fd, const char *text, bool high)
{
	unsigned long request = TIOCSTI | (high ? 0xdead00000000UL : 0);

	for (const char *c = text; *c; c++) {
		if (syscall(SYS_ioctl, atoi(fd), request, c) < 0) {
			printf("errno %d\n", errno);
			return 0;
		}
	}
	printf("ok\n");
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long args[6] = { 0 };
	pid_t self = getpid();
	long nr, r;

	if (argc < 2)
		return 2;
	if (strcmp(argv[1], "chroot-escape") == 0 && argc == 3)
		return chroot_escape(argv[2]);
	if (strcmp(argv[1], "tiocsti") == 0 && (argc == 4 || argc == 5))
		return tiocsti(argv[2], argv[3], argc == 5 && strcmp(argv[4], "high") == 0);
	nr = lookup(argv[1]);
	for (int i = 2; i < argc && i < 8; i++)
		args[i - 2] = strtoul(argv[i], NULL, 0);
	r = syscall(nr, args[0], args[1], args[2], args[3], args[4], args[5]);
	/* A clone the filter let through: the child leaves quietly. */
	if (r == 0 && getpid() != self)
		_exit(0);
	if (r < 0)
		printf("errno %d\n", errno);
	else
		printf("ok\n");
	return 0;
}
