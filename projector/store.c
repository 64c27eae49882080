/* store.c -- the projector's SQLite store (see store.h): one read-write connection to the
 * read model (ns_readmodel.h), its prepared statements kept for its life. */
#include "store.h"
#include "ns_log.h"
#include "ns_readmodel.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

enum {
	ST_BEGIN = 0,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_LOAD,
	ST_SAVE,
	ST_SEEN,
	ST_INSERT_EVENT,
	ST_GET_OFFSET,
	ST_SET_OFFSET,
	ST_FIG_COUNT,
	ST_FIG_MINUTE,
	ST_FIG_LATENCY,
	ST_ANOMALY,
	ST_LAG,
	ST_COUNT
};

static const char *const sql_text[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_LOAD] = NS_READMODEL_SQL_NOTIF,
    [ST_SAVE] = "INSERT OR REPLACE INTO notifications (" NS_READMODEL_NOTIF_COLUMNS
		") VALUES (" NS_READMODEL_NOTIF_PARAMS ")",
    [ST_SEEN] = NS_READMODEL_SQL_SEEN,
    [ST_INSERT_EVENT] = "INSERT INTO events (" NS_READMODEL_EVENT_COLUMNS
			") VALUES (" NS_READMODEL_EVENT_PARAMS ")",
    [ST_GET_OFFSET] = NS_READMODEL_SQL_OFFSET,
    [ST_SET_OFFSET] = "INSERT OR REPLACE INTO offsets (" NS_READMODEL_OFFSET_COLUMNS
		      ") VALUES (" NS_READMODEL_OFFSET_PARAMS ")",
    [ST_FIG_COUNT] = NS_READMODEL_SQL_FIG_COUNT,
    [ST_FIG_MINUTE] = NS_READMODEL_SQL_FIG_MINUTE,
    [ST_FIG_LATENCY] = NS_READMODEL_SQL_FIG_LATENCY,
    [ST_ANOMALY] = NS_READMODEL_SQL_ANOMALY,
    [ST_LAG] = NS_READMODEL_SQL_LAG,
};

/* Parameter number of column c in an INSERT of its table's column list. */
#define PARAM(c) ((c) + 1)

struct proj_store {
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
	int in_tx;
	proj_wal_fn *wal_fn; /* proj_store_wal_hook */
	void *wal_opaque;
};

/* Run one prepared statement that returns no rows; resets it. Returns 0 or -1. */
static int step_done(proj_store *s, int which)
{
	sqlite3_stmt *st = s->st[which];
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE) {
		NS_ERROR("store.step", "stmt=%d rc=%d msg=\"%s\"", which, rc,
			 sqlite3_errmsg(s->db));
		return -1;
	}
	return 0;
}

proj_store *proj_store_open(const char *path, char *err, size_t errlen)
{
	proj_store *s = calloc(1, sizeof(*s));

	if (!s) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (ns_readmodel_open_rw(path, &s->db, err, errlen) != NS_READMODEL_OK)
		goto fail;
	for (int i = 0; i < ST_COUNT; i++) {
		int rc = sqlite3_prepare_v3(s->db, sql_text[i], -1, SQLITE_PREPARE_PERSISTENT,
					    &s->st[i], NULL);
		if (rc != SQLITE_OK) {
			snprintf(err, errlen, "prepare %d: %s", i, sqlite3_errmsg(s->db));
			goto fail;
		}
	}
	return s;
fail:
	proj_store_close(s);
	return NULL;
}

static int wal_trampoline(void *opaque, sqlite3 *db, const char *name, int frames)
{
	proj_store *s = opaque;

	if (s->wal_fn(s->wal_opaque, frames))
		(void)sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	return SQLITE_OK;
}

void proj_store_wal_hook(proj_store *s, proj_wal_fn *fn, void *opaque)
{
	s->wal_fn = fn;
	s->wal_opaque = opaque;
	if (fn)
		sqlite3_wal_hook(s->db, wal_trampoline, s);
	else
		sqlite3_wal_autocheckpoint(s->db, NS_READMODEL_CHECKPOINT_FRAMES);
}

void proj_store_close(proj_store *s)
{
	if (!s)
		return;
	if (s->in_tx)
		proj_store_rollback(s);
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_close(s->db);
	free(s);
}

int proj_store_begin(proj_store *s)
{
	if (step_done(s, ST_BEGIN))
		return -1;
	s->in_tx = 1;
	return 0;
}

int proj_store_commit(proj_store *s)
{
	if (step_done(s, ST_COMMIT))
		return -1;
	s->in_tx = 0;
	return 0;
}

void proj_store_rollback(proj_store *s)
{
	if (sqlite3_get_autocommit(s->db) == 0)
		(void)step_done(s, ST_ROLLBACK);
	s->in_tx = 0;
}

/* Copy column i of st into dst (cap bytes with the NUL), refusing nothing: the store wrote
 * it from bounded fields. */
