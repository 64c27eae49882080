/* figures.c -- GET /figures (see figures.h): one small query per figure, JSON built as the
 * rows come. */
#include "figures.h"
#include "ns_time.h"

#include <stdlib.h>
#include <string.h>

static json_t *iso(int64_t ms)
{
	char ts[NS_TIME_ISO_LEN];
	return json_string(ns_time_format(ms, ts));
}

static const char *col(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? (const char *)t : "";
}

/* Step st to the end, calling row for each row. Returns 0, or -1 on an error. */
static int each(sqlite3_stmt *st, void (*row)(sqlite3_stmt *st, void *ctx), void *ctx)
{
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		row(st, ctx);
	return rc == SQLITE_DONE ? 0 : -1;
}

static void count_row(sqlite3_stmt *st, void *ctx)
{
	json_t *o = json_object();

	json_object_set_new(o, "channel", json_string(col(st, 0)));
	json_object_set_new(o, "status", json_string(col(st, 1)));
	json_object_set_new(o, "count", json_integer(sqlite3_column_int64(st, 2)));
	json_array_append_new(ctx, o);
}

/* ---- volumes: a dense series of minutes ---- */

typedef struct {
	json_t *minutes, *kinds;
	int64_t from;
} volumes;

static void volume_row(sqlite3_stmt *st, void *ctx)
{
	volumes *v = ctx;
	int64_t m = sqlite3_column_int64(st, 0);
	const char *kind = col(st, 1);
	json_t *slot = json_array_get(v->minutes, (size_t)(m - v->from));
	size_t i;
	json_t *k;
	int known = 0;

	if (!slot)
		return; /* a minute ahead of the clock */
	json_object_set_new(slot, kind, json_integer(sqlite3_column_int64(st, 2)));
	json_array_foreach(v->kinds, i, k) known |= strcmp(json_string_value(k), kind) == 0;
	if (!known)
		json_array_append_new(v->kinds, json_string(kind));
}

static json_t *volume_series(query_conn *c, const char *tenant, int64_t from, int64_t to)
{
	sqlite3_stmt *st = query_conn_stmt(c, QUERY_ST_FIG_VOLUMES);
	volumes v = {json_array(), json_array(), from};
	json_t *out;

	for (int64_t m = from; m <= to; m++) {
		json_t *slot = json_object();
		json_object_set_new(slot, "minute", iso(m * 60000));
		json_array_append_new(v.minutes, slot);
	}
	sqlite3_bind_text(st, 1, tenant, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, from);
	if (each(st, volume_row, &v) != 0) {
		json_decref(v.minutes);
		json_decref(v.kinds);
		return NULL;
	}
	out = json_object();
	json_object_set_new(out, "kinds", v.kinds);
	json_object_set_new(out, "minutes", v.minutes);
	return out;
}

/* ---- rates: per channel, entries into each status over the window ---- */

static void rate_row(sqlite3_stmt *st, void *ctx)
{
	json_t *by_channel = ctx, *ch;
	const char *channel = col(st, 0), *kind = col(st, 1);
	json_int_t n = sqlite3_column_int64(st, 2);

	ch = json_object_get(by_channel, channel);
	if (!ch) {
		ch = json_object();
		json_object_set_new(ch, "channel", json_string(channel));
		json_object_set_new(ch, "accepted", json_integer(0));
		json_object_set_new(ch, "entered", json_object());
		json_object_set_new(by_channel, channel, ch);
	}
	if (strcmp(kind, "accepted") == 0)
		json_object_set_new(ch, "accepted", json_integer(n));
	else
		json_object_set_new(json_object_get(ch, "entered"), kind, json_integer(n));
}

static json_t *rate_list(json_t *by_channel)
{
	json_t *out = json_array(), *ch, *n;
	const char *name, *kind;

	json_object_foreach(by_channel, name, ch)
	{
		json_int_t acc = json_integer_value(json_object_get(ch, "accepted"));
		json_t *rates = json_object();
		json_object_foreach(json_object_get(ch, "entered"), kind, n)
		{
			json_object_set_new(
			    rates, kind,
			    acc > 0 ? json_real((double)json_integer_value(n) / (double)acc)
				    : json_null());
		}
		json_object_set_new(ch, "rates", rates);
		json_array_append(out, ch);
	}
	json_decref(by_channel);
	return out;
}

