#include "netstring.h"

enum nook_netstring nook_netstring_next(char **p, char *end, size_t most, char **field, size_t *len)
{
	char *digits = *p, *at = *p;
	size_t n = 0;

	while (at < end && *at >= '0' && *at <= '9') {
		n = n * 10 + (size_t)(*at - '0');
		at++;
		if (n > most)
			return NOOK_NETSTRING_TOO_LONG;
	}
	if (at == end)
		return NOOK_NETSTRING_TRUNCATED;
	if (at == digits || *at != ':')
		return NOOK_NETSTRING_MALFORMED;
	if (*digits == '0' && at - digits > 1)
		return NOOK_NETSTRING_LEADING_ZERO;
	at++;
	if ((size_t)(end - at) <= n)
		return NOOK_NETSTRING_TRUNCATED;
	if (at[n] != ',')
		return NOOK_NETSTRING_UNTERMINATED;
	at[n] = '\0';
	*field = at;
	*len = n;
	*p = at + n + 1;
	return NOOK_NETSTRING_OK;
}
