/* ns_readmodel.h -- the SQLite read model: the one home of its schema, its version, its
 * column lists, and the way every process opens, checkpoints and replaces the file.
 *
 * The projector writes it (ns_readmodel_open_rw), query and the tools read it
 * (ns_readmodel_open_ro). Both sides name result columns and bound parameters through the
 * column lists below, never by re-typed positions: a column added to a table is added here,
 * in the list and its enum, and a unit test compares the lists with the real tables.
 *
 * Tables:
 *   notifications  one row per (tenant, externalId): the folded state (ns_state), timestamps as ms
 *                  since the epoch, `events` the number of events folded, and the log
 *                  position (last_partition, last_offset) of the last event folded, and
 *                  `nid` (ns_readmodel_nid), the notification's number: the log position
 *                  of its first event, under which its history is filed. A row with an
 *                  empty request_id is an orphan: statuses arrived for an externalId never
 *                  requested (yet).
 *
 * The figures (the dashboard's, GET /figures), kept up to date in the same transactions as
 * the rows above, so that a figures request never scans the history:
 *   fig_counts     per (tenant, channel, status) the notifications in that status now;
 *   fig_minutes    per (tenant, minute, channel, kind) how many notifications entered a
 *                  status ("accepted" for an applied requested) in that minute of event time;
 *   fig_latency    per (tenant, minute, channel, status, bucket) the time from the request
 *                  (createdAt, the queued status) to entering that status, of the
 *                  notifications that entered it in that minute, in buckets of a quarter
 *                  power of two (ns_readmodel_latency_bucket): queued -> delivered and any
 *                  other pair come from the same table;
 *   anomalies      the invalid, stale and conflicting events (tenant, time, id, detail),
 *                  indexed by time;
 *   lag            per (topic, partition) the high watermark the projector last saw
 *                  (written every few seconds, outside the batches: not a function of the
 *                  log, and left out of the dump).
 *
 * A notification is keyed by (tenant, external_id), and its history by its nid: a
 * notification belongs to the tenant of the key that created it, and every statement of a
 * reader names the tenant (a history page reaches the events through the notification's
 * row).
 *
 * Versions: 1 the first; 2 adds events_by_event_id; 3 adds the tenant to every key; 4 adds
 * notifications.callback_url (the requested's callbackUrl) and the figures tables; 5 keys
 * events by (tenant, external_id, position), one index fewer to keep up per event; 6 files
 * events under the notification's integer nid instead of its two strings (keys of 3 to 9
 * bytes in place of about 40: smaller pages, cheaper comparisons, for every event).
 *   events         the history: one row per consumed event with its fold outcome
 *                  (applied / duplicate / stale / invalid / conflict) and detail; keyed by
 *                  (nid, partition, offset): pages of one history read the key in order
 *                  (joined to its notification by nid), and a message (one log position,
 *                  one key) can never be stored twice. Conflicts are the rows with outcome
 *                  'conflict'. Indexed by (nid, event_id) for the duplicate check, so
 *                  neither costs more as a history grows.
 *   offsets        per (topic, partition) the next offset to consume; written in the same
 *                  transaction as the rows it covers, read on assignment to seek there,
 *                  and by query for read-your-writes.
 *
 * Version: NS_READMODEL_VERSION is kept in the file header (PRAGMA user_version). The
 * writer creates the schema and sets it in one transaction when the file is new; every
 * open (writer and readers) refuses a file carrying another version, naming both. A file
 * of another version is replaced by rebuilding it from the log (`projector --rebuild`).
 *
 * A connection returned here is used by one thread at a time (SQLITE_OPEN_NOMUTEX). */
#ifndef NS_READMODEL_H
#define NS_READMODEL_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The schema version this build writes and reads. Bump it with every schema change. */
#define NS_READMODEL_VERSION 6

/* How long a connection waits for a lock before SQLITE_BUSY. */
#define NS_READMODEL_BUSY_TIMEOUT_MS 5000

