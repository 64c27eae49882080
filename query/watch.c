/* watch.c -- inotify on the read model's folder, a generation counter and a condition
 * variable for the waiters (see watch.h). The watcher thread polls its inotify descriptor
 * with a short timeout so that it notices a stop. */
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

struct query_watch {
	int fd;
	char name[256], wal[272]; /* the file's name in its folder, and its -wal's */
	pthread_t thread;
	atomic_int stop;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t gen;
};

/* Move the generation on and wake every waiter. */
static void bump(query_watch *w)
{
	pthread_mutex_lock(&w->mu);
	w->gen++;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* Read what inotify has; bump once when any event names the database or its -wal.
 * Returns non-zero when it bumped. */
static int drain(query_watch *w)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n = read(w->fd, buf, sizeof(buf));
	int hit = 0;

	for (char *p = buf; n > 0 && p < buf + n;) {
		const struct inotify_event *e = (const struct inotify_event *)p;
		if (e->len && (!strcmp(e->name, w->name) || !strcmp(e->name, w->wal)))
			hit = 1;
		p += sizeof(*e) + e->len;
	}
	if (hit)
		bump(w);
	return hit;
}

/* The watcher thread. A commit writes the -wal, then publishes itself in the shared index
 * (-shm, memory-mapped: no event): a trailing bump once writes have paused for a moment
 * lets a waiter that looked too early look again. */
static void *watch_main(void *arg)
{
	query_watch *w = arg;
	int pending = 0;

	while (!atomic_load(&w->stop)) {
		struct pollfd p = {w->fd, POLLIN, 0};
		int r = poll(&p, 1, pending ? 2 : 200);
		if (r > 0)
			pending |= drain(w);
		else if (r == 0 && pending) {
			bump(w);
			pending = 0;
		}
	}
	return NULL;
}

query_watch *query_watch_start(const char *db_path)
{
	query_watch *w = calloc(1, sizeof(*w));
	const char *slash = strrchr(db_path, '/');
	char dir[PATH_CAP];
	pthread_condattr_t ca;

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
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&w->thread, NULL, watch_main, w) != 0) {
		pthread_cond_destroy(&w->cv);
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
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_nsec += (long)timeout_ms * 1000000L;
	until.tv_sec += until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&w->mu);
	while (w->gen == gen && pthread_cond_timedwait(&w->cv, &w->mu, &until) == 0)
		;
	g = w->gen;
	pthread_mutex_unlock(&w->mu);
	return g;
}

void query_watch_stop(query_watch *w)
{
	if (!w)
		return;
	atomic_store(&w->stop, 1);
	pthread_join(w->thread, NULL);
	close(w->fd);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}
