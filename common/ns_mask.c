/* ns_mask.c -- masked recipients (see ns_mask.h). Every GET without read:pii masks one, so
 * the parts are copied by hand rather than through snprintf. */
#include "ns_mask.h"

#include "ns_check.h"

#include <string.h>

#define MASK "****"

/* Append s[0..n) to the NUL-terminated text of out at *at, truncated to outlen bytes with
 * the NUL (as snprintf truncates). */
static void append(char *out, size_t outlen, size_t *at, const char *s, size_t n)
{
	if (*at + 1 >= outlen)
		return;
	if (n > outlen - 1 - *at)
		n = outlen - 1 - *at;
	memcpy(out + *at, s, n);
	*at += n;
	out[*at] = '\0';
}

char *ns_mask_address(const char *to, char *out, size_t outlen)
{
	size_t len = to ? strlen(to) : 0, at = 0;
	const char *sign = to ? strchr(to, '@') : NULL;

	if (outlen)
		out[0] = '\0';
	if (len && ns_check_e164(to, len)) {
		size_t digits = len - 1, head = digits > 9 ? digits - 8 : 1;
		append(out, outlen, &at, to, 1 + head); /* '+' and the head digits */
		append(out, outlen, &at, MASK, sizeof(MASK) - 1);
		append(out, outlen, &at, to + len - 3, 3);
	} else if (len && sign && ns_check_email(to, len)) {
		append(out, outlen, &at, to, 1);
		append(out, outlen, &at, "***", 3);
		append(out, outlen, &at, sign, len - (size_t)(sign - to));
	} else {
		append(out, outlen, &at, MASK, sizeof(MASK) - 1);
	}
	return out;
}
