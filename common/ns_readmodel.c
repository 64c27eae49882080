/* ns_readmodel.c -- the SQLite read model (see ns_readmodel.h): schema and version,
 * read-write and read-only opens, checkpoint, atomic swap, removal, canonical dump. */
#include "ns_readmodel.h"
#include "ns_log.h"
#include "ns_sqlmem.h"
#include "ns_walbuf.h"

#include <errno.h>
#include <pthread.h>
#include <math.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RM_PATH_MAX 4096
#define RM_STR_(x)  #x
#define RM_STR(x)   RM_STR_(x)

/* The tables and indexes of NS_READMODEL_VERSION, columns in list order. Run once, by the
 * writer, on a file without tables. */
static const char schema_sql[] =
    "CREATE TABLE notifications ("
    " tenant TEXT NOT NULL,"
    " external_id TEXT NOT NULL,"
    " channel TEXT NOT NULL DEFAULT '',"
    " status TEXT NOT NULL DEFAULT '',"
    " to_addr TEXT NOT NULL DEFAULT '',"
    " body TEXT NOT NULL DEFAULT '',"
    " request_id TEXT NOT NULL DEFAULT '',"
    " provider_id TEXT NOT NULL DEFAULT '',"
    " reason TEXT NOT NULL DEFAULT '',"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL,"
    " events INTEGER NOT NULL,"
    " last_partition INTEGER NOT NULL,"
    " last_offset INTEGER NOT NULL,"
    " callback_url TEXT NOT NULL DEFAULT '',"
    " nid INTEGER NOT NULL,"
    " PRIMARY KEY (tenant, external_id)"
    ") WITHOUT ROWID;"
    "CREATE INDEX notifications_channel_status"
    " ON notifications(tenant, channel, status, external_id);"
    "CREATE TABLE events ("
    " nid INTEGER NOT NULL,"
    " event_id TEXT NOT NULL,"
    " type TEXT NOT NULL,"
    " source TEXT NOT NULL,"
    " status TEXT NOT NULL,"
    " outcome TEXT NOT NULL,"
    " detail TEXT NOT NULL,"
    " occurred_at INTEGER NOT NULL,"
    " received_at INTEGER NOT NULL,"
    " partition INTEGER NOT NULL,"
    " offset INTEGER NOT NULL,"
    " PRIMARY KEY (nid, partition, offset)"
    ") WITHOUT ROWID;"
    /* the fold's duplicate check: one probe, whatever the history */
    "CREATE INDEX events_by_event_id ON events(nid, event_id);"
    "CREATE TABLE offsets ("
    " topic TEXT NOT NULL,"
    " partition INTEGER NOT NULL,"
    " next_offset INTEGER NOT NULL,"
    " PRIMARY KEY (topic, partition)"
    ") WITHOUT ROWID;"
    /* the figures, kept as events are folded (ns_readmodel.h) */
    "CREATE TABLE fig_counts ("
    " tenant TEXT NOT NULL, channel TEXT NOT NULL, status TEXT NOT NULL,"
    " n INTEGER NOT NULL,"
    " PRIMARY KEY (tenant, channel, status)"
    ") WITHOUT ROWID;"
    "CREATE TABLE fig_minutes ("
    " tenant TEXT NOT NULL, minute INTEGER NOT NULL,"
    " channel TEXT NOT NULL, kind TEXT NOT NULL, n INTEGER NOT NULL,"
    " PRIMARY KEY (tenant, minute, channel, kind)"
    ") WITHOUT ROWID;"
    "CREATE TABLE fig_latency ("
    " tenant TEXT NOT NULL, minute INTEGER NOT NULL,"
    " channel TEXT NOT NULL, status TEXT NOT NULL, bucket INTEGER NOT NULL,"
    " n INTEGER NOT NULL,"
    " PRIMARY KEY (tenant, minute, channel, status, bucket)"
    ") WITHOUT ROWID;"
    "CREATE TABLE anomalies ("
    " tenant TEXT NOT NULL, at INTEGER NOT NULL, external_id TEXT NOT NULL,"
    " event_id TEXT NOT NULL, outcome TEXT NOT NULL, detail TEXT NOT NULL,"
    " partition INTEGER NOT NULL, offset INTEGER NOT NULL,"
    " PRIMARY KEY (partition, offset)"
    ") WITHOUT ROWID;"
    "CREATE INDEX anomalies_recent ON anomalies(tenant, at);"
    "CREATE TABLE lag ("
    " topic TEXT NOT NULL, partition INTEGER NOT NULL,"
    " high_watermark INTEGER NOT NULL, at INTEGER NOT NULL,"
    " PRIMARY KEY (topic, partition)"
    ") WITHOUT ROWID;";

