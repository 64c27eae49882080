/* state.h -- the sender worker's state, shared by the files that make up the worker: the
 * loop and the rebalance hooks (worker.c), the provider-call state machine and its
 * outcomes (dispatch.c), the job table (jobs.h) and the partitions (partitions.h).
 *
 * Everything here belongs to the worker thread, except `ready` (read by /readyz on an
 * HTTP thread) and the completion list under dlock (filled by the producer's delivery
 * callback on the producer's poll thread). */
#ifndef SENDER_STATE_H
#define SENDER_STATE_H

#include "jobs.h"
#include "partitions.h"
#include "provider.h"
#include "ratelimit.h"
#include "worker.h"

#include "ns_backoff.h"
#include "ns_kafka.h"
#include "ns_metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

typedef struct {
	ns_counter *accepted, *refused, *transient; /* provider send calls by result */
	ns_counter *exists;			    /* exists(externalId) calls */
	ns_counter *dispatched, *failed;	    /* outcome events acked */
	ns_counter *ignored;			    /* consumed, not a requested event */
	ns_counter *abandoned;			    /* jobs left to the next owner */
	ns_gauge *inflight;			    /* jobs in the table */
	ns_histogram *provider;			    /* provider call duration */
	/* where a job's time goes: waiting to start, exists(), send, the outcome's ack */
	ns_histogram *stage_wait, *stage_exists, *stage_send, *stage_ack;
	ns_histogram *job; /* consumed -> outcome acked */
} sender_metrics;

struct sender_worker {
	const sender_config *cfg;
	sender_ratelimit *rl;
	ns_backoff bo;
	uint64_t rng; /* ns_rand state for the jitter */
	ns_consumer *c;
	ns_producer *prod;
	sender_provider *prov;
	sender_jobs jobs;
	sender_parts parts;
	int assign_changed; /* an assign or revoke happened since the last flow control */
	atomic_int ready;
	pthread_mutex_t dlock;
	sender_job *done_head; /* completions from the producer thread, under dlock */
	sender_metrics m;
};

#endif
