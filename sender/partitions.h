/* partitions.h -- what the sender knows of each partition of the requests topic: whether
 * it owns it, whether it is draining (revoked, finishing what is on the wire), the
 * generation of its ownership, and the offsets in flight (tracker.h) that decide what may
 * be committed. Also the flow control that pauses every partition while too many jobs run.
 *
 * A job remembers the generation its partition had when it was consumed: after a revoke
 * (and maybe a new assignment) the generation moves on, so the stale job's completion no
 * longer counts towards a commit. Not thread-safe: the worker thread owns it. */
#ifndef SENDER_PARTITIONS_H
#define SENDER_PARTITIONS_H

#include "ns_tracker.h"

#include "ns_kafka.h"

#include <stdint.h>

#define SENDER_PARTITIONS_MAX 10000

typedef struct {
	int owned;    /* assigned to this member */
	int draining; /* being revoked: nothing new starts */
	uint64_t gen; /* moves on at every assign and revoke */
	ns_tracker t; /* offsets in flight, the committable prefix */
} sender_part;

typedef struct {
	sender_part *p; /* indexed by partition id, grown on demand */
	int n;
	int paused; /* flow control: every partition paused */
} sender_parts;

/* An empty set. */
void sender_parts_init(sender_parts *ps);

/* Free the trackers and the array. */
void sender_parts_free(sender_parts *ps);

/* The record of partition id, created (not owned) on first use. NULL when id is out of
 * range (0..SENDER_PARTITIONS_MAX-1) or out of memory. */
sender_part *sender_parts_get(sender_parts *ps, int32_t id);

/* Non-zero when partition id is owned and still in generation gen (draining included: what
 * finishes while draining is committed at the revoke). */
int sender_parts_current(sender_parts *ps, int32_t id, uint64_t gen);

/* Take ownership of partition id: a new generation, an empty tracker. Returns 0, or -1
 * when id cannot be tracked. */
int sender_parts_own(sender_parts *ps, int32_t id);

/* Give partition id up: not owned, a new generation, an empty tracker. */
void sender_parts_disown(sender_parts *ps, int32_t id);

/* Commit, for every owned partition (or only the n partitions in only, when only is not
 * NULL), the offset after its done prefix when it moved since the last commit. A failed
 * commit forgets what was taken, so the next call commits again. Returns 0 or -1. */
int sender_parts_commit(sender_parts *ps, ns_consumer *c, const char *topic, const int32_t *only,
			int n);

/* Flow control: pause every assigned partition when full (jobs at the limit), resume when
 * not; also re-pause after an assignment change (new partitions start unpaused). Acts only
 * when the state must change. */
void sender_parts_flow(sender_parts *ps, ns_consumer *c, int full, int assignment_changed);

#endif
