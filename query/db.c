/* db.c -- the read-only connection pool of query (see db.h). */
#include "db.h"
#include "../projector/store_schema.h"
#include "ns_log.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static const char *const sql_text[QUERY_ST_COUNT] = {
    [QUERY_ST_STATE] = "SELECT external_id, channel, status, to_addr, body, provider_id,"
		       " reason, created_at, updated_at, events FROM notifications"
		       " WHERE external_id = ?1",
    [QUERY_ST_EVENTS] = "SELECT event_id, type, source, status, outcome, detail, occurred_at,"
			" received_at, partition, offset FROM events WHERE external_id = ?1"
			" ORDER BY partition, offset",
    [QUERY_ST_LIST] = "SELECT external_id, channel, status, to_addr, body, provider_id,"
		      " reason, created_at, updated_at, events FROM notifications"
		      " WHERE external_id > ?1 AND (?2 IS NULL OR channel = ?2)"
		      " AND (?3 IS NULL OR status = ?3) ORDER BY external_id LIMIT ?4",
    [QUERY_ST_OFFSET] = "SELECT next_offset FROM offsets WHERE topic = ?1 AND partition = ?2",
};

struct query_conn {
	sqlite3 *db;
	sqlite3_stmt *st[QUERY_ST_COUNT];
	int in_use;
};

struct query_db {
	char *path;
	int size;
	query_conn *conns;
	pthread_mutex_t mu;
	pthread_cond_t freed;
};

query_db *query_db_new(const char *path, int size)
{
	query_db *db = calloc(1, sizeof(*db));

	if (!db)
		return NULL;
	db->path = strdup(path);
	db->size = size > 0 ? size : 1;
	db->conns = calloc((size_t)db->size, sizeof(*db->conns));
	if (!db->path || !db->conns) {
		free(db->path);
		free(db->conns);
		free(db);
		return NULL;
	}
	pthread_mutex_init(&db->mu, NULL);
	pthread_cond_init(&db->freed, NULL);
	return db;
}

static void conn_close(query_conn *c)
{
	for (int i = 0; i < QUERY_ST_COUNT; i++) {
		sqlite3_finalize(c->st[i]);
		c->st[i] = NULL;
	}
	sqlite3_close(c->db);
	c->db = NULL;
}

void query_db_free(query_db *db)
{
	if (!db)
		return;
	for (int i = 0; i < db->size; i++)
		conn_close(&db->conns[i]);
	pthread_mutex_destroy(&db->mu);
	pthread_cond_destroy(&db->freed);
	free(db->conns);
	free(db->path);
	free(db);
}

/* Open c read-only and check that the schema is there. Returns 0 or -1 (c closed). */
static int conn_open(query_db *db, query_conn *c)
{
	int rc =
	    sqlite3_open_v2(db->path, &c->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);

	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(c->db, PROJ_BUSY_TIMEOUT_MS);
		/* Preparing fails while the projector has not created the tables yet. */
		for (int i = 0; i < QUERY_ST_COUNT && rc == SQLITE_OK; i++)
			rc = sqlite3_prepare_v3(c->db, sql_text[i], -1, SQLITE_PREPARE_PERSISTENT,
						&c->st[i], NULL);
	}
	if (rc != SQLITE_OK) {
		NS_DEBUG("query.db_unavailable", "path=%s err=\"%s\"", db->path,
			 c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
		conn_close(c);
		return -1;
	}
	return 0;
}

int query_db_acquire(query_db *db, query_conn **out)
{
	query_conn *c = NULL;

	*out = NULL;
	pthread_mutex_lock(&db->mu);
	for (;;) {
		for (int i = 0; i < db->size && !c; i++)
			if (!db->conns[i].in_use)
				c = &db->conns[i];
		if (c)
			break;
		pthread_cond_wait(&db->freed, &db->mu);
	}
	c->in_use = 1;
	pthread_mutex_unlock(&db->mu);

	if (!c->db && conn_open(db, c)) {
		query_db_release(db, c, 1);
		return QUERY_DB_UNAVAILABLE;
	}
	*out = c;
	return QUERY_DB_OK;
}

void query_db_release(query_db *db, query_conn *c, int broken)
{
	if (!c)
		return;
	for (int i = 0; i < QUERY_ST_COUNT; i++)
		if (c->st[i])
			sqlite3_reset(c->st[i]);
	if (broken)
		conn_close(c);
	pthread_mutex_lock(&db->mu);
	c->in_use = 0;
	pthread_cond_signal(&db->freed);
	pthread_mutex_unlock(&db->mu);
}

sqlite3_stmt *query_conn_stmt(query_conn *c, query_stmt which)
{
	sqlite3_stmt *st = c->st[which];

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

int query_conn_offset(query_conn *c, const char *topic, int32_t partition, int64_t *next)
{
	sqlite3_stmt *st = query_conn_stmt(c, QUERY_ST_OFFSET);
	int rc, ret = QUERY_DB_ERROR;

	sqlite3_bind_text(st, 1, topic, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, partition);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*next = sqlite3_column_int64(st, 0);
		ret = QUERY_DB_OK;
	} else if (rc == SQLITE_DONE) {
		ret = QUERY_DB_NOT_FOUND;
	}
	/* Reset now: an open read transaction would pin an old snapshot while we poll. */
	sqlite3_reset(st);
	return ret;
}

int query_conn_errored(query_conn *c)
{
	int rc = sqlite3_errcode(c->db);
	return rc != SQLITE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE;
}

int query_db_ready(query_db *db)
{
	query_conn *c = NULL;

	if (query_db_acquire(db, &c) != QUERY_DB_OK)
		return 0;
	query_db_release(db, c, 0);
	return 1;
}
