/* checkpoint.c -- PASSIVE WAL checkpoints on a thread of their own (see checkpoint.h). */
#include "checkpoint.h"
#include "ns_log.h"
#include "ns_metrics.h"
#include "ns_readmodel.h"
#include "ns_time.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The WAL size at which the writer checkpoints after all (see on_wal). */
#define WAL_HARD_FRAMES (4 * NS_READMODEL_CHECKPOINT_FRAMES)

/* How far the WAL grows, in pages, past the size at which the writer last asked for a
 * checkpoint, before it asks again. Asking after every commit (a backlog commits every few
 * milliseconds) ran a hundred checkpoints a second, each copying the pages that every
 * batch touches (the B-trees' upper levels, the offsets) again and syncing both files
 * twice: a fifth of a core, on the core that the broker and librdkafka share. A gap in
 * time instead let the copy fall behind a fast writer, whose own checkpoint at
 * WAL_HARD_FRAMES then copied the rest on the consume loop. A step in pages keeps the
 * thread's copy within about that many pages of the writer, whatever its rate. */
#define STEP_FRAMES (NS_READMODEL_CHECKPOINT_FRAMES / 2)

struct proj_checkpointer {
	sqlite3 *db;	   /* this thread's own connection */
	proj_store *store; /* borrowed: its WAL hook points here */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* CLOCK_MONOTONIC */
	int due;	   /* the WAL passed the threshold (under mu) */
	int asked_at;	   /* WAL pages when the writer last asked (its thread only), or 0 */
	int stop;	   /* (under mu) */
	int interval_ms;
	ns_counter *runs;
	ns_histogram *seconds;
};

/* After each commit of the store, on the consume loop: a flag and a signal, when the WAL
 * passes the threshold and then once per STEP_FRAMES of growth. A WAL that never stops
 * growing (a writer that never pauses, so no checkpoint ever reaches its end and the WAL
 * never starts over) is checkpointed by the writer itself at WAL_HARD_FRAMES: by then the
 * thread has copied nearly all of it, and the rest is short. */
static int on_wal(void *opaque, int frames)
{
	proj_checkpointer *c = opaque;

	if (frames < NS_READMODEL_CHECKPOINT_FRAMES) {
		c->asked_at = 0;
		return 0;
	}
	if (frames < c->asked_at)
		c->asked_at = 0; /* the WAL started over */
	if (!c->asked_at || frames - c->asked_at >= STEP_FRAMES) {
		c->asked_at = frames;
		pthread_mutex_lock(&c->mu);
		c->due = 1;
		pthread_cond_signal(&c->cv);
		pthread_mutex_unlock(&c->mu);
	}
	return frames >= WAL_HARD_FRAMES;
}

static void checkpoint_once(proj_checkpointer *c)
{
	double t0 = ns_time_mono_s();
	int log = 0, done = 0;
	int rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);

	ns_histogram_observe(c->seconds, ns_time_mono_s() - t0);
	ns_counter_add(c->runs, 1);
	if (rc != SQLITE_OK && rc != SQLITE_BUSY)
		NS_WARN("projector.checkpoint", "rc=%d msg=\"%s\"", rc, sqlite3_errmsg(c->db));
	else
		NS_DEBUG("projector.checkpoint", "frames=%d copied=%d", log, done);
}

static void *checkpoint_main(void *arg)
{
	proj_checkpointer *c = arg;

	(void)pthread_setname_np(pthread_self(), "checkpoint");
	pthread_mutex_lock(&c->mu);
	while (!c->stop) {
		if (!c->due) {
			struct timespec until = ns_time_mono_deadline(c->interval_ms);
			while (!c->due && !c->stop &&
			       pthread_cond_timedwait(&c->cv, &c->mu, &until) != ETIMEDOUT)
				;
		}
		if (c->stop)
			break;
		c->due = 0;
		pthread_mutex_unlock(&c->mu);
		checkpoint_once(c);
		pthread_mutex_lock(&c->mu);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

/* The mutex and a condition variable on the monotonic clock. 0 or -1. */
static int sync_init(proj_checkpointer *c)
{
	if (ns_time_cond_init(&c->cv))
		return -1;
	if (pthread_mutex_init(&c->mu, NULL)) {
		pthread_cond_destroy(&c->cv);
		return -1;
	}
	return 0;
}

proj_checkpointer *proj_checkpointer_start(const char *path, proj_store *s, int interval_ms,
					   char *err, size_t errlen)
{
	proj_checkpointer *c = calloc(1, sizeof(*c));

	if (!c || sync_init(c)) {
		snprintf(err, errlen, "out of memory");
		free(c);
		return NULL;
	}
	c->store = s;
	c->interval_ms = interval_ms > 0 ? interval_ms : 1000;
	c->runs = ns_metrics_counter("projector_checkpoints_total", NULL,
				     "WAL checkpoints run off the commit path");
	c->seconds = ns_metrics_histogram("projector_checkpoint_seconds", NULL,
					  "Time one WAL checkpoint took (its own thread)");
	if (ns_readmodel_open_rw(path, &c->db, err, errlen) != NS_READMODEL_OK)
		goto fail;
	if (pthread_create(&c->thread, NULL, checkpoint_main, c) != 0) {
		snprintf(err, errlen, "pthread_create: %s", strerror(errno));
		goto fail;
	}
	proj_store_wal_hook(s, on_wal, c);
	return c;
fail:
	sqlite3_close(c->db);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	free(c);
	return NULL;
}

void proj_checkpointer_stop(proj_checkpointer *c)
{
	if (!c)
		return;
	proj_store_wal_hook(c->store, NULL, NULL);
	pthread_mutex_lock(&c->mu);
	c->stop = 1;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->thread, NULL);
	sqlite3_close(c->db);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	free(c);
}
