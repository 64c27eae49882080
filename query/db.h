/* db.h -- query's read-only access to the SQLite read model (ns_readmodel.h).
 *
 * A fixed pool of read-only connections (ns_readmodel_open_ro: SQLITE_OPEN_READONLY, WAL,
 * version checked), one per concurrently served request, handed out under a mutex.
 * Connections open lazily: the database may not exist yet when query starts (the projector
 * creates it), so a lookup before that fails with QUERY_DB_UNAVAILABLE and is retried on
 * the next request; so does one on a file of another schema version (logged as an error).
 * Prepared statements are kept per connection. Never writes. Thread-safe: handlers call it
 * from worker threads.
 *
 * The file may be replaced under the same path (projector --rebuild renames a rebuilt file
 * over it). At most every 200 ms an acquire stat()s the path; when its device/inode
 * changed, idle connections opened on the old file are closed, and those in use are closed
 * when released (their request finishes on the old file); all reopen on the new one at
 * their next use. */
#ifndef QUERY_DB_H
#define QUERY_DB_H

#include "ns_readmodel.h"

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#define QUERY_DB_OK	     0
#define QUERY_DB_NOT_FOUND   1
#define QUERY_DB_UNAVAILABLE -1 /* no database (yet), or schema missing */
#define QUERY_DB_ERROR	     -2

typedef struct query_db query_db;
typedef struct query_conn query_conn;

/* Statements each connection prepares on first use. Result columns are read by the
 * column enums of ns_readmodel.h (ns_readmodel_notif_col, ns_readmodel_event_col,
 * ns_readmodel_offset_col). */
typedef enum {
	QUERY_ST_STATE = 0,  /* notifications columns; ?1 tenant, ?2 external_id */
	QUERY_ST_EVENTS,     /* events columns; ?1 tenant, ?2 external_id, after (?3 partition,
				?4 offset), ?5 limit, ordered by (partition, offset) */
	QUERY_ST_LIST,	     /* notifications columns; ?1 tenant, ?2 after id, ?3 channel or
				NULL, ?4 status or NULL, ?5 limit, ?6 orphans too (0/1) */
	QUERY_ST_OFFSET,     /* offsets columns; ?1 topic, ?2 partition */
	QUERY_ST_CALLBACKS,  /* as QUERY_ST_EVENTS, callback attempts only */
	QUERY_ST_FIG_COUNTS, /* the figures: ns_readmodel.h NS_READMODEL_SQL_FIG_* */
	QUERY_ST_FIG_VOLUMES,
	QUERY_ST_FIG_RATES,
	QUERY_ST_FIG_SERIES,
	QUERY_ST_FIG_LATENCIES,
	QUERY_ST_FIG_ANOMALIES,
	QUERY_ST_FIG_POSITIONS,
	QUERY_ST_COUNT
} query_stmt;

/* A pool of `size` connections to path. Nothing is opened yet. Returns NULL when out of
 * memory. */
query_db *query_db_new(const char *path, int size);

/* Close every connection and free. No connection may be checked out. NULL is a no-op. */
void query_db_free(query_db *db);

/* Check out a connection (blocking while all are in use), opening it when needed (also
 * reopening it when the file at the path was replaced).
 * Returns QUERY_DB_OK with *c set, or QUERY_DB_UNAVAILABLE when the database cannot be
 * opened, lacks the schema or carries another schema version (*c NULL). Give it back with
 * query_db_release. */
int query_db_acquire(query_db *db, query_conn **c);

/* Return a checked-out connection. broken: close it (it is reopened on next use). */
void query_db_release(query_db *db, query_conn *c, int broken);

/* The prepared statement of c, reset and with bindings cleared, or NULL on error. The
 * caller binds, steps, and leaves it (the next query_conn_stmt resets it). */
sqlite3_stmt *query_conn_stmt(query_conn *c, query_stmt which);

/* Stored next offset of (topic, partition): QUERY_DB_OK with *next, QUERY_DB_NOT_FOUND,
 * or QUERY_DB_ERROR. */
int query_conn_offset(query_conn *c, const char *topic, int32_t partition, int64_t *next);

/* Non-zero when the last statement on c failed with a database error (not "no row"):
 * release it as broken so that it is reopened. */
int query_conn_errored(query_conn *c);

/* Non-zero when the database can be opened and has the schema (readiness). */
int query_db_ready(query_db *db);

#endif
