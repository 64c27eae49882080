/* decode.c -- decode-ahead for a batch (see decode.h): a ring of decoded events filled by
 * one thread in message order and emptied by the folding thread in the same order.
 *
 * Two counters carry the hand-over: `decoded` (messages the thread has finished) and
 * `folded` (the index the caller last asked for; every slot of a smaller index is free
 * again). Each side sleeps on a condition variable only when it must, and the other wakes
 * it only when it is asleep: the thread waits for room when it is a full ring ahead, and
 * then until half of the ring is free again, so it wakes about once per half ring, not
 * once per event. */
#include "decode.h"
#include "ns_log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct proj_decoder {
	const proj_msg *msgs;
	size_t n;
	proj_decoded *ring; /* PROJ_DECODE_RING slots; one slot when decoding in place */
	int threaded;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t room;  /* the thread waits here for free slots */
	pthread_cond_t ready; /* the caller waits here for a decoded message */
	atomic_size_t decoded;
	atomic_size_t folded;
	atomic_int thread_waiting, caller_waiting, stop;
};

/* Decode message m into slot. */
static void decode_into(proj_decoded *slot, const proj_msg *m)
{
	slot->reason[0] = '\0';
	slot->rc = ns_event_decode(m->value ? m->value : "", m->value ? m->len : 0, &slot->ev,
				   slot->reason, sizeof(slot->reason));
}

/* Thread side: wait until slot i is free (i < folded + RING: the caller holds the slot of
 * `folded` at most, and the caller may have skipped past i), sleeping until half the ring
 * is free once it is full. Returns non-zero when asked to stop. */
static int wait_room(proj_decoder *d, size_t i)
{
	if (i < atomic_load(&d->folded) + PROJ_DECODE_RING)
		return atomic_load(&d->stop);
	pthread_mutex_lock(&d->mu);
	atomic_store(&d->thread_waiting, 1);
	while (!atomic_load(&d->stop) && i > atomic_load(&d->folded) + PROJ_DECODE_RING / 2)
		pthread_cond_wait(&d->room, &d->mu);
	atomic_store(&d->thread_waiting, 0);
	pthread_mutex_unlock(&d->mu);
	return atomic_load(&d->stop);
}

static void *run(void *arg)
{
	proj_decoder *d = arg;

	for (size_t i = 0; i < d->n; i++) {
		if (wait_room(d, i))
			break;
		decode_into(&d->ring[i % PROJ_DECODE_RING], &d->msgs[i]);
		atomic_store(&d->decoded, i + 1);
		if (atomic_load(&d->caller_waiting)) {
			pthread_mutex_lock(&d->mu);
			pthread_cond_signal(&d->ready);
			pthread_mutex_unlock(&d->mu);
		}
	}
	return NULL;
}

proj_decoder *proj_decoder_start(const proj_msg *msgs, size_t n)
{
	proj_decoder *d = calloc(1, sizeof(*d));
	int want = n >= PROJ_DECODE_AHEAD_MIN;

	if (!d)
		return NULL;
	d->msgs = msgs;
	d->n = n;
	d->ring = malloc((want ? PROJ_DECODE_RING : 1) * sizeof(*d->ring));
	if (!d->ring) {
		free(d);
		return NULL;
	}
	if (!want)
		return d;
	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->room, NULL);
	pthread_cond_init(&d->ready, NULL);
	d->threaded = pthread_create(&d->thread, NULL, run, d) == 0;
	if (!d->threaded)
		NS_WARN("projector.decode_thread", "started=0 messages=%zu", n);
	return d;
}

const proj_decoded *proj_decoder_get(proj_decoder *d, size_t i)
{
	if (!d->threaded) {
		decode_into(&d->ring[0], &d->msgs[i]);
		return &d->ring[0];
	}
	atomic_store(&d->folded, i); /* every slot before i is free again */
	/* the thread's own condition for going on (wait_room), with decoded its next index */
	if (atomic_load(&d->thread_waiting) &&
	    atomic_load(&d->decoded) <= i + PROJ_DECODE_RING / 2) {
		pthread_mutex_lock(&d->mu);
		pthread_cond_signal(&d->room);
		pthread_mutex_unlock(&d->mu);
	}
	if (atomic_load(&d->decoded) <= i) {
		pthread_mutex_lock(&d->mu);
		atomic_store(&d->caller_waiting, 1);
		while (atomic_load(&d->decoded) <= i)
			pthread_cond_wait(&d->ready, &d->mu);
		atomic_store(&d->caller_waiting, 0);
		pthread_mutex_unlock(&d->mu);
	}
	return &d->ring[i % PROJ_DECODE_RING];
}

void proj_decoder_free(proj_decoder *d)
{
	if (!d)
		return;
	if (d->n >= PROJ_DECODE_AHEAD_MIN) {
		if (d->threaded) {
			pthread_mutex_lock(&d->mu);
			atomic_store(&d->stop, 1);
			pthread_cond_signal(&d->room);
			pthread_mutex_unlock(&d->mu);
			pthread_join(d->thread, NULL);
		}
		pthread_cond_destroy(&d->ready);
		pthread_cond_destroy(&d->room);
		pthread_mutex_destroy(&d->mu);
	}
	free(d->ring);
	free(d);
}
