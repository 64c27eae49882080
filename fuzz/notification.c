/* notification.c -- fuzz target: ingest's POST /notifications body, parsed and validated
 * exactly as the handler does (ingest_parse_body then ingest_validate_notification), on a
 * worker-sized stack. */
#define FUZZ_INIT
#include "fuzz_harness.h"
#include "ingest/validate.h"

static ns_channels *channels;

static int fuzz_init(void)
{
	char err[256];
	const char *dir = getenv("NS_SCHEMAS_DIR");

	channels = ns_channels_load(dir && dir[0] ? dir : "schemas/channels", err, sizeof(err));
	if (!channels)
		abort();
	return 0;
}

static void fuzz_one(const char *buf, size_t len)
{
	ingest_problem p;
	ns_event ev;
	ns_jflat body;

	if (ingest_parse_body(&body, buf, len, &p) == 0)
		ingest_validate_notification(channels, &body, &ev, &p);
}