const char *const ns_readmodel_notif_cols[NS_READMODEL_NOTIF_NCOLS] = {
    [NS_READMODEL_NOTIF_TENANT] = "tenant",
    [NS_READMODEL_NOTIF_EXTERNAL_ID] = "external_id",
    [NS_READMODEL_NOTIF_CHANNEL] = "channel",
    [NS_READMODEL_NOTIF_STATUS] = "status",
    [NS_READMODEL_NOTIF_TO_ADDR] = "to_addr",
    [NS_READMODEL_NOTIF_BODY] = "body",
    [NS_READMODEL_NOTIF_REQUEST_ID] = "request_id",
    [NS_READMODEL_NOTIF_PROVIDER_ID] = "provider_id",
    [NS_READMODEL_NOTIF_REASON] = "reason",
    [NS_READMODEL_NOTIF_CREATED_AT] = "created_at",
    [NS_READMODEL_NOTIF_UPDATED_AT] = "updated_at",
    [NS_READMODEL_NOTIF_EVENTS] = "events",
    [NS_READMODEL_NOTIF_LAST_PARTITION] = "last_partition",
    [NS_READMODEL_NOTIF_LAST_OFFSET] = "last_offset",
    [NS_READMODEL_NOTIF_CALLBACK_URL] = "callback_url",
    [NS_READMODEL_NOTIF_NID] = "nid",
};

const char *const ns_readmodel_event_cols[NS_READMODEL_EVENT_NCOLS] = {
    [NS_READMODEL_EVENT_NID] = "nid",
    [NS_READMODEL_EVENT_EVENT_ID] = "event_id",
    [NS_READMODEL_EVENT_TYPE] = "type",
    [NS_READMODEL_EVENT_SOURCE] = "source",
    [NS_READMODEL_EVENT_STATUS] = "status",
    [NS_READMODEL_EVENT_OUTCOME] = "outcome",
    [NS_READMODEL_EVENT_DETAIL] = "detail",
    [NS_READMODEL_EVENT_OCCURRED_AT] = "occurred_at",
    [NS_READMODEL_EVENT_RECEIVED_AT] = "received_at",
    [NS_READMODEL_EVENT_PARTITION] = "partition",
    [NS_READMODEL_EVENT_OFFSET] = "offset",
};

const char *const ns_readmodel_offset_cols[NS_READMODEL_OFFSET_NCOLS] = {
    [NS_READMODEL_OFFSET_TOPIC] = "topic",
    [NS_READMODEL_OFFSET_PARTITION] = "partition",
    [NS_READMODEL_OFFSET_NEXT_OFFSET] = "next_offset",
};

/* The single integer of the first row of sql into *out. Returns SQLITE_OK or the error. */
static int query_int(sqlite3 *db, const char *sql, int *out)
{
	sqlite3_stmt *q = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &q, NULL);

	if (rc == SQLITE_OK) {
		rc = sqlite3_step(q);
		if (rc == SQLITE_ROW) {
			*out = sqlite3_column_int(q, 0);
			rc = SQLITE_OK;
		}
	}
	sqlite3_finalize(q);
	return rc;
}

/* Read the version and the number of schema objects of db. Returns SQLITE_OK or the error
 * (err filled). */
static int read_version(sqlite3 *db, const char *path, int *version, int *objects, char *err,
			size_t errlen)
{
	int rc = query_int(db, "PRAGMA user_version", version);

	if (rc == SQLITE_OK)
		rc = query_int(db, "SELECT count(*) FROM sqlite_master", objects);
	if (rc != SQLITE_OK)
		snprintf(err, errlen, "read model %s: %s", path, sqlite3_errmsg(db));
	return rc;
}

static void mismatch(const char *path, int version, char *err, size_t errlen)
{
	snprintf(err, errlen,
		 "read model %s has schema version %d, this build uses version %d"
		 " (rebuild it with `projector --rebuild`)",
		 path, version, NS_READMODEL_VERSION);
}

/* In one immediate transaction: create the schema and the version on a file without
 * tables, or check the version of an existing one. Returns a status (err filled). */
