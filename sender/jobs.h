/* jobs.h -- the sender's job table: every `requested` event being worked on, in
 * consumption order, with one active job per notification (its reference: tenant and
 * externalId) and the others queued behind it.
 *
 * A job is one consumed `requested` event. Only the active job of an externalId runs;
 * later requests for the same notification wait in its queue (state SENDER_JOB_WAITING)
 * and the next one becomes active when the active job is released, so a notification's
 * outcomes follow the order of its requests. The list keeps consumption order: jobs that
 * are due start oldest first, so the committable prefix of each partition advances.
 *
 * Pure data structure (no I/O, no clock: callers pass the time). Not thread-safe: the
 * sender's worker thread owns the table and its jobs. */
#ifndef SENDER_JOBS_H
#define SENDER_JOBS_H

#include "ns_event.h"

#include <stddef.h>
#include <stdint.h>

#define SENDER_JOBS_BUCKETS 4096

typedef enum {
	SENDER_JOB_WAITING = 0, /* another job of the same externalId is active */
	SENDER_JOB_READY,	/* due at due_ms: start (exists or send) */
	SENDER_JOB_HTTP,	/* a provider request is in flight */
	SENDER_JOB_PRODUCE,	/* outcome built; (re)produce it at due_ms */
	SENDER_JOB_PRODUCING,	/* outcome produced, waiting for its delivery report */
} sender_job_state;

typedef struct sender_job sender_job;

struct sender_job {
	void *owner;		 /* the worker, for callbacks that only get the job */
	sender_job *prev, *next; /* the table's list, consumption order */
	sender_job *hnext;	 /* hash chain of active jobs */
	sender_job *wnext;	 /* jobs of the same externalId waiting behind this one */
	sender_job *dnext;	 /* the worker's completion list (delivery reports) */
	int active;		 /* in the hash: the externalId's running job */
	int32_t partition;
	int64_t offset;
	uint64_t gen; /* generation of the partition's ownership when consumed */
	sender_job_state state;
	int need_exists;	  /* ask exists(externalId) before the next send */
	int attempt;		  /* failed attempts so far (backoff) */
	int abandoned;		  /* partition gone: free when its callback comes, nothing else */
	int64_t first_ms, due_ms; /* monotonic: first attempt, next action */
	double consumed_s, produced_s; /* monotonic seconds: stage timing (metrics) */
	int started;		       /* its first provider call was made */
	int dr_err;		       /* delivery report error (rd_kafka_resp_err_t) */
	char last_error[160];	       /* the last provider failure, for the failed reason */
	char ref[NS_REF_MAX + 1];      /* "<tenant>:<externalId>": the table's key, the Kafka key
					  and the id the provider knows (ns_event_ref) */
	ns_event req;		       /* the requested event */
	ns_event out;		       /* the outcome event (dispatched / failed) */
};

typedef struct {
	sender_job *head, *tail; /* every job, oldest first */
	int count;
	sender_job *hash[SENDER_JOBS_BUCKETS];
} sender_jobs;

/* An empty table. */
void sender_jobs_init(sender_jobs *t);

/* Append j (zeroed by the caller but for partition, offset, gen, ref and req) at now_ms, taking
 * ownership. It becomes the active job of its externalId (SENDER_JOB_READY, due now) when
 * there is none, else waits behind the last one (SENDER_JOB_WAITING). Returns 1 when
 * active, 0 when waiting. */
int sender_jobs_add(sender_jobs *t, sender_job *j, int64_t now_ms);

/* The active job of the notification ref, or NULL. */
sender_job *sender_jobs_active(const sender_jobs *t, const char *ref);

/* Remove j and free it. When j was active, the next job of its externalId becomes active
 * (READY, due at now_ms, its first attempt now) and is returned; else NULL. */
sender_job *sender_jobs_release(sender_jobs *t, sender_job *j, int64_t now_ms);

/* Forget every job of partition: none of them is active any more; those in flight
 * (HTTP, PRODUCING) are marked abandoned and stay until their callback releases them,
 * the others are freed now. Already abandoned jobs are left alone. Returns the number of
 * jobs forgotten (freed or newly abandoned). */
int sender_jobs_forget_partition(sender_jobs *t, int32_t partition);

/* Non-zero when a job of one of the n partitions ps is not abandoned. */
int sender_jobs_busy(const sender_jobs *t, const int32_t *ps, int n);

/* Free every job (the table is empty afterwards). */
void sender_jobs_free(sender_jobs *t);

#endif
