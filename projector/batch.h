/* batch.h -- the messages the projector holds between two SQLite transactions.
 *
 * Both the live loop (projector.c) and the rebuild (rebuild.c) poll messages into a batch,
 * then fold the whole batch in one transaction with proj_apply_batch, retrying with capped
 * backoff while SQLite refuses (a busy or full disk), and drop the messages once folded.
 * A batch is used from one thread. */
#ifndef PROJ_BATCH_H
#define PROJ_BATCH_H

#include "apply.h"

#include <librdkafka/rdkafka.h>
#include <stddef.h>

typedef struct {
	rd_kafka_message_t **held; /* owned messages, n of them */
	proj_msg *msgs;		   /* views of held, filled by proj_batch_fold */
	proj_msg_out *outs;	   /* per-message result of the last fold */
	size_t n, cap;
} proj_batch;

/* Room for cap messages. Returns 0, or -1 when out of memory (b is then empty and may be
 * passed to proj_batch_free). */
int proj_batch_init(proj_batch *b, size_t cap);

/* Drop held messages and free the arrays. */
void proj_batch_free(proj_batch *b);

/* Non-zero when no more messages fit. */
int proj_batch_full(const proj_batch *b);

/* Hold m (ownership moves to the batch). The caller checks proj_batch_full first. */
void proj_batch_add(proj_batch *b, rd_kafka_message_t *m);

/* Destroy the held messages; the batch is empty afterwards. */
void proj_batch_drop(proj_batch *b);

/* Fold every held message into s in one transaction (see proj_apply_batch; dlq may be
 * NULL), retrying with backoff from 100 ms to 5 s until it commits. `what` names the loop
 * in the log. Returns 0 when committed (b->outs tell each message's result), -1 when a
 * stop was requested before it could commit (nothing of it is stored). The messages stay
 * held either way: call proj_batch_drop. */
int proj_batch_fold(proj_batch *b, proj_store *s, const ns_channels *set, const char *topic,
		    proj_dlq_fn *dlq, void *opaque, const char *what);

#endif
