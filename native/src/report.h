/* Errors travel up as a struct nook_error; the process that gives up writes one report
 * record for it on fd 4 (protocol.md, "Reports"). */
#ifndef NOOK_REPORT_H
#define NOOK_REPORT_H

#include <limits.h>

#define NOOK_REPORT_FD 4

#define NOOK_EXIT_FAILED 125
#define NOOK_EXIT_CANNOT_EXEC 126
#define NOOK_EXIT_NOT_FOUND 127

struct nook_error {
	int err; /* errno, 0 when no system call failed */
	char detail[PATH_MAX + 256];
};

/* Fills @e and returns -1, so callers can write `return nook_fail(e, errno, ...)`. */
int nook_fail(struct nook_error *e, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Writes the one report record; the caller exits right after. @index: the record's place
 * after nook-plan (namespaces is 0), -1 when no such record is at fault. */
void nook_report(int index, const char *op, const struct nook_error *e);

#endif
