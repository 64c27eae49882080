/* params.h -- the query string of a query request, parsed and checked in one place.
 *
 * Pure (no connection, no database): a raw query string (and the X-Min-Position header, if
 * any) goes in, a filled query_params or the name of the faulty parameter comes out, so the
 * whole surface a client controls is one fuzz target. Cursors are opaque to clients:
 * lowercase hex of the position the next page starts after (a list: the last externalId;
 * a history: "partition:offset" of the last event). Thread-safe. */
#ifndef QUERY_PARAMS_H
#define QUERY_PARAMS_H

#include "ns_check.h"
#include "ns_event.h"

#include <stddef.h>
#include <stdint.h>

#define QUERY_LIMIT_DEFAULT  50 /* list page */
#define QUERY_LIMIT_MAX	     500
#define QUERY_EVENTS_DEFAULT 100 /* history page */
#define QUERY_EVENTS_MAX     1000
#define QUERY_WAIT_DEFAULT   2000 /* read-your-writes wait, ms */
#define QUERY_WAIT_MAX	     10000
#define QUERY_PARAM_MAX	     1024 /* longest raw parameter value */
#define QUERY_CURSOR_MAX     (2 * NS_EXTID_MAX + 1)

/* What a request's parameters say. */
typedef enum { QUERY_LIST = 0, QUERY_STATE, QUERY_EVENTS } query_route;

typedef struct {
	/* GET /notifications?externalId= (one notification instead of a list) */
	int has_external_id;
	char external_id[NS_EXTID_MAX + 1];
	/* lists */
	int has_channel, has_status;
	char channel[NS_NAME_MAX + 1], status[NS_NAME_MAX + 1];
	int orphans;		      /* orphans=true: include notifications never requested */
	char after[NS_EXTID_MAX + 1]; /* list cursor: externalIds after this one ("": first) */
	int64_t limit;		      /* page size */
	int32_t ev_partition;	      /* history cursor: events after this position */
	int64_t ev_offset;	      /* (-1, -1: from the first) */
	/* read-your-writes: minPosition=P:O or X-Min-Position, waitMs */
	int has_position;
	int32_t min_partition;
	int64_t min_offset;
	int64_t wait_ms;
} query_params;

/* A refused parameter: its name and why, for a 400 problem naming it. */
typedef struct {
	char name[32];
	char detail[128];
} query_param_error;

/* Parse qs (the raw query string, may be NULL) for route, with the X-Min-Position header
 * value (may be NULL; minPosition in qs wins). Returns 0 with p filled (defaults for what
 * is absent), or -1 with e filled. */
int query_params_parse(const char *qs, const char *min_position_header, query_route route,
		       query_params *p, query_param_error *e);

/* GET /figures: windowMinutes (rates, latency; default 60, 1..10080), hours (volumes;
 * default 3, 1..48), anomalies (how many, default 20, 0..200). */
typedef struct {
	int64_t window_minutes, hours, anomalies;
} query_fig_params;

/* Parse qs (may be NULL) for GET /figures. Returns 0 with p filled, or -1 with e filled. */
int query_params_figures(const char *qs, query_fig_params *p, query_param_error *e);

/* The cursor of a list page that ended at external_id, into out (QUERY_CURSOR_MAX + 1). */
void query_cursor_list(const char *external_id, char *out, size_t outlen);

/* The cursor of a history page that ended at (partition, offset), into out. */
void query_cursor_events(int32_t partition, int64_t offset, char *out, size_t outlen);

/* Parse "P:O" (partition 0..INT32_MAX, offset 0..INT64_MAX-1). Returns 0 or -1. */
int query_position_parse(const char *s, int32_t *partition, int64_t *offset);

#endif
