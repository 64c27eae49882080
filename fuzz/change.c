/* change.c -- fuzz target: the changelog record decoder (common/ns_change.c), which the
 * changelog publisher runs on its own topic when it restores and the callback worker on
 * every record. Any bytes are refused or decode; a decoded record encodes and decodes
 * back to the same record. */
#include "fuzz_harness.h"
#include "ns_change.h"

static void fuzz_one(const char *buf, size_t len)
{
	char err[256], *again;
	ns_change c, d;
	size_t n = 0;

	if (ns_change_decode(buf, len, &c, err, sizeof(err)) != 0)
		return;
	if (c.version < 1 || !c.status[0] || !c.event_id[0])
		abort();
	again = ns_change_encode(&c, &n);
	if (!again || ns_change_decode(again, n, &d, err, sizeof(err)) != 0 ||
	    memcmp(&c, &d, sizeof(c)) != 0)
		abort();
	free(again);
}
