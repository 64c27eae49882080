/* batch.c -- held messages and their one-transaction fold with retry (see batch.h). */
#include "batch.h"
#include "ns_backoff.h"
#include "ns_log.h"
#include "ns_signal.h"

#include <stdlib.h>

int proj_batch_init(proj_batch *b, size_t cap)
{
	b->n = 0;
	b->cap = cap;
	b->held = calloc(cap, sizeof(*b->held));
	b->msgs = calloc(cap, sizeof(*b->msgs));
	b->outs = calloc(cap, sizeof(*b->outs));
	if (b->held && b->msgs && b->outs)
		return 0;
	proj_batch_free(b);
	return -1;
}

void proj_batch_free(proj_batch *b)
{
	if (b->held)
		proj_batch_drop(b);
	free(b->held);
	free(b->msgs);
	free(b->outs);
	b->held = NULL;
	b->msgs = NULL;
	b->outs = NULL;
	b->cap = 0;
}

int proj_batch_full(const proj_batch *b)
{
	return b->n >= b->cap;
}

void proj_batch_add(proj_batch *b, rd_kafka_message_t *m)
{
	b->held[b->n++] = m;
}

void proj_batch_drop(proj_batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		rd_kafka_message_destroy(b->held[i]);
	b->n = 0;
}

int proj_batch_fold(proj_batch *b, proj_store *s, const ns_channels *set, const char *topic,
		    proj_dlq_fn *dlq, void *opaque, const char *what)
{
	static const ns_backoff retry = {.base_ms = 100, .cap_ms = 5000};
	char err[256];
	int attempt = 0;

	for (size_t i = 0; i < b->n; i++) {
		const rd_kafka_message_t *m = b->held[i];
		b->msgs[i] =
		    (proj_msg){m->partition, m->offset, m->key, m->key_len, m->payload, m->len};
	}
	while (b->n && proj_apply_batch(s, set, topic, b->msgs, b->n, b->outs, dlq, opaque, err,
					sizeof(err)) != 0) {
		int64_t wait = ns_backoff_ceiling(&retry, attempt++);
		NS_ERROR("projector.batch_failed", "loop=%s messages=%zu err=\"%s\" retry_ms=%lld",
			 what, b->n, err, (long long)wait);
		if (ns_signal_sleep_ms((int)wait))
			return -1;
	}
	return 0;
}
