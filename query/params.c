/* params.c -- query-string parsing and cursors (see params.h). */
#include "params.h"

#include "ns_str.h"

#include <civetweb.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int refuse(query_param_error *e, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int refuse(query_param_error *e, const char *name, const char *fmt, ...)
{
	va_list ap;

	snprintf(e->name, sizeof(e->name), "%s", name);
	va_start(ap, fmt);
	vsnprintf(e->detail, sizeof(e->detail), fmt, ap);
	va_end(ap);
	return -1;
}

/* Value of name in qs into out: its length, -1 absent, -2 too long or holding a NUL
 * (%00: no value of ours has one; out ""). */
static int get(const char *qs, const char *name, char *out, size_t outlen)
{
	int n;

	out[0] = '\0';
	if (!qs)
		return -1;
	n = mg_get_var(qs, strlen(qs), name, out, outlen);
	if (n >= 0 && memchr(out, '\0', (size_t)n)) {
		out[0] = '\0';
		return -2;
	}
	if (n < -1)
		out[0] = '\0';
	return n < -1 ? -2 : n;
}

/* Decode a hex cursor into out (NUL-terminated, no NUL inside). Returns its length or -1. */
static int cursor_decode(const char *hex, char *out, size_t outlen)
{
	size_t n = strlen(hex);
	int got;

	if (n == 0 || n / 2 >= outlen)
		return -1;
	got = ns_str_hex_decode(hex, n, out, outlen - 1);
	if (got <= 0 || memchr(out, '\0', (size_t)got))
		return -1;
	out[got] = '\0';
	return got;
}

int query_position_parse(const char *s, int32_t *partition, int64_t *offset)
{
	char buf[64];
	const char *colon = strchr(s, ':');
	int64_t p, o;

	if (!colon || (size_t)(colon - s) >= sizeof(buf))
		return -1;
	memcpy(buf, s, (size_t)(colon - s));
	buf[colon - s] = '\0';
	if (ns_str_to_i64(buf, 0, INT32_MAX, &p) || ns_str_to_i64(colon + 1, 0, INT64_MAX - 1, &o))
		return -1;
	*partition = (int32_t)p;
	*offset = o;
	return 0;
}

/* An integer parameter in [min, max] (default def when absent). */
static int get_int(const char *qs, const char *name, int64_t def, int64_t min, int64_t max,
		   int64_t *out, query_param_error *e)
{
	char v[64];
	int n = get(qs, name, v, sizeof(v));

	*out = def;
	if (n == -1)
		return 0;
	if (n < 0 || ns_str_to_i64(v, min, max, out))
		return refuse(e, name, "expected an integer %lld..%lld", (long long)min,
			      (long long)max);
	return 0;
}

/* channel= and status= of a list: names. */
static int get_filters(const char *qs, query_params *p, query_param_error *e)
{
	int n = get(qs, "channel", p->channel, sizeof(p->channel));

	if (n == -2 || (n >= 0 && !ns_check_name(p->channel, (size_t)n)))
		return refuse(e, "channel", "expected a channel name");
	p->has_channel = n >= 0;
	n = get(qs, "status", p->status, sizeof(p->status));
	if (n == -2 || (n >= 0 && !ns_check_name(p->status, (size_t)n)))
		return refuse(e, "status", "expected a status name");
	p->has_status = n >= 0;
	return 0;
}

/* orphans=true|false (absent: false). */
static int get_orphans(const char *qs, query_params *p, query_param_error *e)
{
	char v[8];
	int n = get(qs, "orphans", v, sizeof(v));

	if (n == -1)
		return 0;
	if (n >= 0 && (strcmp(v, "true") == 0 || strcmp(v, "false") == 0)) {
		p->orphans = v[0] == 't';
		return 0;
	}
	return refuse(e, "orphans", "expected true or false");
}