static int init_schema(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	char *emsg = NULL;
	int version = 0, objects = 0, ret = NS_READMODEL_ERROR;
	int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &emsg);

	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "read model %s: %s", path, emsg ? emsg : sqlite3_errstr(rc));
		goto out;
	}
	if (read_version(db, path, &version, &objects, err, errlen) != SQLITE_OK)
		goto out;
	if (version != NS_READMODEL_VERSION && (version != 0 || objects != 0)) {
		mismatch(path, version, err, errlen);
		ret = NS_READMODEL_MISMATCH;
		goto out;
	}
	if (version == 0) {
		rc = sqlite3_exec(db, schema_sql, NULL, NULL, &emsg);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(db, "PRAGMA user_version = " RM_STR(NS_READMODEL_VERSION),
					  NULL, NULL, &emsg);
		if (rc != SQLITE_OK) {
			snprintf(err, errlen, "create read model %s: %s", path,
				 emsg ? emsg : sqlite3_errstr(rc));
			goto out;
		}
	}
	rc = sqlite3_exec(db, "COMMIT", NULL, NULL, &emsg);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "create read model %s: %s", path,
			 emsg ? emsg : sqlite3_errstr(rc));
		goto out;
	}
	ret = NS_READMODEL_OK;
out:
	if (ret != NS_READMODEL_OK && !sqlite3_get_autocommit(db))
		(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_free(emsg);
	return ret;
}

/* Once per process, before SQLite initialises: no memory statistics. The library keeps
 * them under one global mutex taken on every allocation (and Debian's build has no
 * lookaside, so every small allocation is one), which serialises all the connections of a
 * multi-threaded reader such as query. Nothing here reads sqlite3_memory_used(). And the
 * small allocations served from per-thread caches (ns_sqlmem.h): each text column a
 * statement reads is one, freed again when the statement resets. */
static void configure_once(void)
{
	int rc = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);

	if (rc != SQLITE_OK) /* SQLite was initialised before the first open came here */
		NS_WARN("readmodel.memstatus", "err=\"%s\"", sqlite3_errstr(rc));
	rc = sqlite3_config(SQLITE_CONFIG_MALLOC, ns_sqlmem_methods());
	if (rc != SQLITE_OK)
		NS_WARN("readmodel.allocator", "err=\"%s\"", sqlite3_errstr(rc));
}

/* Open path with flags and the busy timeout; with gather, through ns_walbuf (a commit's
 * WAL frames in a few writes, not two per page), registered only after configure_once,
 * since registering a VFS initialises SQLite. Returns the sqlite3_open_v2 code; on
 * failure *db is NULL and err filled. */
static int open_conn(const char *path, int flags, int gather, sqlite3 **db, char *err,
		     size_t errlen)
{
	static pthread_once_t configured = PTHREAD_ONCE_INIT;
	const char *vfs = NULL;
	int rc;

	(void)pthread_once(&configured, configure_once);
	if (gather && ns_walbuf_register() == SQLITE_OK)
		vfs = NS_WALBUF_VFS;
	rc = sqlite3_open_v2(path, db, flags | SQLITE_OPEN_NOMUTEX, vfs);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "open %s: %s", path,
			 *db ? sqlite3_errmsg(*db) : sqlite3_errstr(rc));
		sqlite3_close(*db);
		*db = NULL;
		return rc;
	}
	sqlite3_busy_timeout(*db, NS_READMODEL_BUSY_TIMEOUT_MS);
	return SQLITE_OK;
}

int ns_readmodel_open_rw(const char *path, sqlite3 **db, char *err, size_t errlen)
{
	char *emsg = NULL;
	int rc, ret = NS_READMODEL_ERROR;

	*db = NULL;
	if (open_conn(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 1, db, err, errlen))
		goto out;
	/* secure_delete off (Debian builds SQLite with it on): zeroing the old bytes of every
	 * replaced row costs writes and hides nothing, since each page the projector
	 * rewrites goes through the WAL whole anyway. */
	rc = sqlite3_exec(*db,
			  "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
			  " PRAGMA secure_delete=OFF;",
			  NULL, NULL, &emsg);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "init %s: %s", path, emsg ? emsg : sqlite3_errstr(rc));
		goto out;
	}
	ret = init_schema(*db, path, err, errlen);
out:
	sqlite3_free(emsg);
	if (ret != NS_READMODEL_OK && *db) {
		sqlite3_close(*db);
		*db = NULL;
	}
	return ret;
}