static void col_text(sqlite3_stmt *st, int i, char *dst, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	size_t n = t ? strlen((const char *)t) : 0;

	if (n >= cap)
		n = cap - 1;
	if (n)
		memcpy(dst, t, n);
	dst[n] = '\0';
}

int proj_store_load_state(proj_store *s, const char *tenant, const char *external_id, ns_state *st,
			  int64_t *nid)
{
	sqlite3_stmt *q = s->st[ST_LOAD];
	int rc, ret = -1;

	memset(st, 0, sizeof(*st));
	*nid = -1;
	snprintf(st->tenant, sizeof(st->tenant), "%s", tenant);
	snprintf(st->external_id, sizeof(st->external_id), "%s", external_id);
	sqlite3_bind_text(q, 1, tenant, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, external_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		st->exists = 1;
		col_text(q, NS_READMODEL_NOTIF_CHANNEL, st->channel, sizeof(st->channel));
		col_text(q, NS_READMODEL_NOTIF_STATUS, st->status, sizeof(st->status));
		col_text(q, NS_READMODEL_NOTIF_TO_ADDR, st->to, sizeof(st->to));
		col_text(q, NS_READMODEL_NOTIF_BODY, st->body, sizeof(st->body));
		col_text(q, NS_READMODEL_NOTIF_REQUEST_ID, st->request_id, sizeof(st->request_id));
		col_text(q, NS_READMODEL_NOTIF_PROVIDER_ID, st->provider_id,
			 sizeof(st->provider_id));
		col_text(q, NS_READMODEL_NOTIF_REASON, st->reason, sizeof(st->reason));
		col_text(q, NS_READMODEL_NOTIF_CALLBACK_URL, st->callback_url,
			 sizeof(st->callback_url));
		st->created_at = sqlite3_column_int64(q, NS_READMODEL_NOTIF_CREATED_AT);
		st->updated_at = sqlite3_column_int64(q, NS_READMODEL_NOTIF_UPDATED_AT);
		st->events = (long)sqlite3_column_int64(q, NS_READMODEL_NOTIF_EVENTS);
		st->requested = st->request_id[0] != '\0';
		*nid = sqlite3_column_int64(q, NS_READMODEL_NOTIF_NID);
		ret = 1;
	} else if (rc == SQLITE_DONE) {
		ret = 0;
	} else {
		NS_ERROR("store.load", "rc=%d msg=\"%s\"", rc, sqlite3_errmsg(s->db));
	}
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	return ret;
}

int proj_store_save_state(proj_store *s, const ns_state *st, int64_t nid, int32_t partition,
			  int64_t offset)
{
	sqlite3_stmt *q = s->st[ST_SAVE];

	sqlite3_bind_text(q, PARAM(NS_READMODEL_NOTIF_TENANT), st->tenant, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, PARAM(NS_READMODEL_NOTIF_EXTERNAL_ID), st->external_id, -1,
			  SQLITE_STATIC);
	sqlite3_bind_text(q, PARAM(NS_READMODEL_NOTIF_CHANNEL), st->channel, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, PARAM(NS_READMODEL_NOTIF_STATUS), st->status, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, PARAM(NS_READMODEL_NOTIF_TO_ADDR), st->to, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, PARAM(NS_READMODEL_NOTIF_BODY), st->body, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, PARAM(NS_READMODEL_NOTIF_REQUEST_ID), st->request_id, -1,
			  SQLITE_STATIC);
	sqlite3_bind_text(q, PARAM(NS_READMODEL_NOTIF_PROVIDER_ID), st->provider_id, -1,
			  SQLITE_STATIC);
	sqlite3_bind_text(q, PARAM(NS_READMODEL_NOTIF_REASON), st->reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, PARAM(NS_READMODEL_NOTIF_CREATED_AT), st->created_at);
	sqlite3_bind_int64(q, PARAM(NS_READMODEL_NOTIF_UPDATED_AT), st->updated_at);
	sqlite3_bind_int64(q, PARAM(NS_READMODEL_NOTIF_EVENTS), st->events);
	sqlite3_bind_int64(q, PARAM(NS_READMODEL_NOTIF_LAST_PARTITION), partition);
	sqlite3_bind_int64(q, PARAM(NS_READMODEL_NOTIF_LAST_OFFSET), offset);
	sqlite3_bind_text(q, PARAM(NS_READMODEL_NOTIF_CALLBACK_URL), st->callback_url, -1,
			  SQLITE_STATIC);
	sqlite3_bind_int64(q, PARAM(NS_READMODEL_NOTIF_NID), nid);
	return step_done(s, ST_SAVE);
}

