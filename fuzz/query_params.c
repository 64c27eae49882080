/* query_params.c -- fuzz target: query's whole query-string parser (params.h), for each
 * route, with the input also tried as the X-Min-Position header. Whatever it accepts is
 * within the documented bounds. */
#include "fuzz_harness.h"
#include "../query/params.h"

static void check(const query_params *p, query_route r)
{
	if (p->has_position && (p->min_partition < 0 || p->min_offset < 0 || p->wait_ms < 0 ||
				p->wait_ms > QUERY_WAIT_MAX))
		abort();
	if (r == QUERY_LIST && !p->has_external_id &&
	    (p->limit < 1 || p->limit > QUERY_LIMIT_MAX || strlen(p->after) > NS_EXTID_MAX))
		abort();
	if (r == QUERY_EVENTS && (p->limit < 1 || p->limit > QUERY_EVENTS_MAX))
		abort();
	if (p->has_channel && !ns_check_name(p->channel, strlen(p->channel)))
		abort();
	if (p->has_status && !ns_check_name(p->status, strlen(p->status)))
		abort();
}

static void fuzz_one(const char *buf, size_t len)
{
	query_param_error e;
	query_params p;

	(void)len;
	for (int r = QUERY_LIST; r <= QUERY_EVENTS; r++) {
		if (query_params_parse(buf, NULL, (query_route)r, &p, &e) == 0)
			check(&p, (query_route)r);
		else if (!e.name[0])
			abort(); /* a refusal names the parameter */
		if (query_params_parse(NULL, buf, (query_route)r, &p, &e) == 0)
			check(&p, (query_route)r);
	}
}
