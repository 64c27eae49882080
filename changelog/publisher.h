/* publisher.h -- the changelog daemon's consume-transform-produce loop, exactly once.
 *
 * Consumes the status topic (every request, outcome and webhook) as a member of a consumer
 * group, folds each event into the notification's state (ns_fold, as the projector does),
 * and for every event that changed the state produces one record (ns_change.h) to the
 * changelog topic, in the partition of the same number, keyed by the notification's
 * reference. Records and input offsets are committed in one Kafka transaction (offsets
 * sent to the transaction as the group), so a read_committed reader sees each change
 * exactly once whatever crashes: a transaction that did not commit is aborted (by the
 * broker after CHANGELOG_TXN_TIMEOUT_MS, or at once by a successor with the same
 * transactional.id), its input read again.
 *
 * The state lives in memory and is the changelog itself: on assignment each partition is
 * restored from its changelog partition (restore.h) after the committed input offset is
 * known; on revoke the open transaction commits first. After an aborted transaction the
 * consumer rewinds to the committed offsets and the state is restored again.
 *
 * A "change" is an applied event (ns_fold's NS_OUT_APPLIED), or a dispatched event whose
 * providerId was merged although its status was stale (the state changed: the read model
 * shows the id too). Duplicates, stale, invalid and conflicting events make no record.
 * Each notification's fold starts from its latest record, never from events that changed
 * nothing, so the records do not depend on where crashes fell. One thread but clog_ready. */
#ifndef CLOG_PUBLISHER_H
#define CLOG_PUBLISHER_H

#include <stddef.h>

typedef struct {
	const char *topic;	      /* STATUS_TOPIC: the input */
	const char *changelog;	      /* CHANGELOG_TOPIC */
	const char *group;	      /* CHANGELOG_GROUP */
	const char *schemas_dir;      /* SCHEMAS_DIR */
	const char *transactional_id; /* CHANGELOG_TRANSACTIONAL_ID ("": derived) */
	long batch;		      /* CHANGELOG_BATCH: input messages per transaction at most */
	long txn_timeout_ms;	      /* CHANGELOG_TXN_TIMEOUT_MS */
} clog_config;

typedef struct clog clog;

/* A publisher for cfg (borrowed): loads the channel schemas, registers the metrics.
 * NULL with err filled. */
clog *clog_new(const clog_config *cfg, char *err, size_t errlen);

/* /readyz: non-zero while the loop runs with a healthy consumer and producer. */
int clog_ready(void *opaque);

/* Ensure the changelog topic (compacted, the input's partition count), start the
 * transactional producer and the consumer, and run until SIGTERM/SIGINT or a fatal error
 * (fenced by a newer instance, consumer failure). The open transaction is committed on a
 * clean stop. Returns 0 after a clean stop, -1 otherwise (logged). Call once. */
int clog_run(clog *x);

/* Free x after clog_run (or instead of it). NULL is a no-op. */
void clog_free(clog *x);

#endif
