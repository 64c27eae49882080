/* ns_mask.c -- masked recipients (see ns_mask.h). */
#include "ns_mask.h"

#include "ns_check.h"

#include <stdio.h>
#include <string.h>

#define MASK "****"

char *ns_mask_address(const char *to, char *out, size_t outlen)
{
	size_t len = to ? strlen(to) : 0;
	const char *at = to ? strchr(to, '@') : NULL;

	if (len && ns_check_e164(to, len)) {
		size_t digits = len - 1, head = digits > 9 ? digits - 8 : 1;
		snprintf(out, outlen, "+%.*s" MASK "%s", (int)head, to + 1, to + len - 3);
	} else if (len && at && ns_check_email(to, len)) {
		snprintf(out, outlen, "%c***%s", to[0], at);
	} else {
		snprintf(out, outlen, MASK);
	}
	return out;
}
