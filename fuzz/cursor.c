/* cursor.c -- fuzz target: the list and history cursors of query (params.h). Any text as a
 * cursor is refused or decodes within bounds; and a cursor query makes from a position
 * (the fuzz input as an externalId, or two numbers read from it) decodes back to it. */
#include "fuzz_harness.h"
#include "../query/params.h"

#include <stdio.h>

static void fuzz_one(const char *buf, size_t len)
{
	char qs[4096], cur[QUERY_CURSOR_MAX + 1];
	query_param_error e;
	query_params p;
	long long a = 0, b = 0;

	/* as a cursor, on both routes */
	if (len < 3000) {
		snprintf(qs, sizeof(qs), "cursor=%s", buf);
		if (query_params_parse(qs, NULL, QUERY_LIST, &p, &e) == 0 &&
		    strlen(p.after) > NS_EXTID_MAX)
			abort();
		if (query_params_parse(qs, NULL, QUERY_EVENTS, &p, &e) == 0 &&
		    (p.ev_partition < 0 || p.ev_offset < 0))
			abort();
	}
	/* round trip of a list cursor: the input as an externalId */
	if (len >= 1 && len <= NS_EXTID_MAX && !memchr(buf, '\0', len)) {
		query_cursor_list(buf, cur, sizeof(cur));
		snprintf(qs, sizeof(qs), "cursor=%s", cur);
		if (query_params_parse(qs, NULL, QUERY_LIST, &p, &e) != 0 || strcmp(p.after, buf))
			abort();
	}
	/* round trip of a history cursor */
	if (sscanf(buf, "%lld %lld", &a, &b) == 2 && a >= 0 && a <= INT32_MAX && b >= 0 &&
	    b < INT64_MAX) {
		query_cursor_events((int32_t)a, (int64_t)b, cur, sizeof(cur));
		snprintf(qs, sizeof(qs), "cursor=%s", cur);
		if (query_params_parse(qs, NULL, QUERY_EVENTS, &p, &e) != 0 ||
		    p.ev_partition != a || p.ev_offset != b)
			abort();
	}
}
