/* webhooks.c -- webhook dispatcher: a binary min-heap on due time, served by a pool of
 * worker threads (each with its own curl handle and keep-alive connection), so that one
 * slow or failing delivery does not hold back the others, as with a real provider. */
#include "webhooks.h"
#include "ns_backoff.h"
#include "ns_log.h"
#include "ns_sign.h"
#include "ns_time.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BACKOFF_CAP_MS 60000

typedef struct {
	int64_t due_ms, first_ms;
	int attempt;
	int64_t ts_ms;
	char event[NS_STATUS_MAX + 1];
	char *external_id;
} hook;

#define MAX_WORKERS 64

struct sim_hooks {
	pthread_t threads[MAX_WORKERS];
	int nthreads;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stop;
	hook *heap;
	size_t n, cap;
	char url[512];
	const char *secret; /* signs every webhook (ns_sign); NULL: unsigned */
	int64_t window_ms;
	ns_backoff retry; /* the ceiling doubles from SIM_RETRY_BASE_MS up to a minute */
	sim_store *store;
	long failures; /* deliveries that got no 2xx (each attempt counts); under lock */
};

static void heap_swap(hook *a, hook *b)
{
	hook t = *a;
	*a = *b;
	*b = t;
}

static int heap_push(sim_hooks *h, const hook *x)
{
	size_t i;

	if (h->n == h->cap) {
		size_t nc = h->cap ? h->cap * 2 : 256;
		hook *nh = realloc(h->heap, nc * sizeof(*nh));
		if (!nh)
			return -1;
		h->heap = nh;
		h->cap = nc;
	}
	i = h->n++;
	h->heap[i] = *x;
	while (i > 0 && h->heap[(i - 1) / 2].due_ms > h->heap[i].due_ms) {
		heap_swap(&h->heap[(i - 1) / 2], &h->heap[i]);
		i = (i - 1) / 2;
	}
	return 0;
}

static hook heap_pop(sim_hooks *h)
{
	hook top = h->heap[0];
	size_t i = 0;

	h->heap[0] = h->heap[--h->n];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < h->n && h->heap[l].due_ms < h->heap[m].due_ms)
			m = l;
		if (r < h->n && h->heap[r].due_ms < h->heap[m].due_ms)
			m = r;
		if (m == i)
			break;
		heap_swap(&h->heap[i], &h->heap[m]);
		i = m;
	}
	return top;
}

static size_t discard(char *p, size_t s, size_t n, void *u)
{
	(void)p;
	(void)u;
	return s * n;
}

/* Post one webhook; returns the HTTP status or 0 on a transport error. */
static long post(CURL *c, const char *url, const char *secret, const hook *k)
{
	char ts[NS_TIME_ISO_LEN], sig[sizeof(NS_SIGN_HEADER) + NS_SIGN_VALUE_LEN + 4];
	json_t *j = json_pack("{s:s, s:s, s:s}", "externalId", k->external_id, "event", k->event,
			      "timestamp", ns_time_format(k->ts_ms, ts));
	char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;
	struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
	long status = 0;

	/* signed as the provider signs: over the exact bytes posted, at the time of posting */
	if (body && hdr && secret && secret[0]) {
		size_t n = (size_t)snprintf(sig, sizeof(sig), "%s: ", NS_SIGN_HEADER);
		if (ns_sign_value(secret, ns_time_now_ms() / 1000, body, strlen(body), sig + n,
				  sizeof(sig) - n) == 0)
			hdr = curl_slist_append(hdr, sig);
	}
	if (body && hdr) {
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
		if (curl_easy_perform(c) == CURLE_OK)
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	}
	curl_slist_free_all(hdr);
	free(body);
	json_decref(j);
	return status;
}

