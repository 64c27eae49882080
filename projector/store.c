/* store.c -- the projector's SQLite store (see store.h): one connection, prepared
 * statements kept for its life, the schema of store_schema.h, and the canonical dump. */
#include "store.h"
#include "ns_log.h"
#include "store_schema.h"

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
	ST_COUNT
};

static const char *const sql_text[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_LOAD] = "SELECT channel, status, to_addr, body, request_id, provider_id, reason,"
		" created_at, updated_at, events FROM notifications WHERE external_id = ?1",
    [ST_SAVE] = "INSERT OR REPLACE INTO notifications (external_id, channel, status, to_addr,"
		" body, request_id, provider_id, reason, created_at, updated_at, events,"
		" last_partition, last_offset) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)",
    [ST_SEEN] = "SELECT 1 FROM events WHERE external_id = ?1 AND event_id = ?2 LIMIT 1",
    [ST_INSERT_EVENT] = "INSERT INTO events (external_id, event_id, type, source, status,"
			" outcome, detail, occurred_at, received_at, partition, offset)"
			" VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)",
    [ST_GET_OFFSET] = "SELECT next_offset FROM offsets WHERE topic = ?1 AND partition = ?2",
    [ST_SET_OFFSET] = "INSERT OR REPLACE INTO offsets (topic, partition, next_offset)"
		      " VALUES (?1, ?2, ?3)",
};

struct proj_store {
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
	int in_tx;
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
	char *emsg = NULL;
	int rc;

	if (!s) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	rc = sqlite3_open_v2(
	    path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "open %s: %s", path,
			 s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_busy_timeout(s->db, PROJ_BUSY_TIMEOUT_MS);
	rc = sqlite3_exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL,
			  &emsg);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(s->db, PROJ_SCHEMA_SQL, NULL, NULL, &emsg);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "init %s: %s", path, emsg ? emsg : sqlite3_errstr(rc));
		goto fail;
	}
	for (int i = 0; i < ST_COUNT; i++) {
		rc = sqlite3_prepare_v3(s->db, sql_text[i], -1, SQLITE_PREPARE_PERSISTENT,
					&s->st[i], NULL);
		if (rc != SQLITE_OK) {
			snprintf(err, errlen, "prepare %d: %s", i, sqlite3_errmsg(s->db));
			goto fail;
		}
	}
	sqlite3_free(emsg);
	return s;
fail:
	sqlite3_free(emsg);
	proj_store_close(s);
	return NULL;
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

int proj_store_load_state(proj_store *s, const char *external_id, ns_state *st)
{
	sqlite3_stmt *q = s->st[ST_LOAD];
	int rc, ret = -1;

	memset(st, 0, sizeof(*st));
	snprintf(st->external_id, sizeof(st->external_id), "%s", external_id);
	sqlite3_bind_text(q, 1, external_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		st->exists = 1;
		col_text(q, 0, st->channel, sizeof(st->channel));
		col_text(q, 1, st->status, sizeof(st->status));
		col_text(q, 2, st->to, sizeof(st->to));
		col_text(q, 3, st->body, sizeof(st->body));
		col_text(q, 4, st->request_id, sizeof(st->request_id));
		col_text(q, 5, st->provider_id, sizeof(st->provider_id));
		col_text(q, 6, st->reason, sizeof(st->reason));
		st->created_at = sqlite3_column_int64(q, 7);
		st->updated_at = sqlite3_column_int64(q, 8);
		st->events = (long)sqlite3_column_int64(q, 9);
		st->requested = st->request_id[0] != '\0';
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

int proj_store_save_state(proj_store *s, const ns_state *st, int32_t partition, int64_t offset)
{
	sqlite3_stmt *q = s->st[ST_SAVE];

	sqlite3_bind_text(q, 1, st->external_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, st->channel, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, st->status, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, st->to, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 5, st->body, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 6, st->request_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 7, st->provider_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 8, st->reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 9, st->created_at);
	sqlite3_bind_int64(q, 10, st->updated_at);
	sqlite3_bind_int64(q, 11, st->events);
	sqlite3_bind_int64(q, 12, partition);
	sqlite3_bind_int64(q, 13, offset);
	return step_done(s, ST_SAVE);
}

int proj_store_event_seen(proj_store *s, const char *external_id, const char *event_id)
{
	sqlite3_stmt *q = s->st[ST_SEEN];
	int rc, ret = -1;

	sqlite3_bind_text(q, 1, external_id, -1, SQLITE_STATIC);
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

	sqlite3_bind_text(q, 1, r->external_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, r->event_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, r->type, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, r->source, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 5, r->status, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 6, r->outcome, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 7, r->detail, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 8, r->occurred_at);
	sqlite3_bind_int64(q, 9, r->received_at);
	sqlite3_bind_int64(q, 10, r->partition);
	sqlite3_bind_int64(q, 11, r->offset);
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
		*next = sqlite3_column_int64(q, 0);
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

	sqlite3_bind_text(q, 1, topic, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, partition);
	sqlite3_bind_int64(q, 3, next);
	return step_done(s, ST_SET_OFFSET);
}

/* Print one value: integers as numbers, text with \t \n \r \\ escaped, NULL as \N. */
static void dump_value(FILE *out, sqlite3_stmt *q, int i)
{
	const unsigned char *t;

	switch (sqlite3_column_type(q, i)) {
	case SQLITE_INTEGER:
		fprintf(out, "%lld", (long long)sqlite3_column_int64(q, i));
		return;
	case SQLITE_NULL:
		fputs("\\N", out);
		return;
	default:
		break;
	}
	t = sqlite3_column_text(q, i);
	for (; t && *t; t++) {
		if (*t == '\t')
			fputs("\\t", out);
		else if (*t == '\n')
			fputs("\\n", out);
		else if (*t == '\r')
			fputs("\\r", out);
		else if (*t == '\\')
			fputs("\\\\", out);
		else
			fputc(*t, out);
	}
}

int proj_store_dump(const char *path, FILE *out, char *err, size_t errlen)
{
	static const char *const queries[] = {
	    "SELECT 'notification', * FROM notifications ORDER BY external_id",
	    "SELECT 'event', * FROM events ORDER BY partition, offset",
	    "SELECT 'offset', * FROM offsets ORDER BY topic, partition",
	};
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	int ret = -1, rc;

	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "open %s: %s", path, db ? sqlite3_errmsg(db) : "failed");
		goto out;
	}
	sqlite3_busy_timeout(db, PROJ_BUSY_TIMEOUT_MS);
	for (size_t k = 0; k < sizeof(queries) / sizeof(queries[0]); k++) {
		rc = sqlite3_prepare_v2(db, queries[k], -1, &q, NULL);
		if (rc != SQLITE_OK) {
			snprintf(err, errlen, "dump: %s", sqlite3_errmsg(db));
			goto out;
		}
		for (;;) {
			int n = sqlite3_column_count(q);
			rc = sqlite3_step(q);
			if (rc != SQLITE_ROW)
				break;
			for (int i = 0; i < n; i++) {
				if (i)
					fputc('\t', out);
				dump_value(out, q, i);
			}
			fputc('\n', out);
		}
		if (rc != SQLITE_DONE) {
			snprintf(err, errlen, "dump: %s", sqlite3_errmsg(db));
			goto out;
		}
		sqlite3_finalize(q);
		q = NULL;
	}
	ret = 0;
out:
	sqlite3_finalize(q);
	sqlite3_close(db);
	return ret;
}
