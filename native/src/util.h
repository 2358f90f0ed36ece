#ifndef NOOK_UTIL_H
#define NOOK_UTIL_H

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

static inline void nook_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

static inline void nook_freep(void *p)
{
	free(*(void **)p);
}

/* Writes all of @buf, -1 with errno set if it cannot: after a short write the next one
 * says why (ENOSPC, EFBIG), and a write that takes nothing is EIO. */
static inline int nook_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Up to @size bytes from @fd, fewer only at its end; -1 with errno set on a read error. */
static inline ssize_t nook_read_full(int fd, void *buf, size_t size)
{
	char *p = buf;
	size_t done = 0;

	while (done < size) {
		ssize_t n = read(fd, p + done, size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

#define _cleanup_close_ __attribute__((cleanup(nook_closep)))
#define _cleanup_free_ __attribute__((cleanup(nook_freep)))

#endif