/* Dispatcher worker thread: pops due webhooks, posts them, reschedules failures. */
static void *run(void *arg)
{
	sim_hooks *h = arg;
	CURL *c = curl_easy_init();

	pthread_mutex_lock(&h->lock);
	while (!h->stop) {
		int64_t now = ns_time_now_ms();
		hook k;
		long status;

		if (h->n == 0 || h->heap[0].due_ms > now) {
			int64_t wait = h->n == 0 ? 1000 : h->heap[0].due_ms - now;
			struct timespec until = ns_time_mono_deadline(wait > 1000 ? 1000 : wait);
			pthread_cond_timedwait(&h->cond, &h->lock, &until);
			continue;
		}
		k = heap_pop(h);
		pthread_mutex_unlock(&h->lock);
		status = c ? post(c, h->url, h->secret, &k) : 0;
		now = ns_time_now_ms();
		pthread_mutex_lock(&h->lock);
		if (status >= 200 && status < 300) {
			sim_store_delivered(h->store, k.external_id, k.event);
			free(k.external_id);
			continue;
		}
		h->failures++;
		if (now - k.first_ms >= h->window_ms) {
			NS_WARN("sim.webhook_given_up", "external_id=%s event=%s attempts=%d",
				k.external_id, k.event, k.attempt + 1);
			free(k.external_id);
			continue;
		}
		k.due_ms = now + ns_backoff_ceiling(&h->retry, k.attempt++);
		if (heap_push(h, &k) != 0)
			free(k.external_id);
	}
	pthread_mutex_unlock(&h->lock);
	if (c)
		curl_easy_cleanup(c);
	return NULL;
}

sim_hooks *sim_hooks_start(const char *url, const char *secret, int workers,
			   int64_t retry_window_ms, int64_t retry_base_ms, sim_store *store,
			   char *err, size_t errlen)
{
	sim_hooks *h = calloc(1, sizeof(*h));

	if (!h) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(h->url, sizeof(h->url), "%s", url);
	h->secret = secret;
	h->window_ms = retry_window_ms;
	h->retry = (ns_backoff){.base_ms = retry_base_ms > 0 ? retry_base_ms : 1,
				.cap_ms = BACKOFF_CAP_MS};
	h->store = store;
	pthread_mutex_init(&h->lock, NULL);
	ns_time_cond_init(&h->cond);
	if (workers < 1)
		workers = 1;
	if (workers > MAX_WORKERS)
		workers = MAX_WORKERS;
	for (h->nthreads = 0; h->nthreads < workers; h->nthreads++) {
		if (pthread_create(&h->threads[h->nthreads], NULL, run, h) != 0) {
			snprintf(err, errlen, "pthread_create: %s", strerror(errno));
			sim_hooks_stop(h);
			return NULL;
		}
	}
	return h;
}

int sim_hooks_add(sim_hooks *h, const char *external_id, const char *event, int64_t ts_ms,
		  int64_t due_ms)
{
	hook k;
	int rc;

	memset(&k, 0, sizeof(k));
	k.due_ms = due_ms;
	k.first_ms = due_ms;
	k.ts_ms = ts_ms;
	snprintf(k.event, sizeof(k.event), "%s", event);
	k.external_id = strdup(external_id);
	if (!k.external_id)
		return -1;
	pthread_mutex_lock(&h->lock);
	rc = heap_push(h, &k);
	pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->lock);
	if (rc != 0)
		free(k.external_id);
	return rc;
}

long sim_hooks_pending(sim_hooks *h)
{
	long n;
	pthread_mutex_lock(&h->lock);
	n = (long)h->n;
	pthread_mutex_unlock(&h->lock);
	return n;
}

long sim_hooks_failures(sim_hooks *h)
{
	long n;
	pthread_mutex_lock(&h->lock);
	n = h->failures;
	pthread_mutex_unlock(&h->lock);
	return n;
}

void sim_hooks_stop(sim_hooks *h)
{
	size_t i;

	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	h->stop = 1;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
	for (int t = 0; t < h->nthreads; t++)
		pthread_join(h->threads[t], NULL);
	for (i = 0; i < h->n; i++)
		free(h->heap[i].external_id);
	free(h->heap);
	pthread_mutex_destroy(&h->lock);
	pthread_cond_destroy(&h->cond);
	free(h);
}