/* ---- rates over time: per channel, entries per bucket of minutes ---- */

#define SERIES_BUCKETS 36 /* points per series, whatever the hours */

typedef struct {
	json_t *by_channel; /* channel -> {"channel","points":[...]} */
	int64_t from, width, minutes;
} series;

static void series_row(sqlite3_stmt *st, void *ctx)
{
	series *v = ctx;
	const char *channel = col(st, 0);
	int64_t start = sqlite3_column_int64(st, 1);
	json_t *ch = json_object_get(v->by_channel, channel), *pts, *pt;
	size_t i;

	if (!ch) {
		ch = json_object();
		pts = json_array();
		json_object_set_new(ch, "channel", json_string(channel));
		/* buckets aligned on multiples of the width, up to the last one holding now */
		for (int64_t m = (v->from / v->width) * v->width; m < v->from + v->minutes;
		     m += v->width) {
			pt = json_object();
			json_object_set_new(pt, "from", iso(m * 60000));
			json_array_append_new(pts, pt);
		}
		json_object_set_new(ch, "points", pts);
		json_object_set_new(v->by_channel, channel, ch);
	}
	pts = json_object_get(ch, "points");
	i = (size_t)((start - (v->from / v->width) * v->width) / v->width);
	pt = json_array_get(pts, i);
	if (pt)
		json_object_set_new(pt, col(st, 2), json_integer(sqlite3_column_int64(st, 3)));
}

/* {"bucketMinutes":w,"channels":[{"channel","points":[{"from","accepted",...}]}]} */
static json_t *rate_series(query_conn *c, const char *tenant, int64_t from, int64_t minutes)
{
	sqlite3_stmt *st = query_conn_stmt(c, QUERY_ST_FIG_SERIES);
	series v = {json_object(), from, (minutes + SERIES_BUCKETS - 1) / SERIES_BUCKETS, minutes};
	json_t *out = json_object(), *list = json_array(), *ch;
	const char *name;

	sqlite3_bind_text(st, 1, tenant, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, from);
	sqlite3_bind_int64(st, 3, v.width);
	if (each(st, series_row, &v) != 0) {
		json_decref(v.by_channel);
		json_decref(out);
		json_decref(list);
		return NULL;
	}
	json_object_foreach(v.by_channel, name, ch) json_array_append(list, ch);
	json_decref(v.by_channel);
	json_object_set_new(out, "bucketMinutes", json_integer(v.width));
	json_object_set_new(out, "channels", list);
	return out;
}

/* ---- latency percentiles from buckets ---- */

typedef struct {
	json_t *out;
	char channel[64], status[64];
	int64_t n[NS_READMODEL_LATENCY_BUCKETS], total;
} latency;

static double percentile(const latency *l, double q)
{
	int64_t want = (int64_t)((double)l->total * q + 0.999999), seen = 0;

	for (int b = 0; b < NS_READMODEL_LATENCY_BUCKETS; b++) {
		seen += l->n[b];
		if (seen >= want && l->n[b] > 0)
			return ns_readmodel_latency_upper(b);
	}
	return 0;
}

static void latency_emit(latency *l)
{
	json_t *o;

	if (l->total == 0)
		return;
	o = json_object();
	json_object_set_new(o, "channel", json_string(l->channel));
	json_object_set_new(o, "status", json_string(l->status));
	json_object_set_new(o, "count", json_integer(l->total));
	json_object_set_new(o, "p50Ms", json_real(percentile(l, 0.50)));
	json_object_set_new(o, "p95Ms", json_real(percentile(l, 0.95)));
	json_array_append_new(l->out, o);
	memset(l->n, 0, sizeof(l->n));
	l->total = 0;
}

static void latency_row(sqlite3_stmt *st, void *ctx)
{
	latency *l = ctx;
	int b = sqlite3_column_int(st, 2);

	if (strcmp(l->channel, col(st, 0)) || strcmp(l->status, col(st, 1))) {
		latency_emit(l);
		snprintf(l->channel, sizeof(l->channel), "%s", col(st, 0));
		snprintf(l->status, sizeof(l->status), "%s", col(st, 1));
	}
	if (b >= 0 && b < NS_READMODEL_LATENCY_BUCKETS) {
		l->n[b] += sqlite3_column_int64(st, 3);
		l->total += sqlite3_column_int64(st, 3);
	}
}

