/* load.c -- paced POST threads and visibility probes (see load.h). */
#include "load.h"

#include "ns_time.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LAT_CAP 200000 /* latencies kept per kind */

typedef struct {
	char buf[4096];
	size_t len;
} resp_buf;

typedef struct {
	const loadgen_opts *o;
	int id, probe;
	int64_t interval_us; /* between two sends of this thread; 0: back to back */
	atomic_long *budget; /* POSTs left when count is set */
	int64_t end_us;	     /* monotonic end when seconds is set */
	long posted, failed, probes, probe_failures;
	double *post_lat, *vis_lat;
	long npost, nvis;
	int64_t first_us, last_us;
} worker;

static int64_t now_us(void)
{
	return (int64_t)(ns_time_mono_s() * 1e6);
}

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
	resp_buf *b = ud;
	size_t k = sz * n, room = sizeof(b->buf) - 1 - b->len;

	memcpy(b->buf + b->len, p, k < room ? k : room);
	b->len += k < room ? k : room;
	b->buf[b->len] = '\0';
	return k;
}

/* One request on c; returns the HTTP status (0 on a transport error). */
static long request(CURL *c, struct curl_slist *hdrs, const char *url, const char *body,
		    resp_buf *b)
{
	long st = 0;

	b->len = 0;
	b->buf[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POST, 1L);
	} else {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	}
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
	return st;
}

/* Whether this thread may send once more (count budget or time). */
static int more(worker *w)
{
	if (w->o->count > 0 && !w->probe)
		return atomic_fetch_sub(w->budget, 1) > 0;
	return now_us() < w->end_us;
}

/* After a probe's POST: wait (in query) until it is visible; record the latency. */
static void probe_visible(worker *w, CURL *q, struct curl_slist *hdrs, const char *id,
			  const char *post_body, int64_t t_acked)
{
	char url[512], pos[64];
	json_t *j = json_loads(post_body, 0, NULL);
	resp_buf b;

	snprintf(pos, sizeof(pos), "%s",
		 j ? json_string_value(json_object_get(j, "position")) : "");
	json_decref(j);
	snprintf(url, sizeof(url), "%s/notifications/%s?minPosition=%s&waitMs=10000",
		 w->o->query_url, id, pos);
	if (request(q, hdrs, url, NULL, &b) == 200 && w->nvis < LAT_CAP) {
		w->vis_lat[w->nvis++] = (double)(now_us() - t_acked) / 1000.0;
		w->probes++;
	} else {
		w->probe_failures++;
	}
}