int ns_readmodel_open_ro(const char *path, sqlite3 **db, char *err, size_t errlen)
{
	int version = 0, objects = 0, rc, ret = NS_READMODEL_ERROR;

	*db = NULL;
	rc = open_conn(path, SQLITE_OPEN_READONLY, 0, db, err, errlen);
	if (rc != SQLITE_OK) {
		ret = rc == SQLITE_CANTOPEN ? NS_READMODEL_UNAVAILABLE : NS_READMODEL_ERROR;
		goto out;
	}
	/* Pages straight from the file's mapping: no read() into a private page cache */
	(void)sqlite3_exec(*db, "PRAGMA mmap_size = " RM_STR(NS_READMODEL_MMAP_BYTES), NULL, NULL,
			   NULL);
	if (read_version(*db, path, &version, &objects, err, errlen) != SQLITE_OK)
		goto out;
	if (version == 0 && objects == 0) {
		snprintf(err, errlen, "read model %s has no schema yet", path);
		ret = NS_READMODEL_UNAVAILABLE;
	} else if (version != NS_READMODEL_VERSION) {
		mismatch(path, version, err, errlen);
		ret = NS_READMODEL_MISMATCH;
	} else {
		ret = NS_READMODEL_OK;
	}
out:
	if (ret != NS_READMODEL_OK && *db) {
		sqlite3_close(*db);
		*db = NULL;
	}
	return ret;
}

int ns_readmodel_checkpoint(const char *path, char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	int ret = NS_READMODEL_ERROR;

	if (open_conn(path, SQLITE_OPEN_READWRITE, 0, &db, err, errlen))
		goto out;
	if (sqlite3_prepare_v2(db, "PRAGMA wal_checkpoint(TRUNCATE)", -1, &q, NULL) != SQLITE_OK ||
	    sqlite3_step(q) != SQLITE_ROW) {
		snprintf(err, errlen, "checkpoint %s: %s", path, sqlite3_errmsg(db));
		goto out;
	}
	if (sqlite3_column_int(q, 0)) {
		snprintf(err, errlen, "checkpoint %s: busy", path);
		ret = NS_READMODEL_BUSY;
		goto out;
	}
	ret = NS_READMODEL_OK;
out:
	sqlite3_finalize(q);
	sqlite3_close(db);
	return ret;
}