/* ---- anomalies and the projector ---- */

static void anomaly_row(sqlite3_stmt *st, void *ctx)
{
	json_t *o = json_object();

	json_object_set_new(o, "at", iso(sqlite3_column_int64(st, 0)));
	json_object_set_new(o, "externalId", json_string(col(st, 1)));
	json_object_set_new(o, "eventId", json_string(col(st, 2)));
	json_object_set_new(o, "outcome", json_string(col(st, 3)));
	json_object_set_new(o, "detail", json_string(col(st, 4)));
	json_array_append_new(ctx, o);
}

static void position_row(sqlite3_stmt *st, void *ctx)
{
	json_t *o = json_object();
	int64_t next = sqlite3_column_int64(st, 1), hw = sqlite3_column_int64(st, 2);
	int known = sqlite3_column_type(st, 2) != SQLITE_NULL;

	json_object_set_new(o, "partition", json_integer(sqlite3_column_int64(st, 0)));
	json_object_set_new(o, "position", json_integer(next));
	json_object_set_new(o, "highWatermark", known ? json_integer(hw) : json_null());
	json_object_set_new(o, "lag",
			    known ? json_integer(hw > next ? hw - next : 0) : json_null());
	json_object_set_new(o, "seenAt", known ? iso(sqlite3_column_int64(st, 3)) : json_null());
	json_array_append_new(ctx, o);
}

/* Bind tenant (and ?2 when arg2 >= 0) and collect st's rows into a new array. */
static json_t *rows(query_conn *c, query_stmt which, const char *tenant, int64_t arg2,
		    void (*row)(sqlite3_stmt *, void *))
{
	sqlite3_stmt *st = query_conn_stmt(c, which);
	json_t *out = json_array();

	sqlite3_bind_text(st, 1, tenant, -1, SQLITE_TRANSIENT);
	if (arg2 >= 0)
		sqlite3_bind_int64(st, 2, arg2);
	if (each(st, row, out) != 0) {
		json_decref(out);
		return NULL;
	}
	return out;
}

json_t *query_figures(query_conn *c, const char *tenant, const char *topic,
		      const query_fig_params *p, int64_t now_ms)
{
	int64_t now_min = now_ms / 60000, window_from = now_min - p->window_minutes + 1;
	json_t *o = json_object(), *by_channel = json_object(), *v;
	latency *lat = calloc(1, sizeof(*lat));
	sqlite3_stmt *st;
	int bad = !lat;

	json_object_set_new(o, "now", iso(now_ms));
	json_object_set_new(o, "windowMinutes", json_integer(p->window_minutes));
	json_object_set_new(o, "hours", json_integer(p->hours));
	bad |= json_object_set_new(o, "counts",
				   rows(c, QUERY_ST_FIG_COUNTS, tenant, -1, count_row)) != 0;
	v = volume_series(c, tenant, now_min - p->hours * 60 + 1, now_min);
	bad |= json_object_set_new(o, "volumes", v) != 0;
	st = query_conn_stmt(c, QUERY_ST_FIG_RATES);
	sqlite3_bind_text(st, 1, tenant, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, window_from);
	bad |= each(st, rate_row, by_channel) != 0;
	json_object_set_new(o, "rates", rate_list(by_channel));
	bad |= json_object_set_new(
		   o, "rateSeries",
		   rate_series(c, tenant, now_min - p->hours * 60 + 1, p->hours * 60)) != 0;
	if (lat) {
		lat->out = json_array();
		st = query_conn_stmt(c, QUERY_ST_FIG_LATENCIES);
		sqlite3_bind_text(st, 1, tenant, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 2, window_from);
		bad |= each(st, latency_row, lat) != 0;
		latency_emit(lat);
		json_object_set_new(o, "latency", lat->out);
	}
	bad |= json_object_set_new(
		   o, "anomalies",
		   rows(c, QUERY_ST_FIG_ANOMALIES, tenant, p->anomalies, anomaly_row)) != 0;
	bad |= json_object_set_new(o, "projector",
				   rows(c, QUERY_ST_FIG_POSITIONS, topic, -1, position_row)) != 0;
	free(lat);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}
