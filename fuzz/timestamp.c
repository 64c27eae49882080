/* timestamp.c -- fuzz target: the RFC 3339 parser (webhook timestamps, event times). An
 * accepted text formats to a UTC text that parses to the same instant. */
#include "fuzz_harness.h"
#include "ns_time.h"

static void fuzz_one(const char *buf, size_t len)
{
	int64_t ms, back;
	char out[NS_TIME_ISO_LEN];

	(void)len;
	if (ns_time_parse(buf, &ms) != 0)
		return;
	if (ms < 0)
		abort();
	ns_time_format(ms, out);
	if (ms < 253402300800000LL && (ns_time_parse(out, &back) != 0 || back != ms))
		abort(); /* before year 10000 the formatted text round-trips */
}