/* fsync a file or a folder by path. Returns 0, or -1 with err filled. */
static int fsync_path(const char *path, int dir, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | (dir ? O_DIRECTORY : 0));
	int ret = -1;

	if (fd < 0 || fsync(fd) != 0) {
		snprintf(err, errlen, "fsync %s: %s", path, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

/* The folder of path into out ("." when none). */
static void dir_of(const char *path, char *out, size_t outlen)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(out, outlen, ".");
	else if (slash == path)
		snprintf(out, outlen, "/");
	else
		snprintf(out, outlen, "%.*s", (int)(slash - path), path);
}

/* Unlink path+sfx for each suffix; missing ones are fine. Returns 0, or -1 with err naming
 * the first failure (the others are still tried). */
static int unlink_suffixes(const char *path, const char *const *sfx, size_t n, char *err,
			   size_t errlen)
{
	char p[RM_PATH_MAX + 16];
	int ret = 0;

	for (size_t i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
		if (unlink(p) != 0 && errno != ENOENT) {
			if (ret == 0)
				snprintf(err, errlen, "unlink %s: %s", p, strerror(errno));
			ret = -1;
		}
	}
	return ret;
}

static const char *const wal_shm[] = {"-wal", "-shm"};

int ns_readmodel_remove(const char *path, char *err, size_t errlen)
{
	static const char *const all[] = {"", "-wal", "-shm", "-journal"};

	return unlink_suffixes(path, all, sizeof(all) / sizeof(all[0]), err, errlen)
		   ? NS_READMODEL_ERROR
		   : NS_READMODEL_OK;
}

/* Make the file at path self-contained: version checked, WAL checkpointed into it and
 * empty, -wal and -shm removed, fsynced. Returns a status (err filled). */
static int seal(const char *path, char *err, size_t errlen)
{
	char p[RM_PATH_MAX + 16];
	struct stat st;
	sqlite3 *db = NULL;
	int ret = ns_readmodel_open_ro(path, &db, err, errlen);

	sqlite3_close(db);
	if (ret != NS_READMODEL_OK)
		return ret == NS_READMODEL_MISMATCH ? ret : NS_READMODEL_ERROR;
	if (ns_readmodel_checkpoint(path, err, errlen) != NS_READMODEL_OK)
		return NS_READMODEL_ERROR;
	snprintf(p, sizeof(p), "%s-wal", path);
	if (stat(p, &st) == 0 && st.st_size > 0) {
		snprintf(err, errlen, "%s: wal not empty after checkpoint", p);
		return NS_READMODEL_ERROR;
	}
	if (unlink_suffixes(path, wal_shm, 2, err, errlen) || fsync_path(path, 0, err, errlen))
		return NS_READMODEL_ERROR;
	return NS_READMODEL_OK;
}

int ns_readmodel_swap(const char *from, const char *to, char *err, size_t errlen)
{
	char dir[RM_PATH_MAX], cerr[256];
	struct stat st;
	int ret = seal(from, err, errlen);

	if (ret != NS_READMODEL_OK)
		return ret;
	/* Every row of the old file into its main file, so that a reader opening it in the
	 * instant between the unlinks and the rename misses nothing. Busy readers only leave
	 * frames they already read. */
	if (stat(to, &st) == 0) {
		ret = ns_readmodel_checkpoint(to, cerr, sizeof(cerr));
		if (ret == NS_READMODEL_ERROR) {
			snprintf(err, errlen, "%s", cerr);
			return ret;
		}
		if (ret == NS_READMODEL_BUSY)
			NS_WARN("readmodel.checkpoint", "path=%s busy=1", to);
	}
	if (unlink_suffixes(to, wal_shm, 2, err, errlen))
		return NS_READMODEL_ERROR;
	if (rename(from, to) != 0) {
		snprintf(err, errlen, "rename %s to %s: %s", from, to, strerror(errno));
		return NS_READMODEL_ERROR;
	}
	dir_of(to, dir, sizeof(dir));
	if (fsync_path(dir, 1, cerr, sizeof(cerr)))
		NS_WARN("readmodel.swap", "path=%s renamed=1 err=\"%s\"", to, cerr);
	return NS_READMODEL_OK;
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

/* Print every row of sql, tab-separated. Returns SQLITE_DONE or the error. */
static int dump_query(sqlite3 *db, const char *sql, FILE *out)
{
	sqlite3_stmt *q = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &q, NULL);

	while (rc == SQLITE_OK || rc == SQLITE_ROW) {
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
	sqlite3_finalize(q);
	return rc;
}

int ns_readmodel_dump(const char *path, FILE *out, char *err, size_t errlen)
{
	static const char *const queries[] = {
	    "SELECT 'notification', " NS_READMODEL_NOTIF_COLUMNS
	    " FROM notifications ORDER BY tenant, external_id",
	    "SELECT 'event', " NS_READMODEL_EVENT_COLUMNS " FROM events ORDER BY partition, offset",
	    "SELECT 'offset', " NS_READMODEL_OFFSET_COLUMNS
	    " FROM offsets ORDER BY topic, partition",
	    "SELECT 'count', tenant, channel, status, n FROM fig_counts WHERE n <> 0"
	    " ORDER BY tenant, channel, status",
	    "SELECT 'minute', tenant, minute, channel, kind, n FROM fig_minutes"
	    " ORDER BY tenant, minute, channel, kind",
	    "SELECT 'latency', tenant, minute, channel, status, bucket, n FROM fig_latency"
	    " ORDER BY tenant, minute, channel, status, bucket",
	    "SELECT 'anomaly', tenant, at, external_id, event_id, outcome, detail, partition,"
	    " offset FROM anomalies ORDER BY partition, offset",
	};
	sqlite3 *db = NULL;
	int ret = ns_readmodel_open_ro(path, &db, err, errlen);

	for (size_t k = 0; ret == NS_READMODEL_OK && k < sizeof(queries) / sizeof(queries[0]);
	     k++) {
		if (dump_query(db, queries[k], out) != SQLITE_DONE) {
			snprintf(err, errlen, "dump %s: %s", path, sqlite3_errmsg(db));
			ret = NS_READMODEL_ERROR;
		}
	}
	sqlite3_close(db);
	return ret;
}

int64_t ns_readmodel_nid(int32_t partition, int64_t offset)
{
	if (partition < 0 || partition >= NS_READMODEL_NID_PARTITIONS || offset < 0 ||
	    offset >= NS_READMODEL_NID_OFFSETS)
		return -1;
	return (int64_t)partition * NS_READMODEL_NID_OFFSETS + offset;
}

int ns_readmodel_latency_bucket(int64_t ms)
{
	int b;

	if (ms < 1)
		return 0;
	b = (int)floor(4.0 * log2((double)ms));
	return b < 0 ? 0 : b >= NS_READMODEL_LATENCY_BUCKETS ? NS_READMODEL_LATENCY_BUCKETS - 1 : b;
}

double ns_readmodel_latency_upper(int b)
{
	return pow(2.0, (double)(b + 1) / 4.0);
}
