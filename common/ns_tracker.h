/* ns_tracker.h -- the contiguous-offset tracker of one partition (at-least-once commits:
 * the sender's requests, the callback worker's deliveries).
 *
 * Offsets are added in the order they were consumed (strictly increasing) and marked
 * done in any order as their outcome events are acked. The committable offset is the
 * next offset to read after the longest done prefix: committing it never skips a request
 * whose outcome is not yet in the log. Pure data structure; not thread-safe (the
 * consuming thread owns it). */
#ifndef NS_TRACKER_H
#define NS_TRACKER_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
	int64_t *off; /* ring of offsets in flight, oldest at head */
	unsigned char *done;
	size_t cap, head, len;
	int64_t next;	   /* offset after the last one added (or done prefix), -1 = none */
	int64_t committed; /* last value handed out by ns_tracker_take_commit, -1 = none */
} ns_tracker;

void ns_tracker_init(ns_tracker *t);

/* Release memory; the tracker may be initialised again. */
void ns_tracker_free(ns_tracker *t);

/* Forget everything (partition revoked or reassigned). */
void ns_tracker_reset(ns_tracker *t);

/* Add offset (must exceed every offset added before). Returns 0, or -1 when out of memory
 * or out of order. */
int ns_tracker_add(ns_tracker *t, int64_t offset);

/* Mark offset done. Returns 0, or -1 when it is not in flight. */
int ns_tracker_done(ns_tracker *t, int64_t offset);

/* Offsets added but not yet released by the done prefix. */
size_t ns_tracker_pending(const ns_tracker *t);

/* The offset to commit (next to read) after the done prefix, or -1 when nothing was ever
 * completed. */
int64_t ns_tracker_committable(const ns_tracker *t);

/* When the committable offset moved past the last one taken, return it and remember it;
 * else -1. */
int64_t ns_tracker_take_commit(ns_tracker *t);

#endif
