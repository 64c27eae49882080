/* ns_metrics.c -- a fixed-size registry of counters, gauges and histograms with the
 * Prometheus text exposition (format 0.0.4).
 *
 * The registry lock is taken only to register, render and reset; updates are C11 atomics
 * on the metric itself, so hot paths never contend on a lock. Histogram sums are kept as
 * integer nanoseconds (atomic add, exact decimal rendering); buckets are stored
 * non-cumulative and summed when rendering, so _count always equals the +Inf bucket. */
#include "ns_metrics.h"
#include "ns_log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_METRICS_MAX	  512
#define NS_METRICS_RENDER (8u << 20) /* cap of the rendered text */

static const double bucket_le[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
				   0.25,  0.5,	  1,	 2.5,  5,     10};
static const char *const bucket_txt[] = {"0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1",
					 "0.25",  "0.5",    "1",     "2.5",  "5",     "10"};
#define NBUCKETS (sizeof(bucket_le) / sizeof(bucket_le[0]))

struct ns_counter {
	atomic_uint_fast64_t v;
};

struct ns_gauge {
	atomic_int_fast64_t v;
};

struct ns_histogram {
	atomic_uint_fast64_t bucket[NBUCKETS + 1]; /* last: above the largest bound */
	atomic_uint_fast64_t sum_ns;
};

typedef enum { M_COUNTER, M_GAUGE, M_HISTOGRAM } metric_kind;

typedef struct {
	metric_kind kind;
	char *name;
	char *labels; /* "" when none */
	char *help;
	union {
		struct ns_counter c;
		struct ns_gauge g;
		struct ns_histogram h;
	} u;
} metric;

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static metric *reg[NS_METRICS_MAX];
static int reg_n;

static const char *kind_name(metric_kind k)
{
	return k == M_COUNTER ? "counter" : k == M_GAUGE ? "gauge" : "histogram";
}

static void metric_free(metric *m)
{
	if (!m)
		return;
	free(m->name);
	free(m->labels);
	free(m->help);
	free(m);
}

/* Find or add name{labels}. Returns the metric, or NULL (full, out of memory, or the name
 * is already registered as another kind). */
static metric *metric_get(metric_kind kind, const char *name, const char *labels, const char *help)
{
	metric *m = NULL;
	int i;

	if (!name || !name[0])
		return NULL;
	if (!labels)
		labels = "";
	pthread_mutex_lock(&reg_mu);
	for (i = 0; i < reg_n; i++) {
		if (strcmp(reg[i]->name, name) != 0)
			continue;
		if (reg[i]->kind != kind) {
			NS_WARN("metrics.kind_mismatch", "name=%s has=%s wanted=%s", name,
				kind_name(reg[i]->kind), kind_name(kind));
			goto out;
		}
		if (strcmp(reg[i]->labels, labels) == 0) {
			m = reg[i];
			goto out;
		}
	}
	if (reg_n >= NS_METRICS_MAX) {
		NS_WARN("metrics.full", "name=%s cap=%d", name, NS_METRICS_MAX);
		goto out;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		goto out;
	m->kind = kind;
	m->name = strdup(name);
	m->labels = strdup(labels);
	m->help = strdup(help ? help : "");
	if (!m->name || !m->labels || !m->help) {
		metric_free(m);
		m = NULL;
		goto out;
	}
	reg[reg_n++] = m;
out:
	pthread_mutex_unlock(&reg_mu);
	return m;
}

ns_counter *ns_metrics_counter(const char *name, const char *labels, const char *help)
{
	metric *m = metric_get(M_COUNTER, name, labels, help);
	return m ? &m->u.c : NULL;
}

ns_gauge *ns_metrics_gauge(const char *name, const char *labels, const char *help)
{
	metric *m = metric_get(M_GAUGE, name, labels, help);
	return m ? &m->u.g : NULL;
}

ns_histogram *ns_metrics_histogram(const char *name, const char *labels, const char *help)
{
	metric *m = metric_get(M_HISTOGRAM, name, labels, help);
	return m ? &m->u.h : NULL;
}

void ns_counter_add(ns_counter *c, uint64_t n)
{
	if (c)
		atomic_fetch_add_explicit(&c->v, n, memory_order_relaxed);
}

void ns_gauge_set(ns_gauge *g, int64_t v)
{
	if (g)
		atomic_store_explicit(&g->v, v, memory_order_relaxed);
}

void ns_gauge_add(ns_gauge *g, int64_t delta)
{
	if (g)
		atomic_fetch_add_explicit(&g->v, delta, memory_order_relaxed);
}

void ns_histogram_observe(ns_histogram *h, double seconds)
{
	size_t i;

	if (!h)
		return;
	if (!(seconds > 0)) /* negative and NaN count as zero */
		seconds = 0;
	for (i = 0; i < NBUCKETS && seconds > bucket_le[i]; i++)
		;
	atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
	if (seconds > 1e9) /* keep the nanosecond sum from overflowing on nonsense */
		seconds = 1e9;
	atomic_fetch_add_explicit(&h->sum_ns, (uint64_t)(seconds * 1e9 + 0.5),
				  memory_order_relaxed);
}

/* ---- rendering ---------------------------------------------------------------------- */

typedef struct {
	char *s;
	size_t len, cap;
	int failed;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = 1;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		{
			size_t ncap = b->cap * 2;
			char *ns;
			while (ncap - b->len <= (size_t)n)
				ncap *= 2;
			if (ncap > NS_METRICS_RENDER) {
				b->failed = 1;
				return;
			}
			ns = realloc(b->s, ncap);
			if (!ns) {
				b->failed = 1;
				return;
			}
			b->s = ns;
			b->cap = ncap;
		}
	}
}