/* WAL frames (pages) after which the writer's WAL is checkpointed (SQLite's default). */
#define NS_READMODEL_CHECKPOINT_FRAMES 1000

/* How much of the file a read-only connection maps (PRAGMA mmap_size); the rest of a
 * larger file is read as usual. */
#define NS_READMODEL_MMAP_BYTES 1073741824

/* Status codes. */
#define NS_READMODEL_OK		 0
#define NS_READMODEL_BUSY	 1  /* checkpoint: readers kept part of the WAL */
#define NS_READMODEL_UNAVAILABLE -1 /* read-only open: no file, or no schema yet */
#define NS_READMODEL_MISMATCH	 -2 /* the file carries another version */
#define NS_READMODEL_ERROR	 -3 /* any other failure */

/* ---- column lists: result column i of a SELECT of the list is enum value i; bound
 * parameter ?N of an INSERT with the list is enum value N-1 ---- */

/* notifications */
typedef enum {
	NS_READMODEL_NOTIF_TENANT = 0,
	NS_READMODEL_NOTIF_EXTERNAL_ID,
	NS_READMODEL_NOTIF_CHANNEL,
	NS_READMODEL_NOTIF_STATUS,
	NS_READMODEL_NOTIF_TO_ADDR,
	NS_READMODEL_NOTIF_BODY,
	NS_READMODEL_NOTIF_REQUEST_ID,
	NS_READMODEL_NOTIF_PROVIDER_ID,
	NS_READMODEL_NOTIF_REASON,
	NS_READMODEL_NOTIF_CREATED_AT,
	NS_READMODEL_NOTIF_UPDATED_AT,
	NS_READMODEL_NOTIF_EVENTS,
	NS_READMODEL_NOTIF_LAST_PARTITION,
	NS_READMODEL_NOTIF_LAST_OFFSET,
	NS_READMODEL_NOTIF_CALLBACK_URL,
	NS_READMODEL_NOTIF_NID,
	NS_READMODEL_NOTIF_NCOLS
} ns_readmodel_notif_col;

#define NS_READMODEL_NOTIF_COLUMNS                                                                 \
	"tenant, external_id, channel, status, to_addr, body, request_id, provider_id, reason,"    \
	" created_at, updated_at, events, last_partition, last_offset, callback_url, nid"
#define NS_READMODEL_NOTIF_PARAMS                                                                  \
	"?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16"

/* events */
typedef enum {
	NS_READMODEL_EVENT_NID = 0,
	NS_READMODEL_EVENT_EVENT_ID,
	NS_READMODEL_EVENT_TYPE,
	NS_READMODEL_EVENT_SOURCE,
	NS_READMODEL_EVENT_STATUS,
	NS_READMODEL_EVENT_OUTCOME,
	NS_READMODEL_EVENT_DETAIL,
	NS_READMODEL_EVENT_OCCURRED_AT,
	NS_READMODEL_EVENT_RECEIVED_AT,
	NS_READMODEL_EVENT_PARTITION,
	NS_READMODEL_EVENT_OFFSET,
	NS_READMODEL_EVENT_NCOLS
} ns_readmodel_event_col;

/* The list with each name prefixed by p (a table alias and a dot, as in "e."). */
#define NS_READMODEL_EVENT_COLUMNS_OF(p)                                                           \
	p "nid, " p "event_id, " p "type, " p "source, " p "status, " p "outcome, " p "detail, " p \
	  "occurred_at, " p "received_at, " p "partition, " p "offset"
#define NS_READMODEL_EVENT_COLUMNS NS_READMODEL_EVENT_COLUMNS_OF("")
#define NS_READMODEL_EVENT_PARAMS  "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11"

/* offsets */
typedef enum {
	NS_READMODEL_OFFSET_TOPIC = 0,
	NS_READMODEL_OFFSET_PARTITION,
	NS_READMODEL_OFFSET_NEXT_OFFSET,
	NS_READMODEL_OFFSET_NCOLS
} ns_readmodel_offset_col;

