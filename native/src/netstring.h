/* The field form shared by the plan (fd 3) and bin/nook's fast-path entries:
 * `<length>:<bytes>,`, the length in decimal without a leading zero. */
#ifndef NOOK_NETSTRING_H
#define NOOK_NETSTRING_H

#include <stddef.h>

enum nook_netstring {
	NOOK_NETSTRING_OK,
	NOOK_NETSTRING_TOO_LONG,      /* longer than the caller's most */
	NOOK_NETSTRING_TRUNCATED,     /* the input ends inside the field */
	NOOK_NETSTRING_MALFORMED,     /* no length, or no ':' after it */
	NOOK_NETSTRING_LEADING_ZERO,  /* a length such as 07 */
	NOOK_NETSTRING_UNTERMINATED,  /* no ',' after the bytes */
};

/* Decodes the field at *@p (input ends at @end) in place: its ',' becomes the NUL that ends
 * it, *@field and *@len say where and how long it is, *@p moves past it. The bytes may hold
 * NULs: a caller that wants a string checks. */
enum nook_netstring nook_netstring_next(char **p, char *end, size_t most, char **field, size_t *len);

#endif
