/* store.h -- the projector's SQLite store: open/create the read model, load and save one
 * notification's state, append history rows, keep per-partition next offsets, and group
 * all of it into transactions.
 *
 * One store is one connection with its prepared statements, kept for the life of the
 * store; it is used from one thread at a time (the consume loop). Schema, version and
 * column lists: ns_readmodel.h. */
#ifndef PROJ_STORE_H
#define PROJ_STORE_H

#include "ns_fold.h"

#include <stddef.h>
#include <stdint.h>

typedef struct proj_store proj_store;

/* One history row (events table; the anomalies table also takes its tenant and
 * external_id). Strings are borrowed for the duration of the call. */
typedef struct {
	int64_t nid; /* the notification's number (ns_readmodel_nid) */
	const char *tenant;
	const char *external_id;
	const char *event_id;
	const char *type;
	const char *source;
	const char *status;
	const char *outcome;
	const char *detail;
	int64_t occurred_at;
	int64_t received_at;
	int32_t partition;
	int64_t offset;
} proj_event_row;

/* Open (creating when missing) the read model at path with ns_readmodel_open_rw: WAL,
 * synchronous=NORMAL, busy timeout, schema and version created in a new file, a file of
 * another version refused. Returns a new store (close with proj_store_close), or NULL
 * with err filled. */
proj_store *proj_store_open(const char *path, char *err, size_t errlen);

/* After each commit, fn(opaque, frames) with the number of frames in the WAL, on the
 * committing thread; the store no longer checkpoints by itself (checkpoint.h takes over),
 * except when fn returns non-zero: then it runs a PASSIVE checkpoint there and then.
 * fn NULL: back to SQLite's automatic checkpoint. */
typedef int(proj_wal_fn)(void *opaque, int frames);
void proj_store_wal_hook(proj_store *s, proj_wal_fn *fn, void *opaque);

/* Close the store (rolls back an open transaction). NULL is a no-op. */
void proj_store_close(proj_store *s);

/* Transactions. Each returns 0 or -1 (logged). rollback is safe without a transaction. */
int proj_store_begin(proj_store *s);
int proj_store_commit(proj_store *s);
void proj_store_rollback(proj_store *s);

/* Load the state of (tenant, external_id) into *st (zeroed first) and its number into
 * *nid. Returns 1 when stored, 0 when unknown (*st zeroed, tenant and external_id filled,
 * *nid -1), -1 on error. */
int proj_store_load_state(proj_store *s, const char *tenant, const char *external_id, ns_state *st,
			  int64_t *nid);

/* Insert or replace the state of (st->tenant, st->external_id), numbered nid, with the log
 * position of the last event folded into it. Returns 0 or -1. */
int proj_store_save_state(proj_store *s, const ns_state *st, int64_t nid, int32_t partition,
			  int64_t offset);

/* 1 when an events row with event_id exists for notification nid (in this transaction
 * too), 0 when not, -1 on error. */
int proj_store_event_seen(proj_store *s, int64_t nid, const char *event_id);

/* Append a history row. Returns 0, or -1 (including when the position is already stored). */
int proj_store_insert_event(proj_store *s, const proj_event_row *row);

/* Stored next offset of (topic, partition) into *next. Returns 1 when stored, 0 when none,
 * -1 on error. */
int proj_store_get_offset(proj_store *s, const char *topic, int32_t partition, int64_t *next);

/* Store next as the next offset of (topic, partition). Returns 0 or -1. */
int proj_store_set_offset(proj_store *s, const char *topic, int32_t partition, int64_t next);

/* The figures (ns_readmodel.h), inside the caller's transaction: a count moved by delta;
 * n more entries of kind in minute; n more latencies in bucket. Each returns 0 or -1. */
int proj_store_fig_count(proj_store *s, const char *tenant, const char *channel, const char *status,
			 int64_t delta);
int proj_store_fig_minute(proj_store *s, const char *tenant, int64_t minute, const char *channel,
			  const char *kind, int64_t n);
int proj_store_fig_latency(proj_store *s, const char *tenant, int64_t minute, const char *channel,
			   const char *status, int bucket, int64_t n);

/* Record an invalid, stale or conflicting event (row's tenant, received_at, ids, outcome,
 * detail, position) in anomalies. Returns 0 or -1. */
int proj_store_insert_anomaly(proj_store *s, const proj_event_row *row);

/* In a transaction of its own: the high watermarks hw[p] of the partitions p < n with
 * known[p], seen at now_ms. Returns 0 or -1. */
int proj_store_set_lag(proj_store *s, const char *topic, const int64_t *hw, const int *known, int n,
		       int64_t now_ms);

#endif
