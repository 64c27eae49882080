/* state.h -- the changelog publisher's fold state: per input partition, the latest record
 * of every notification that has one (its JSON, as on the changelog topic, and its
 * version).
 *
 * The changelog is the state (as in Kafka Streams): on assignment a partition's table is
 * rebuilt by reading the changelog partition of the same number to its end (restore.h),
 * and dropped when the partition is revoked or a transaction aborts. Keeping the record's
 * JSON rather than a decoded struct keeps a notification at a few hundred bytes. One
 * thread (the consume loop). */
#ifndef CLOG_STATE_H
#define CLOG_STATE_H

#include <stddef.h>
#include <stdint.h>

#define CLOG_MAX_PARTITIONS 1024

typedef struct clog_state clog_state;

typedef struct {
	const char *record; /* JSON of the latest record, NUL-terminated */
	size_t len;
	int64_t version;
} clog_entry;

/* An empty state. NULL when out of memory. */
clog_state *clog_state_new(void);

/* The entry of ref in partition, or NULL. Valid until the next put or drop. */
const clog_entry *clog_state_get(clog_state *s, int32_t partition, const char *ref);

/* Set ref's entry in partition to a copy of record[0..len) with version. Returns 0, or -1
 * (out of memory, partition outside 0..CLOG_MAX_PARTITIONS-1). */
int clog_state_put(clog_state *s, int32_t partition, const char *ref, const char *record,
		   size_t len, int64_t version);

/* Forget ref in partition (a tombstone on the changelog). */
void clog_state_remove(clog_state *s, int32_t partition, const char *ref);

/* Forget everything of partition. */
void clog_state_drop(clog_state *s, int32_t partition);

/* Notifications held in partition / in all. */
size_t clog_state_count(const clog_state *s, int32_t partition);
size_t clog_state_total(const clog_state *s);

/* Free s and everything in it. NULL is a no-op. */
void clog_state_free(clog_state *s);

#endif