#define NS_READMODEL_OFFSET_COLUMNS "topic, partition, next_offset"
#define NS_READMODEL_OFFSET_PARAMS  "?1, ?2, ?3"

/* The column names of each table in enum order (for checks and generic code). */
extern const char *const ns_readmodel_notif_cols[NS_READMODEL_NOTIF_NCOLS];
extern const char *const ns_readmodel_event_cols[NS_READMODEL_EVENT_NCOLS];
extern const char *const ns_readmodel_offset_cols[NS_READMODEL_OFFSET_NCOLS];

/* Statements both sides run. Results in the enum order of their table. */

/* One notification: ?1 tenant, ?2 external_id. */
#define NS_READMODEL_SQL_NOTIF                                                                     \
	"SELECT " NS_READMODEL_NOTIF_COLUMNS " FROM notifications WHERE tenant = ?1"               \
	" AND external_id = ?2"
/* The fold's duplicate check: 1 when notification ?1 nid already has an event ?2
 * event_id. Served by the events_by_event_id index: one probe, whatever the history. */
#define NS_READMODEL_SQL_SEEN "SELECT 1 FROM events WHERE nid = ?1 AND event_id = ?2 LIMIT 1"
/* One page of a history: events of (?1 tenant, ?2 external_id) after position
 * (?3 partition, ?4 offset) in log order, at most ?5 of them. The notification's key gives
 * its nid, and the events table's own key the page. */
#define NS_READMODEL_SQL_EVENTS_PAGE                                                               \
	"SELECT " NS_READMODEL_EVENT_COLUMNS_OF(                                                   \
	    "e.") " FROM notifications n"                                                          \
		  " JOIN events e ON e.nid = n.nid WHERE n.tenant = ?1 AND n.external_id = ?2"     \
		  " AND (e.partition > ?3 OR (e.partition = ?3 AND e.offset > ?4))"                \
		  " ORDER BY e.partition, e.offset LIMIT ?5"
/* The same page, of the callback attempts only (type 'callback'). */
#define NS_READMODEL_SQL_CALLBACKS_PAGE                                                            \
	"SELECT " NS_READMODEL_EVENT_COLUMNS_OF(                                                   \
	    "e.") " FROM notifications n"                                                          \
		  " JOIN events e ON e.nid = n.nid WHERE n.tenant = ?1 AND n.external_id = ?2"     \
		  " AND (e.partition > ?3 OR (e.partition = ?3 AND e.offset > ?4)) AND e.type = "  \
		  "'callback'"                                                                     \
		  " ORDER BY e.partition, e.offset LIMIT ?5"

/* A notification's number (nid): partition * NS_READMODEL_NID_OFFSETS + offset, the log
 * position of its first event, unique because one message is one notification's. Returns
 * it, or -1 when the position is outside [0, NS_READMODEL_NID_PARTITIONS) x
 * [0, NS_READMODEL_NID_OFFSETS) (a topic of more than 65,536 partitions, or an offset past
 * 2^47: neither occurs in Kafka as deployed). */
#define NS_READMODEL_NID_PARTITIONS 65536
#define NS_READMODEL_NID_OFFSETS    ((int64_t)1 << 47)
int64_t ns_readmodel_nid(int32_t partition, int64_t offset);
/* ---- figures (writer: the projector; reader: query's GET /figures) ---- */

/* A count moves: ?1 tenant, ?2 channel, ?3 status, ?4 delta. */
#define NS_READMODEL_SQL_FIG_COUNT                                                                 \
	"INSERT INTO fig_counts (tenant, channel, status, n) VALUES (?1, ?2, ?3, ?4)"              \
	" ON CONFLICT (tenant, channel, status) DO UPDATE SET n = n + excluded.n"
/* ?1 tenant, ?2 minute, ?3 channel, ?4 kind, ?5 how many. */
#define NS_READMODEL_SQL_FIG_MINUTE                                                                \
	"INSERT INTO fig_minutes (tenant, minute, channel, kind, n) VALUES (?1, ?2, ?3, ?4, ?5)"   \
	" ON CONFLICT (tenant, minute, channel, kind) DO UPDATE SET n = n + excluded.n"
