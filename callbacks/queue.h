/* queue.h -- the callback worker's deliveries: who waits for whom, and what may start.
 *
 * One delivery per changelog record that has a callbackUrl. Three rules decide when it
 * may be attempted:
 *   - order: the deliveries of one notification go one at a time, in the order they were
 *     added (version order: one notification's records are in one partition); a later one
 *     waits until the earlier succeeded or was given up (cb_queue_finish);
 *   - time: a delivery is attempted at its due time (now when it becomes the head of its
 *     notification; later after a failure: cb_queue_retry);
 *   - hosts: at most per_host attempts are in flight to one destination host, so a slow or
 *     dead receiver holds only its own deliveries back; a due delivery whose host is busy
 *     waits in that host's line and starts as soon as an attempt of the host ends.
 * Pure data structure with no I/O and no clock (times are passed in); one thread. The
 * queue owns nothing but its index: deliveries are allocated and freed by the caller
 * (cb_delivery_new / cb_delivery_free), after cb_queue_finish or cb_queue_drop. */
#ifndef CB_QUEUE_H
#define CB_QUEUE_H

#include "ns_event.h"
#include "ns_url.h"

#include <stddef.h>
#include <stdint.h>

typedef enum {
	CB_WAITING = 0, /* behind an earlier delivery of its notification */
	CB_DUE,		/* head of its notification, waiting for its due time */
	CB_HOST_BUSY,	/* due, waiting for a free slot of its host */
	CB_READY,	/* given a slot of its host: the next to start */
	CB_IN_FLIGHT,	/* taken by cb_queue_take: an attempt is under way */
	CB_FINISHED,	/* out of the queue */
} cb_state;

typedef struct cb_delivery {
	int32_t partition;
	int64_t offset;
	char ref[NS_REF_MAX + 1];
	char host[NS_HOST_MAX + 1];
	char url[NS_URL_MAX + 1];
	char delivery_id[NS_EVENT_ID_LEN + 1];
	int64_t version;
	char *body; /* the changelog record, as POSTed */
	size_t len;
	int attempt;	  /* attempts made so far */
	int64_t first_ms; /* when it was added (the retry window counts from here) */
	int64_t due_ms;
	cb_state state;
	void *opaque; /* the caller's */
	/* the queue's links */
	struct cb_delivery *next_in_notif, *next_in_line;
	size_t heap_at;
	uint64_t seq; /* orders deliveries due at the same time: first come, first served */
	struct cb_notif *notif;
} cb_delivery;

typedef struct cb_queue cb_queue;

/* A delivery of record body[0..len) (copied) to url for ref, from partition/offset.
 * NULL when out of memory or url does not parse. */
cb_delivery *cb_delivery_new(int32_t partition, int64_t offset, const char *ref, const char *url,
			     const char *delivery_id, int64_t version, const char *body, size_t len,
			     int64_t now_ms);
void cb_delivery_free(cb_delivery *d);

/* An empty queue allowing per_host attempts in flight per host (at least 1). */
cb_queue *cb_queue_new(int per_host);
void cb_queue_free(cb_queue *q); /* the deliveries still in it are not freed */

/* Add d behind the deliveries of its notification (due now when it is the first).
 * Returns 0 or -1 (out of memory). */
int cb_queue_add(cb_queue *q, cb_delivery *d, int64_t now_ms);

/* The next delivery that may be attempted now (state becomes CB_IN_FLIGHT, its host's
 * count goes up), or NULL. */
cb_delivery *cb_queue_take(cb_queue *q, int64_t now_ms);

/* The attempt of d (in flight) failed: attempt it again at due_ms. */
void cb_queue_retry(cb_queue *q, cb_delivery *d, int64_t due_ms);

/* d (in flight) succeeded or was given up: out of the queue; the next delivery of its
 * notification becomes due at now_ms. */
void cb_queue_finish(cb_queue *q, cb_delivery *d, int64_t now_ms);

/* Take every delivery of partition out of the queue (the partition was revoked), in
 * flight ones included: each is passed to fn (which frees it). Returns how many. */
size_t cb_queue_drop(cb_queue *q, int32_t partition, void (*fn)(void *ctx, cb_delivery *d),
		     void *ctx);

/* Deliveries in the queue, and those in flight. */
size_t cb_queue_len(const cb_queue *q);
size_t cb_queue_in_flight(const cb_queue *q);

/* The earliest due time of a delivery waiting for its time, or -1 when none. */
int64_t cb_queue_next_due(const cb_queue *q);

/* The smallest first_ms of a delivery in the queue (the oldest pending), or -1. */
int64_t cb_queue_oldest(const cb_queue *q);

#endif
