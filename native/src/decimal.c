#include "decimal.h"

#include <string.h>

bool nook_parse_decimal_n(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t value = 0;

	if (len == 0 || (s[0] == '0' && len > 1))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned digit = (unsigned)(s[i] - '0');

		if (s[i] < '0' || s[i] > '9' || digit > max || value > (max - digit) / 10)
			return false;
		value = value * 10 + digit;
	}
	*out = value;
	return true;
}

bool nook_parse_decimal(const char *s, uint64_t max, uint64_t *out)
{
	return nook_parse_decimal_n(s, strlen(s), max, out);
}
