/* apply.h -- fold one batch of consumed messages into the store in ONE transaction.
 *
 * This is the whole projection minus Kafka: the consume loop hands it what it polled, the
 * unit tests hand it tuples. For each message in order: an offset below the partition's
 * stored next offset was applied before and is skipped; an undecodable value goes to the
 * dead-letter hook and only advances the offset; otherwise the notification's state is
 * loaded (cached for the batch), `seen` is looked up in its history (rows of this batch
 * included), ns_fold_apply decides, and the history row is appended. At the end the
 * touched states and each partition's next offset are written and the transaction
 * commits: all of the batch or none of it. */
#ifndef PROJ_APPLY_H
#define PROJ_APPLY_H

#include "ns_channel.h"
#include "ns_fold.h"
#include "store.h"

#include <stddef.h>
#include <stdint.h>

/* One consumed message; pointers borrowed for the call. key may be NULL. */
typedef struct {
	int32_t partition;
	int64_t offset;
	const char *key;
	size_t keylen;
	const void *value;
	size_t len;
} proj_msg;

typedef enum {
	PROJ_MSG_FOLDED = 0, /* decoded and folded: see outcome */
	PROJ_MSG_SKIPPED,    /* offset already stored: applied by an earlier batch */
	PROJ_MSG_DLQ,	     /* undecodable: handed to the dead-letter hook */
} proj_msg_result;

/* What a folded message did to its notification's standing as an orphan (a notification
 * whose statuses arrived without a requested event). */
typedef enum {
	PROJ_ORPHAN_NONE = 0,
	PROJ_ORPHAN_CREATED, /* the first event of a notification, and not a requested */
	PROJ_ORPHAN_ADOPTED, /* the requested of a notification that was an orphan */
} proj_orphan;

/* What happened to one message. */
typedef struct {
	proj_msg_result result;
	ns_outcome outcome; /* PROJ_MSG_FOLDED only */
	proj_orphan orphan; /* PROJ_MSG_FOLDED only */
	char reason[256];   /* PROJ_MSG_DLQ: the decoder's message */
} proj_msg_out;

/* Dead-letter hook, called before the commit for each undecodable message. Returns 0, or
 * -1 to abort the batch (rolled back: nothing of it is stored). */
typedef int(proj_dlq_fn)(void *opaque, const proj_msg *m, const char *reason);

/* Apply msgs[0..n) of topic to s in one transaction. out (may be NULL) receives n results.
 * dlq may be NULL (undecodable messages are then only logged and counted in out).
 * Returns 0 when committed, -1 when rolled back (err filled); a rolled-back batch may be
 * applied again as a whole. */
int proj_apply_batch(proj_store *s, const ns_channels *set, const char *topic, const proj_msg *msgs,
		     size_t n, proj_msg_out *out, proj_dlq_fn *dlq, void *dlq_opaque, char *err,
		     size_t errlen);

#endif