/* ?1 tenant, ?2 minute, ?3 channel, ?4 status, ?5 bucket, ?6 how many. */
#define NS_READMODEL_SQL_FIG_LATENCY                                                               \
	"INSERT INTO fig_latency (tenant, minute, channel, status, bucket, n)"                     \
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6)"                                                         \
	" ON CONFLICT (tenant, minute, channel, status, bucket) DO UPDATE SET n = n + excluded.n"
/* ?1 tenant, ?2 at, ?3 external_id, ?4 event_id, ?5 outcome, ?6 detail, ?7 partition,
 * ?8 offset. */
#define NS_READMODEL_SQL_ANOMALY                                                                   \
	"INSERT OR IGNORE INTO anomalies (tenant, at, external_id, event_id, outcome, detail,"     \
	" partition, offset) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
/* ?1 topic, ?2 partition, ?3 high watermark, ?4 when (ms). */
#define NS_READMODEL_SQL_LAG                                                                       \
	"INSERT OR REPLACE INTO lag (topic, partition, high_watermark, at) VALUES (?1, ?2, ?3, "   \
	"?4)"

/* The reader's side (every one bound to ?1 tenant but the lag): */
/* counts now: channel, status, n */
#define NS_READMODEL_SQL_FIG_COUNTS                                                                \
	"SELECT channel, status, n FROM fig_counts WHERE tenant = ?1 AND n <> 0"                   \
	" ORDER BY channel, status"
/* entries per minute since ?2: minute, kind, n (all channels) */
#define NS_READMODEL_SQL_FIG_VOLUMES                                                               \
	"SELECT minute, kind, sum(n) FROM fig_minutes WHERE tenant = ?1 AND minute >= ?2"          \
	" GROUP BY minute, kind ORDER BY minute, kind"
/* entries per channel since ?2: channel, kind, n */
#define NS_READMODEL_SQL_FIG_RATES                                                                 \
	"SELECT channel, kind, sum(n) FROM fig_minutes WHERE tenant = ?1 AND minute >= ?2"         \
	" GROUP BY channel, kind ORDER BY channel, kind"
/* entries per channel and bucket of ?3 minutes since ?2: channel, bucket start minute,
 * kind, n */
#define NS_READMODEL_SQL_FIG_SERIES                                                                \
	"SELECT channel, (minute / ?3) * ?3, kind, sum(n) FROM fig_minutes WHERE tenant = ?1"      \
	" AND minute >= ?2 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
/* latencies since ?2: channel, status, bucket, n */
#define NS_READMODEL_SQL_FIG_LATENCIES                                                             \
	"SELECT channel, status, bucket, sum(n) FROM fig_latency WHERE tenant = ?1"                \
	" AND minute >= ?2 GROUP BY channel, status, bucket ORDER BY channel, status, bucket"
/* the ?2 most recent anomalies: at, external_id, event_id, outcome, detail */
#define NS_READMODEL_SQL_FIG_ANOMALIES                                                             \
	"SELECT at, external_id, event_id, outcome, detail FROM anomalies WHERE tenant = ?1"       \
	" ORDER BY at DESC LIMIT ?2"
/* the projector per partition of topic ?1: partition, next_offset, high_watermark, at
 * (the last two NULL before the first lag write) */
#define NS_READMODEL_SQL_FIG_POSITIONS                                                             \
	"SELECT o.partition, o.next_offset, l.high_watermark, l.at FROM offsets o"                 \
	" LEFT JOIN lag l ON l.topic = o.topic AND l.partition = o.partition"                      \
	" WHERE o.topic = ?1 ORDER BY o.partition"

/* Latency buckets: bucket b holds latencies in [2^(b/4), 2^((b+1)/4)) ms (b 0 also holds
 * 0 ms), so a percentile read from them is within about 19% of the true value. */
