/* db.h -- query's read-only access to the projector's SQLite read model.
 *
 * A fixed pool of read-only connections (SQLITE_OPEN_READONLY, WAL), one per concurrently
 * served request, handed out under a mutex. Connections open lazily: the database may not
 * exist yet when query starts (the projector creates it), so a lookup before that fails
 * with QUERY_DB_UNAVAILABLE and is retried on the next request. Prepared statements are
 * kept per connection. Never writes. Thread-safe: handlers call it from worker threads.
 *
 * The file may be replaced under the same path (projector --rebuild renames a rebuilt file
 * over it). At most every 200 ms an acquire stat()s the path; when its device/inode
 * changed, idle connections opened on the old file are closed, and those in use are closed
 * when released (their request finishes on the old file); all reopen on the new one at
 * their next use. */
#ifndef QUERY_DB_H
#define QUERY_DB_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

#define QUERY_DB_OK	     0
#define QUERY_DB_NOT_FOUND   1
#define QUERY_DB_UNAVAILABLE -1 /* no database (yet), or schema missing */
#define QUERY_DB_ERROR	     -2

typedef struct query_db query_db;
typedef struct query_conn query_conn;

/* Statements each connection prepares on first use. */
typedef enum {
	QUERY_ST_STATE = 0, /* ?1 external_id */
	QUERY_ST_EVENTS,    /* ?1 external_id, ordered by (partition, offset) */
	QUERY_ST_LIST,	    /* ?1 after id, ?2 channel or NULL, ?3 status or NULL, ?4 limit */
	QUERY_ST_OFFSET,    /* ?1 topic, ?2 partition */
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
 * opened or lacks the schema (*c NULL). Give it back with query_db_release. */
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