/* HELP text escapes backslash and newline. */
static void sb_help(sbuf *b, const char *help)
{
	for (; *help; help++) {
		if (*help == '\\')
			sb_printf(b, "\\\\");
		else if (*help == '\n')
			sb_printf(b, "\\n");
		else
			sb_printf(b, "%c", *help);
	}
}

/* "{labels}" or "" for series lines. */
static void sb_series(sbuf *b, const char *name, const char *suffix, const char *labels)
{
	if (labels[0])
		sb_printf(b, "%s%s{%s}", name, suffix, labels);
	else
		sb_printf(b, "%s%s", name, suffix);
}

static void render_one(sbuf *b, const metric *m)
{
	switch (m->kind) {
	case M_COUNTER:
		sb_series(b, m->name, "", m->labels);
		sb_printf(
		    b, " %llu\n",
		    (unsigned long long)atomic_load_explicit(&m->u.c.v, memory_order_relaxed));
		break;
	case M_GAUGE:
		sb_series(b, m->name, "", m->labels);
		sb_printf(b, " %lld\n",
			  (long long)atomic_load_explicit(&m->u.g.v, memory_order_relaxed));
		break;
	case M_HISTOGRAM: {
		uint64_t cum = 0, ns, frac;
		const char *sep = m->labels[0] ? "," : "";
		size_t i;
		for (i = 0; i <= NBUCKETS; i++) {
			cum += atomic_load_explicit(&m->u.h.bucket[i], memory_order_relaxed);
			sb_printf(b, "%s_bucket{%s%sle=\"%s\"} %llu\n", m->name, m->labels, sep,
				  i < NBUCKETS ? bucket_txt[i] : "+Inf", (unsigned long long)cum);
		}
		ns = atomic_load_explicit(&m->u.h.sum_ns, memory_order_relaxed);
		sb_series(b, m->name, "_sum", m->labels);
		frac = ns % 1000000000ull;
		if (frac) {
			char digits[16];
			int k;
			snprintf(digits, sizeof(digits), "%09llu", (unsigned long long)frac);
			for (k = 8; k > 0 && digits[k] == '0'; k--)
				digits[k] = '\0';
			sb_printf(b, " %llu.%s\n", (unsigned long long)(ns / 1000000000ull),
				  digits);
		} else {
			sb_printf(b, " %llu\n", (unsigned long long)(ns / 1000000000ull));
		}
		sb_series(b, m->name, "_count", m->labels);
		sb_printf(b, " %llu\n", (unsigned long long)cum);
		break;
	}
	}
}

char *ns_metrics_render(void)
{
	sbuf b = {malloc(4096), 0, 4096, 0};
	unsigned char done[NS_METRICS_MAX];
	int i, j;

	if (!b.s)
		return NULL;
	b.s[0] = '\0';
	memset(done, 0, sizeof(done));
	pthread_mutex_lock(&reg_mu);
	/* Group by name, in order of first registration: one HELP/TYPE per family. */
	for (i = 0; i < reg_n; i++) {
		if (done[i])
			continue;
		sb_printf(&b, "# HELP %s ", reg[i]->name);
		sb_help(&b, reg[i]->help);
		sb_printf(&b, "\n# TYPE %s %s\n", reg[i]->name, kind_name(reg[i]->kind));
		for (j = i; j < reg_n; j++) {
			if (done[j] || strcmp(reg[j]->name, reg[i]->name) != 0)
				continue;
			render_one(&b, reg[j]);
			done[j] = 1;
		}
	}
	pthread_mutex_unlock(&reg_mu);
	if (b.failed) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

void ns_metrics_reset(void)
{
	int i;

	pthread_mutex_lock(&reg_mu);
	for (i = 0; i < reg_n; i++) {
		metric_free(reg[i]);
		reg[i] = NULL;
	}
	reg_n = 0;
	pthread_mutex_unlock(&reg_mu);
}