int proj_store_event_seen(proj_store *s, int64_t nid, const char *event_id)
{
	sqlite3_stmt *q = s->st[ST_SEEN];
	int rc, ret = -1;

	sqlite3_bind_int64(q, 1, nid);
	sqlite3_bind_text(q, 2, event_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		ret = 1;
	else if (rc == SQLITE_DONE)
		ret = 0;
	else
		NS_ERROR("store.seen", "rc=%d msg=\"%s\"", rc, sqlite3_errmsg(s->db));
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	return ret;
}

int proj_store_insert_event(proj_store *s, const proj_event_row *r)
{
	sqlite3_stmt *q = s->st[ST_INSERT_EVENT];

	sqlite3_bind_int64(q, PARAM(NS_READMODEL_EVENT_NID), r->nid);
	sqlite3_bind_text(q, PARAM(NS_READMODEL_EVENT_EVENT_ID), r->event_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, PARAM(NS_READMODEL_EVENT_TYPE), r->type, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, PARAM(NS_READMODEL_EVENT_SOURCE), r->source, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, PARAM(NS_READMODEL_EVENT_STATUS), r->status, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, PARAM(NS_READMODEL_EVENT_OUTCOME), r->outcome, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, PARAM(NS_READMODEL_EVENT_DETAIL), r->detail, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, PARAM(NS_READMODEL_EVENT_OCCURRED_AT), r->occurred_at);
	sqlite3_bind_int64(q, PARAM(NS_READMODEL_EVENT_RECEIVED_AT), r->received_at);
	sqlite3_bind_int64(q, PARAM(NS_READMODEL_EVENT_PARTITION), r->partition);
	sqlite3_bind_int64(q, PARAM(NS_READMODEL_EVENT_OFFSET), r->offset);
	return step_done(s, ST_INSERT_EVENT);
}

int proj_store_get_offset(proj_store *s, const char *topic, int32_t partition, int64_t *next)
{
	sqlite3_stmt *q = s->st[ST_GET_OFFSET];
	int rc, ret = -1;

	sqlite3_bind_text(q, 1, topic, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, partition);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		*next = sqlite3_column_int64(q, NS_READMODEL_OFFSET_NEXT_OFFSET);
		ret = 1;
	} else if (rc == SQLITE_DONE) {
		ret = 0;
	} else {
		NS_ERROR("store.get_offset", "rc=%d msg=\"%s\"", rc, sqlite3_errmsg(s->db));
	}
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	return ret;
}

int proj_store_set_offset(proj_store *s, const char *topic, int32_t partition, int64_t next)
{
	sqlite3_stmt *q = s->st[ST_SET_OFFSET];

	sqlite3_bind_text(q, PARAM(NS_READMODEL_OFFSET_TOPIC), topic, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, PARAM(NS_READMODEL_OFFSET_PARTITION), partition);
	sqlite3_bind_int64(q, PARAM(NS_READMODEL_OFFSET_NEXT_OFFSET), next);
	return step_done(s, ST_SET_OFFSET);
}

/* ---- figures ---- */

int proj_store_fig_count(proj_store *s, const char *tenant, const char *channel, const char *status,
			 int64_t delta)
{
	sqlite3_stmt *q = s->st[ST_FIG_COUNT];

	sqlite3_bind_text(q, 1, tenant, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, channel, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, status, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, delta);
	return step_done(s, ST_FIG_COUNT);
}

int proj_store_fig_minute(proj_store *s, const char *tenant, int64_t minute, const char *channel,
			  const char *kind, int64_t n)
{
	sqlite3_stmt *q = s->st[ST_FIG_MINUTE];

	sqlite3_bind_text(q, 1, tenant, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, minute);
	sqlite3_bind_text(q, 3, channel, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 5, n);
	return step_done(s, ST_FIG_MINUTE);
}

int proj_store_fig_latency(proj_store *s, const char *tenant, int64_t minute, const char *channel,
			   const char *status, int bucket, int64_t n)
{
	sqlite3_stmt *q = s->st[ST_FIG_LATENCY];

	sqlite3_bind_text(q, 1, tenant, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, minute);
	sqlite3_bind_text(q, 3, channel, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, status, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 5, bucket);
	sqlite3_bind_int64(q, 6, n);
	return step_done(s, ST_FIG_LATENCY);
}

int proj_store_insert_anomaly(proj_store *s, const proj_event_row *row)
{
	sqlite3_stmt *q = s->st[ST_ANOMALY];

	sqlite3_bind_text(q, 1, row->tenant, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, row->received_at);
	sqlite3_bind_text(q, 3, row->external_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, row->event_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 5, row->outcome, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 6, row->detail, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 7, row->partition);
	sqlite3_bind_int64(q, 8, row->offset);
	return step_done(s, ST_ANOMALY);
}

int proj_store_set_lag(proj_store *s, const char *topic, const int64_t *hw, const int *known, int n,
		       int64_t now_ms)
{
	int rc = 0;

	if (proj_store_begin(s))
		return -1;
	for (int p = 0; p < n && rc == 0; p++) {
		sqlite3_stmt *q = s->st[ST_LAG];
		if (!known[p])
			continue;
		sqlite3_bind_text(q, 1, topic, -1, SQLITE_STATIC);
		sqlite3_bind_int(q, 2, p);
		sqlite3_bind_int64(q, 3, hw[p]);
		sqlite3_bind_int64(q, 4, now_ms);
		rc = step_done(s, ST_LAG);
	}
	if (rc == 0)
		return proj_store_commit(s);
	proj_store_rollback(s);
	return -1;
}
