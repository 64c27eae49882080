/* db.c -- the read-only connection pool of query (see db.h), reopening its connections
 * when the file at the path is replaced (projector --rebuild renames a new file over it). */
#include "db.h"
#include "ns_log.h"
#include "ns_time.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

/* How often at most the path is stat()ed to notice a swapped file. */
#define SWAP_CHECK_MS 200

static const char *const sql_text[QUERY_ST_COUNT] = {
    [QUERY_ST_STATE] = NS_READMODEL_SQL_NOTIF,
    [QUERY_ST_EVENTS] = NS_READMODEL_SQL_EVENTS_PAGE,
    [QUERY_ST_CALLBACKS] = NS_READMODEL_SQL_CALLBACKS_PAGE,
    [QUERY_ST_FIG_COUNTS] = NS_READMODEL_SQL_FIG_COUNTS,
    [QUERY_ST_FIG_VOLUMES] = NS_READMODEL_SQL_FIG_VOLUMES,
    [QUERY_ST_FIG_RATES] = NS_READMODEL_SQL_FIG_RATES,
    [QUERY_ST_FIG_SERIES] = NS_READMODEL_SQL_FIG_SERIES,
    [QUERY_ST_FIG_LATENCIES] = NS_READMODEL_SQL_FIG_LATENCIES,
    [QUERY_ST_FIG_ANOMALIES] = NS_READMODEL_SQL_FIG_ANOMALIES,
    [QUERY_ST_FIG_POSITIONS] = NS_READMODEL_SQL_FIG_POSITIONS,
    [QUERY_ST_LIST] = "SELECT " NS_READMODEL_NOTIF_COLUMNS " FROM notifications"
		      " WHERE tenant = ?1 AND external_id > ?2 AND (?3 IS NULL OR channel = ?3)"
		      " AND (?4 IS NULL OR status = ?4) AND (?6 OR request_id <> '')"
		      " ORDER BY external_id LIMIT ?5",
    [QUERY_ST_OFFSET] = NS_READMODEL_SQL_OFFSET,
};

_Static_assert(QUERY_ST_COUNT <= 32, "query_conn.handed has a bit per statement");

/* Which file a path named: device and inode, both 0 when it did not exist. */
typedef struct {
	dev_t dev;
	ino_t ino;
} file_id;

struct query_conn {
	sqlite3 *db;
	sqlite3_stmt *st[QUERY_ST_COUNT];
	int in_use;
	unsigned handed; /* bit i: st[i] handed out since the last release, to be reset */
	file_id id;	 /* the file at the path just before this connection opened it */
};

struct query_db {
	char *path;
	int size;
	query_conn *conns;
	pthread_mutex_t mu;
	pthread_cond_t freed;
	file_id id;	     /* the file at the path when last looked (under mu) */
	int64_t next_check;  /* monotonic ms of the next look (under mu) */
	int mismatch_logged; /* the version mismatch has been logged (under mu) */
};

static file_id file_id_of(const char *path)
{
	struct stat st;
	file_id id = {0, 0};

	if (stat(path, &st) == 0) {
		id.dev = st.st_dev;
		id.ino = st.st_ino;
	}
	return id;
}

static int file_id_eq(file_id a, file_id b)
{
	return a.dev == b.dev && a.ino == b.ino;
}

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
	db->id = file_id_of(path);
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

/* Open c read-only with the version checked (ns_readmodel_open_ro). A file of another
 * version is logged as an error once until the next success. Returns 0 or -1 (c closed). */
