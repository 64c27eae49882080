/* watch.c -- inotify on the read model's folder, a generation counter and a condition
 * variable for the waiters (see watch.h).
 *
 * SQLite appends a commit to the -wal in two writes per page, and each write is an inotify
 * event: a batch of twenty pages is forty. A watcher that woke, read and broadcast on each
 * one took a wake-up per write from the writer's core, on a machine whose two cores the
 * projector shares with everything else, and woke every waiter forty times per commit.
 * So the thread sleeps, leaving the events to queue (the kernel merges repeats), while no
 * request waits; with waiters, it lets a burst of writes pause before it wakes them, once. */
#include "watch.h"

#include "ns_log.h"
#include "ns_time.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#define PATH_CAP 4096

/* How long the -wal must stay unwritten before the waiters are woken, and how many such
 * looks at most before they are woken anyway (a writer that never pauses). */
#define QUIET_US     500
#define QUIET_ROUNDS 4

struct query_watch {
	int fd;
	char name[256], wal[272]; /* the file's name in its folder, and its -wal's */
	pthread_t thread;
	atomic_int stop;
	pthread_mutex_t mu;
	pthread_cond_t cv;   /* waiters: the generation moved */
	pthread_cond_t idle; /* the thread: a first waiter came, or stop */
	uint64_t gen;	     /* (under mu) */
	int waiting;	     /* waiters in query_watch_wait (under mu) */
};

/* Move the generation on and wake every waiter. */
static void bump(query_watch *w)
{
	pthread_mutex_lock(&w->mu);
	w->gen++;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* Read everything inotify has queued. Returns non-zero when an event names the database or
 * its -wal (or the queue overflowed, which may have hidden one). */
static int drain(query_watch *w)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;
	int hit = 0;

	while ((n = read(w->fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *e = (const struct inotify_event *)p;
			if ((e->mask & IN_Q_OVERFLOW) ||
			    (e->len && (!strcmp(e->name, w->name) || !strcmp(e->name, w->wal))))
				hit = 1;
			p += sizeof(*e) + e->len;
		}
	}
	return hit;
}

/* Block until some request waits (or stop, or 200 ms). Returns non-zero when one does. */
static int await_waiters(query_watch *w)
{
	struct timespec until;
	int n;

	until = ns_time_mono_deadline(200);
	pthread_mutex_lock(&w->mu);
	while (!w->waiting && !atomic_load(&w->stop) &&
	       pthread_cond_timedwait(&w->idle, &w->mu, &until) == 0)
		;
	n = w->waiting;
	pthread_mutex_unlock(&w->mu);
	return n > 0;
}

/* The watcher thread. A commit writes the -wal, then publishes itself in the shared index
 * (-shm, memory-mapped: no event), so the waiters are woken once the writes have paused
 * for QUIET_US: by then the commit is visible, or the wait's next event or fallback timer
 * lets them look again. Events that queued while nobody waited are read when the first
 * waiter comes, and wake it to look once more (a commit may have landed after its look). */
static void *watch_main(void *arg)
{
	query_watch *w = arg;

	while (!atomic_load(&w->stop)) {
		struct pollfd p = {w->fd, POLLIN, 0};
		if (!await_waiters(w) || poll(&p, 1, 200) <= 0 || !drain(w))
			continue;
		for (int i = 0; i < QUIET_ROUNDS && !atomic_load(&w->stop); i++) {
			usleep(QUIET_US);
			if (!drain(w))
				break;
		}
		bump(w);
	}
	return NULL;
}

query_watch *query_watch_start(const char *db_path)
{
	query_watch *w = calloc(1, sizeof(*w));
	const char *slash = strrchr(db_path, '/');
	char dir[PATH_CAP];

	if (!w)
		return NULL;
	w->fd = -1;
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == db_path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - db_path), db_path);
	snprintf(w->name, sizeof(w->name), "%s", slash ? slash + 1 : db_path);
	snprintf(w->wal, sizeof(w->wal), "%s-wal", w->name);
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0 ||
	    inotify_add_watch(w->fd, dir, IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE) <
		0) {
		NS_WARN("query.watch", "dir=%s err=\"%s\" msg=\"waits fall back to a timer\"", dir,
			strerror(errno));
		goto fail;
	}
	pthread_mutex_init(&w->mu, NULL);
	ns_time_cond_init(&w->cv);
	ns_time_cond_init(&w->idle);
	if (pthread_create(&w->thread, NULL, watch_main, w) != 0) {
		pthread_cond_destroy(&w->cv);
		pthread_cond_destroy(&w->idle);
		pthread_mutex_destroy(&w->mu);
		goto fail;
	}
	return w;
fail:
	if (w->fd >= 0)
		close(w->fd);
	free(w);
	return NULL;
}

uint64_t query_watch_gen(query_watch *w)
{
	uint64_t g;

	if (!w)
		return 0;
	pthread_mutex_lock(&w->mu);
	g = w->gen;
	pthread_mutex_unlock(&w->mu);
	return g;
}

uint64_t query_watch_wait(query_watch *w, uint64_t gen, int timeout_ms)
{
	struct timespec until;
	uint64_t g;

	if (timeout_ms > QUERY_WATCH_FALLBACK_MS)
		timeout_ms = QUERY_WATCH_FALLBACK_MS;
	if (timeout_ms < 0)
		timeout_ms = 0;
	if (!w) {
		usleep((useconds_t)timeout_ms * 1000);
		return gen;
	}
	until = ns_time_mono_deadline(timeout_ms);
	pthread_mutex_lock(&w->mu);
	if (w->waiting++ == 0)
		pthread_cond_signal(&w->idle);
	while (w->gen == gen && pthread_cond_timedwait(&w->cv, &w->mu, &until) == 0)
		;
	w->waiting--;
	g = w->gen;
	pthread_mutex_unlock(&w->mu);
	return g;
}

void query_watch_stop(query_watch *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	atomic_store(&w->stop, 1);
	pthread_cond_signal(&w->idle);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	close(w->fd);
	pthread_cond_destroy(&w->cv);
	pthread_cond_destroy(&w->idle);
	pthread_mutex_destroy(&w->mu);
	free(w);
}