static void *worker_main(void *arg)
{
	worker *w = arg;
	CURL *c = curl_easy_init(), *q = curl_easy_init();
	struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	char url[512], body[512], id[128], auth[256];
	int64_t next = now_us();
	long n = 0;
	resp_buf b;

	if (w->o->key) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", w->o->key);
		hdrs = curl_slist_append(hdrs, auth);
	}
	hdrs = curl_slist_append(hdrs, "Expect:");
	snprintf(url, sizeof(url), "%s/notifications", w->o->ingest_url);
	while (c && q && more(w)) {
		int64_t t0, t1;
		long st;
		if (w->interval_us) {
			int64_t now = now_us();
			if (next > now)
				usleep((useconds_t)(next - now));
			next += w->interval_us;
		}
		snprintf(id, sizeof(id), "%s-%s%d-%ld", w->o->prefix, w->probe ? "p" : "", w->id,
			 n++);
		snprintf(body, sizeof(body),
			 "{\"externalId\":\"%s\",\"channel\":\"sms\",\"to\":\"+4915112345678\","
			 "\"body\":\"load\"}",
			 id);
		t0 = now_us();
		if (!w->first_us)
			w->first_us = t0;
		st = request(c, hdrs, url, body, &b);
		t1 = now_us();
		w->last_us = t1;
		if (st != 202) {
			w->failed++;
			continue;
		}
		w->posted++;
		if (w->npost < LAT_CAP)
			w->post_lat[w->npost++] = (double)(t1 - t0) / 1000.0;
		if (w->probe)
			probe_visible(w, q, hdrs, id, b.buf, t1);
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	curl_easy_cleanup(q);
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double pct(const double *v, long n, double p)
{
	long i = (long)(p * (double)(n - 1) + 0.5);
	return n ? v[i < 0 ? 0 : i] : 0;
}

/* Merge the per-thread latencies of one kind, sorted. Caller frees. */
static double *merge(worker *ws, long nw, int vis, long *n)
{
	long total = 0, k = 0;
	double *all;

	for (long i = 0; i < nw; i++)
		total += vis ? ws[i].nvis : ws[i].npost;
	all = malloc(sizeof(double) * (size_t)(total ? total : 1));
	for (long i = 0; all && i < nw; i++) {
		const double *src = vis ? ws[i].vis_lat : ws[i].post_lat;
		long m = vis ? ws[i].nvis : ws[i].npost;
		memcpy(all + k, src, sizeof(double) * (size_t)m);
		k += m;
	}
	if (all)
		qsort(all, (size_t)total, sizeof(double), cmp_double);
	*n = all ? total : 0;
	return all;
}

/* Sum the workers into r. */
static void summarize(worker *ws, long nw, loadgen_result *r)
{
	int64_t first = 0, last = 0;
	long n;
	double *v;

	memset(r, 0, sizeof(*r));
	for (long i = 0; i < nw; i++) {
		r->posted += ws[i].posted;
		r->failed += ws[i].failed;
		r->probes += ws[i].probes;
		r->probe_failures += ws[i].probe_failures;
		if (ws[i].first_us && (!first || ws[i].first_us < first))
			first = ws[i].first_us;
		if (ws[i].last_us > last)
			last = ws[i].last_us;
	}
	r->elapsed_s = last > first ? (double)(last - first) / 1e6 : 0;
	r->rate = r->elapsed_s > 0 ? (double)r->posted / r->elapsed_s : 0;
	v = merge(ws, nw, 1, &n);
	r->p50_ms = pct(v, n, 0.50);
	r->p99_ms = pct(v, n, 0.99);
	r->max_ms = n ? v[n - 1] : 0;
	free(v);
	v = merge(ws, nw, 0, &n);
	r->post_p50_ms = pct(v, n, 0.50);
	r->post_p99_ms = pct(v, n, 0.99);
	free(v);
}

int loadgen_run(const loadgen_opts *o, loadgen_result *r, char *err, size_t errlen)
{
	long nw = o->threads + o->probes, started = 0;
	worker *ws = calloc((size_t)nw, sizeof(*ws));
	pthread_t *t = calloc((size_t)nw, sizeof(*t));
	atomic_long budget = o->count;
	int64_t end = now_us() + (int64_t)o->seconds * 1000000;
	int rc = -1;

	if (!ws || !t) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (long i = 0; i < nw; i++) {
		worker *w = &ws[i];
		w->o = o;
		w->id = (int)i;
		w->probe = i >= o->threads;
		w->budget = &budget;
		w->end_us = end;
		if (w->probe)
			w->interval_us =
			    o->probe_rate > 0 ? 1000000 * o->probes / o->probe_rate : 0;
		else
			w->interval_us = o->rate > 0 ? 1000000 * o->threads / o->rate : 0;
		w->post_lat = malloc(sizeof(double) * LAT_CAP);
		w->vis_lat = w->probe ? malloc(sizeof(double) * LAT_CAP) : NULL;
		if (!w->post_lat || (w->probe && !w->vis_lat) ||
		    pthread_create(&t[i], NULL, worker_main, w) != 0) {
			snprintf(err, errlen, "cannot start thread %ld", i);
			break;
		}
		started++;
	}
	for (long i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	if (started == nw) {
		summarize(ws, nw, r);
		rc = 0;
	}
out:
	for (long i = 0; ws && i < nw; i++) {
		free(ws[i].post_lat);
		free(ws[i].vis_lat);
	}
	free(ws);
	free(t);
	return rc;
}