static int conn_open(query_db *db, query_conn *c)
{
	char err[1024];
	int rc, mismatch;

	/* Looked up before opening: should the file be swapped in between, the connection
	 * counts as opened on the older file and is reopened once more, never the reverse. */
	c->id = file_id_of(db->path);
	rc = ns_readmodel_open_ro(db->path, &c->db, err, sizeof(err));
	for (int i = 0; i < QUERY_ST_COUNT && rc == NS_READMODEL_OK; i++) {
		if (sqlite3_prepare_v3(c->db, sql_text[i], -1, SQLITE_PREPARE_PERSISTENT, &c->st[i],
				       NULL) != SQLITE_OK) {
			snprintf(err, sizeof(err), "prepare %d: %s", i, sqlite3_errmsg(c->db));
			rc = NS_READMODEL_ERROR;
		}
	}
	mismatch = rc == NS_READMODEL_MISMATCH;
	pthread_mutex_lock(&db->mu);
	if (mismatch && !db->mismatch_logged)
		NS_ERROR("query.db_version", "path=%s err=\"%s\"", db->path, err);
	db->mismatch_logged = mismatch;
	pthread_mutex_unlock(&db->mu);
	if (rc != NS_READMODEL_OK) {
		NS_DEBUG("query.db_unavailable", "path=%s err=\"%s\"", db->path, err);
		conn_close(c);
		return -1;
	}
	return 0;
}

/* Under db->mu: at most every SWAP_CHECK_MS, look which file the path names now; when it
 * changed, close the idle connections opened on another file (those in use are closed when
 * released: their requests finish on the old file). */
static void check_swap(query_db *db)
{
	int64_t now = ns_time_mono_ms();
	file_id id;
	int closed = 0;

	if (now < db->next_check)
		return;
	db->next_check = now + SWAP_CHECK_MS;
	id = file_id_of(db->path);
	if (file_id_eq(id, db->id))
		return;
	for (int i = 0; i < db->size; i++) {
		query_conn *c = &db->conns[i];
		if (!c->in_use && c->db && !file_id_eq(c->id, id)) {
			conn_close(c);
			closed++;
		}
	}
	NS_LOG(db->id.ino ? NS_LOG_INFO : NS_LOG_DEBUG, "query.db_swapped",
	       "path=%s inode=%llu old_inode=%llu closed=%d", db->path, (unsigned long long)id.ino,
	       (unsigned long long)db->id.ino, closed);
	db->id = id;
}

int query_db_acquire(query_db *db, query_conn **out)
{
	query_conn *c = NULL;

	file_id cur;

	*out = NULL;
	pthread_mutex_lock(&db->mu);
	check_swap(db);
	for (;;) {
		for (int i = 0; i < db->size && !c; i++)
			if (!db->conns[i].in_use)
				c = &db->conns[i];
		if (c)
			break;
		pthread_cond_wait(&db->freed, &db->mu);
	}
	c->in_use = 1;
	cur = db->id;
	pthread_mutex_unlock(&db->mu);

	if (c->db && !file_id_eq(c->id, cur))
		conn_close(c); /* opened on a file that has been replaced since */
	if (!c->db && conn_open(db, c)) {
		query_db_release(db, c, 1);
		return QUERY_DB_UNAVAILABLE;
	}
	*out = c;
	return QUERY_DB_OK;
}

/* Under db->mu: c is free again, for a request waiting for one. */
static void give_back(query_db *db, query_conn *c)
{
	c->in_use = 0;
	pthread_cond_signal(&db->freed);
}

void query_db_release(query_db *db, query_conn *c, int broken)
{
	if (!c)
		return;
	/* only the statements this request used: the others are idle already */
	for (int i = 0; i < QUERY_ST_COUNT && c->handed; i++)
		if ((c->handed & (1u << i)) && c->st[i])
			sqlite3_reset(c->st[i]);
	c->handed = 0;
	pthread_mutex_lock(&db->mu);
	if (!broken && c->db && !file_id_eq(c->id, db->id))
		broken = 1; /* the file was replaced while this request ran on it */
	if (!broken)
		give_back(db, c);
	pthread_mutex_unlock(&db->mu);
	if (!broken)
		return;
	conn_close(c); /* outside the lock: closing can take a while */
	pthread_mutex_lock(&db->mu);
	give_back(db, c);
	pthread_mutex_unlock(&db->mu);
}

sqlite3_stmt *query_conn_stmt(query_conn *c, query_stmt which)
{
	sqlite3_stmt *st = c->st[which];

	c->handed |= 1u << which;
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
		*next = sqlite3_column_int64(st, NS_READMODEL_OFFSET_NEXT_OFFSET);
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
