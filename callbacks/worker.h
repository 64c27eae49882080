/* worker.h -- the callback worker's loop: changelog records in, signed POSTs out.
 *
 * Consumes the changelog topic (read_committed: only committed changes) in a consumer
 * group. Every record with a callbackUrl becomes a delivery (queue.h) POSTed to that URL
 * (http.h), signed with the tenant's secret (secrets.h). 2xx is success; anything else,
 * a timeout or a refused connection is retried with exponential backoff and full jitter
 * (CALLBACKS_RETRY_BASE_MS doubling to CALLBACKS_RETRY_CAP_MS) within a window of
 * CALLBACKS_RETRY_WINDOW_S from the first attempt; after it the record goes to the
 * dead-letter topic with the reason. Each attempt is written to the status topic as a
 * "callback" event (history: GET /notifications/{id}/callbacks), keyed like the
 * notification's other events.
 *
 * At least once: a record's offset is committed only after its delivery succeeded or was
 * dead-lettered and its final attempt event was acked (ns_tracker: the contiguous done
 * prefix per partition), so a crash repeats deliveries, with the same delivery id, and
 * loses none. Everything runs on the caller's thread: a new record, a finished POST or an
 * ack each wake the loop at once (the consumer's wake fd and curl's wakeup). */
#ifndef CB_WORKER_H
#define CB_WORKER_H

#include <stddef.h>

typedef struct {
	const char *changelog;	  /* CHANGELOG_TOPIC: the input */
	const char *status_topic; /* STATUS_TOPIC: where attempt events go */
	const char *group;	  /* CALLBACKS_GROUP */
	const char *dlq_topic;	  /* CALLBACKS_DLQ_TOPIC ("": <changelog>.callbacks.dlq) */
	const char *secrets_file; /* CALLBACK_SECRETS_FILE */
	const char *secret;	  /* CALLBACK_SECRET */
	long per_host;		  /* CALLBACKS_PER_HOST: attempts in flight per host */
	long in_flight;		  /* CALLBACKS_IN_FLIGHT: attempts in flight in all */
	long max_pending;	  /* CALLBACKS_MAX_PENDING: deliveries held before pausing */
	long timeout_ms;	  /* CALLBACKS_TIMEOUT_MS: one attempt */
	long retry_base_ms, retry_cap_ms;
	long window_s;	    /* CALLBACKS_RETRY_WINDOW_S */
	long allow_private; /* CALLBACKS_ALLOW_PRIVATE */
} cb_config;

typedef struct cb_worker cb_worker;

/* A worker for cfg (borrowed): loads the secrets, registers the metrics. NULL with err. */
cb_worker *cb_worker_new(const cb_config *cfg, char *err, size_t errlen);

/* /readyz: the loop runs with a healthy consumer and producer. Any thread. */
int cb_worker_ready(void *opaque);

/* Run until SIGTERM/SIGINT or a fatal error. On a stop, attempts in flight are abandoned
 * (their records are not committed: the next owner delivers them again). Returns 0 after a
 * clean stop, -1 otherwise (logged). Call once. */
int cb_worker_run(cb_worker *w);

/* Free w after cb_worker_run (or instead of it). NULL is a no-op. */
void cb_worker_free(cb_worker *w);

#endif
