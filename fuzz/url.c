/* url.c -- fuzz target: callback URLs (common/ns_url.c) as ingest sees them. Any text is
 * refused or parses to a host of at most NS_HOST_MAX bytes and a port 1..65535, and the
 * public-destination rule answers without reading past it. */
#include "fuzz_harness.h"
#include "ns_url.h"

static void fuzz_one(const char *buf, size_t len)
{
	char err[128];
	ns_url u;

	if (ns_url_parse(buf, len, &u, err, sizeof(err)) != 0)
		return;
	if (len > NS_URL_MAX || !u.host[0] || strlen(u.host) > NS_HOST_MAX || u.port < 1 ||
	    u.port > 65535)
		abort();
	(void)ns_url_host_public(&u);
}
