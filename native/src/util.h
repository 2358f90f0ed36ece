#ifndef NOOK_UTIL_H
#define NOOK_UTIL_H

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

#define _cleanup_close_ __attribute__((cleanup(nook_closep)))
#define _cleanup_free_ __attribute__((cleanup(nook_freep)))

#endif
