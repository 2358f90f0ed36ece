/* Decimal numbers as the TypeScript side prints them and /proc shows them: digits only, no
 * sign, no leading zero, at most @max. Used by the plan decoder and the /proc readers. */
#ifndef NOOK_DECIMAL_H
#define NOOK_DECIMAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

bool nook_parse_decimal_n(const char *s, size_t len, uint64_t max, uint64_t *out);
bool nook_parse_decimal(const char *s, uint64_t max, uint64_t *out);

#endif