/* cursor= of the route's kind. */
static int get_cursor(const char *qs, query_route route, query_params *p, query_param_error *e)
{
	char hex[QUERY_PARAM_MAX], text[QUERY_CURSOR_MAX + 1];
	int n = get(qs, "cursor", hex, sizeof(hex));

	if (n == -1)
		return 0;
	if (n < 0 || cursor_decode(hex, text, sizeof(text)) < 0)
		return refuse(e, "cursor", "not a cursor from a previous page");
	if (route == QUERY_EVENTS) {
		if (query_position_parse(text, &p->ev_partition, &p->ev_offset))
			return refuse(e, "cursor", "not a cursor from a previous page");
	} else if (strlen(text) > NS_EXTID_MAX) {
		return refuse(e, "cursor", "not a cursor from a previous page");
	} else {
		memcpy(p->after, text, strlen(text) + 1);
	}
	return 0;
}

/* minPosition= (or the header) and waitMs=. */
static int get_position(const char *qs, const char *header, query_params *p, query_param_error *e)
{
	char v[QUERY_PARAM_MAX];
	int n = get(qs, "minPosition", v, sizeof(v));
	const char *name = "minPosition";

	if (n == -2)
		return refuse(e, name, "too long");
	if (n == -1 && header) {
		name = "X-Min-Position";
		if (strlen(header) >= sizeof(v))
			return refuse(e, name, "too long");
		snprintf(v, sizeof(v), "%s", header);
		n = 0;
	}
	if (n == -1)
		return 0;
	if (query_position_parse(v, &p->min_partition, &p->min_offset))
		return refuse(e, name, "expected <partition>:<offset>");
	p->has_position = 1;
	return get_int(qs, "waitMs", QUERY_WAIT_DEFAULT, 0, QUERY_WAIT_MAX, &p->wait_ms, e);
}

int query_params_parse(const char *qs, const char *min_position_header, query_route route,
		       query_params *p, query_param_error *e)
{
	int n;

	memset(p, 0, sizeof(*p));
	p->ev_partition = -1;
	p->ev_offset = -1;
	p->wait_ms = QUERY_WAIT_DEFAULT;
	if (get_position(qs, min_position_header, p, e))
		return -1;
	if (route == QUERY_STATE)
		return 0;
	if (route == QUERY_EVENTS)
		return get_int(qs, "limit", QUERY_EVENTS_DEFAULT, 1, QUERY_EVENTS_MAX, &p->limit,
			       e) ||
		       get_cursor(qs, route, p, e);
	n = get(qs, "externalId", p->external_id, sizeof(p->external_id));
	if (n == -2 || n == 0 || (n > 0 && memchr(p->external_id, '\0', (size_t)n)))
		return refuse(e, "externalId", "expected 1..%d bytes", NS_EXTID_MAX);
	p->has_external_id = n > 0;
	if (p->has_external_id)
		return 0;
	return get_filters(qs, p, e) || get_orphans(qs, p, e) ||
	       get_int(qs, "limit", QUERY_LIMIT_DEFAULT, 1, QUERY_LIMIT_MAX, &p->limit, e) ||
	       get_cursor(qs, route, p, e);
}

void query_cursor_list(const char *external_id, char *out, size_t outlen)
{
	(void)ns_str_hex_encode(external_id, strlen(external_id), out, outlen);
}

void query_cursor_events(int32_t partition, int64_t offset, char *out, size_t outlen)
{
	char text[64];
	int n = snprintf(text, sizeof(text), "%d:%lld", (int)partition, (long long)offset);

	(void)ns_str_hex_encode(text, (size_t)n, out, outlen);
}

int query_params_figures(const char *qs, query_fig_params *p, query_param_error *e)
{
	memset(e, 0, sizeof(*e));
	return get_int(qs, "windowMinutes", 60, 1, 10080, &p->window_minutes, e) ||
		       get_int(qs, "hours", 3, 1, 48, &p->hours, e) ||
		       get_int(qs, "anomalies", 20, 0, 200, &p->anomalies, e)
		   ? -1
		   : 0;
}