#define NS_READMODEL_LATENCY_BUCKETS 160
int ns_readmodel_latency_bucket(int64_t ms);
/* The upper bound (ms) of bucket b. */
double ns_readmodel_latency_upper(int b);

/* One stored offset: ?1 topic, ?2 partition. */
#define NS_READMODEL_SQL_OFFSET                                                                    \
	"SELECT " NS_READMODEL_OFFSET_COLUMNS " FROM offsets WHERE topic = ?1 AND partition = ?2"

/* ---- opening ---- */

/* Open path for writing (the projector), creating the file when missing: WAL,
 * synchronous=NORMAL, busy timeout. A file without any table gets the schema and
 * NS_READMODEL_VERSION in one transaction. On success *db is a new connection the caller
 * owns (sqlite3_close). Returns NS_READMODEL_OK; NS_READMODEL_MISMATCH when the file
 * carries another version (or has foreign tables and no version); NS_READMODEL_ERROR
 * otherwise. On failure *db is NULL and err is filled. */
int ns_readmodel_open_rw(const char *path, sqlite3 **db, char *err, size_t errlen);

/* Open path read-only (query, dumps): SQLITE_OPEN_READONLY, busy timeout, version checked.
 * Never creates anything. On success *db is a new connection the caller owns
 * (sqlite3_close). Returns NS_READMODEL_OK; NS_READMODEL_UNAVAILABLE when the file does not
 * exist or has no schema yet (the writer has not created it: try again later);
 * NS_READMODEL_MISMATCH when it carries another version; NS_READMODEL_ERROR otherwise. On
 * failure *db is NULL and err is filled. */
int ns_readmodel_open_ro(const char *path, sqlite3 **db, char *err, size_t errlen);

/* ---- files ---- */

/* PRAGMA wal_checkpoint(TRUNCATE) on the existing file at path, through a connection of
 * its own (read-write, never creating). Returns NS_READMODEL_OK when every frame was
 * checkpointed, NS_READMODEL_BUSY when readers kept part of the WAL (err says so), or
 * NS_READMODEL_ERROR with err filled. */
int ns_readmodel_checkpoint(const char *path, char *err, size_t errlen);

/* Replace the database at `to` with the one at `from` atomically (rename(2)), for readers
 * that open `to` afterwards; readers holding the old file keep reading it until they
 * reopen. In order: check from's version; checkpoint(TRUNCATE) from and remove its -wal and
 * -shm (refused when its WAL is not empty), fsync it; checkpoint the old file at `to` when
 * there is one (so no committed row lives only in its -wal); unlink to's -wal and -shm
 * (they belong to the old inode: the new file must not inherit them); rename; fsync the
 * folder (a failure there is only logged: the swap happened). Nothing may hold `from`
 * open, and no writer may use `to`. Returns NS_READMODEL_OK, or NS_READMODEL_MISMATCH /
 * NS_READMODEL_ERROR with err filled; on failure `to` still holds its old content (its
 * WAL may have been checkpointed into it) and `from` is left in place. */
int ns_readmodel_swap(const char *from, const char *to, char *err, size_t errlen);

/* Unlink path and its -wal, -shm and -journal companions; missing ones are fine. Returns
 * NS_READMODEL_OK, or NS_READMODEL_ERROR (err names the first one that could not be
 * removed; the others are still tried). */
int ns_readmodel_remove(const char *path, char *err, size_t errlen);

/* Write a canonical dump of the database at path (opened read-only, version checked) to
 * out: every notification ordered by (tenant, external_id), every event ordered by (partition,
 * offset), every offset ordered by (topic, partition), all columns in list order, one
 * tab-separated line per row, text with \t \n \r \\ escaped. Two databases built from the
 * same log dump identically. Returns NS_READMODEL_OK, or a negative status with err
 * filled. */
int ns_readmodel_dump(const char *path, FILE *out, char *err, size_t errlen);

#endif
