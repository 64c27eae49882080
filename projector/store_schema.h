/* store_schema.h -- the SQLite read model shared by projector (writer) and query (reader).
 *
 * Tables:
 *   notifications  one row per externalId: the folded state (ns_state), timestamps as ms
 *                  since the epoch, `events` the number of events folded, and the log
 *                  position (last_partition, last_offset) of the last event folded.
 *   events         the history: one row per consumed event with its fold outcome
 *                  (applied / duplicate / stale / invalid / conflict) and detail; keyed by
 *                  its log position, so the same message can never be stored twice.
 *                  Conflicts are the rows with outcome 'conflict'.
 *   offsets        per (topic, partition) the next offset to consume; written in the same
 *                  transaction as the rows it covers, read on assignment to seek there,
 *                  and by query for read-your-writes.
 * Idempotent (IF NOT EXISTS): the projector runs it on every open. */
#ifndef PROJ_STORE_SCHEMA_H
#define PROJ_STORE_SCHEMA_H

#define PROJ_SCHEMA_VERSION 1

#define PROJ_SCHEMA_SQL                                                                            \
	"CREATE TABLE IF NOT EXISTS notifications ("                                               \
	" external_id TEXT PRIMARY KEY,"                                                           \
	" channel TEXT NOT NULL DEFAULT '',"                                                       \
	" status TEXT NOT NULL DEFAULT '',"                                                        \
	" to_addr TEXT NOT NULL DEFAULT '',"                                                       \
	" body TEXT NOT NULL DEFAULT '',"                                                          \
	" request_id TEXT NOT NULL DEFAULT '',"                                                    \
	" provider_id TEXT NOT NULL DEFAULT '',"                                                   \
	" reason TEXT NOT NULL DEFAULT '',"                                                        \
	" created_at INTEGER NOT NULL,"                                                            \
	" updated_at INTEGER NOT NULL,"                                                            \
	" events INTEGER NOT NULL,"                                                                \
	" last_partition INTEGER NOT NULL,"                                                        \
	" last_offset INTEGER NOT NULL"                                                            \
	") WITHOUT ROWID;"                                                                         \
	"CREATE INDEX IF NOT EXISTS notifications_channel_status"                                  \
	" ON notifications(channel, status, external_id);"                                         \
	"CREATE TABLE IF NOT EXISTS events ("                                                      \
	" external_id TEXT NOT NULL,"                                                              \
	" event_id TEXT NOT NULL,"                                                                 \
	" type TEXT NOT NULL,"                                                                     \
	" source TEXT NOT NULL,"                                                                   \
	" status TEXT NOT NULL,"                                                                   \
	" outcome TEXT NOT NULL,"                                                                  \
	" detail TEXT NOT NULL,"                                                                   \
	" occurred_at INTEGER NOT NULL,"                                                           \
	" received_at INTEGER NOT NULL,"                                                           \
	" partition INTEGER NOT NULL,"                                                             \
	" offset INTEGER NOT NULL,"                                                                \
	" PRIMARY KEY (partition, offset)"                                                         \
	") WITHOUT ROWID;"                                                                         \
	"CREATE INDEX IF NOT EXISTS events_by_notification"                                        \
	" ON events(external_id, partition, offset);"                                              \
	"CREATE TABLE IF NOT EXISTS offsets ("                                                     \
	" topic TEXT NOT NULL,"                                                                    \
	" partition INTEGER NOT NULL,"                                                             \
	" next_offset INTEGER NOT NULL,"                                                           \
	" PRIMARY KEY (topic, partition)"                                                          \
	") WITHOUT ROWID;"

/* Pragmas of every connection (the reader sets only busy_timeout). */
#define PROJ_BUSY_TIMEOUT_MS 5000

#endif
