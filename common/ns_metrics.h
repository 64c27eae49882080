/* ns_metrics.h -- Prometheus metrics: counters, gauges and histograms, text exposition.
 *
 * Metrics are registered once (at start, from any thread) and updated lock-free with
 * atomics from any thread. A metric is a name plus an optional label set written as
 * Prometheus text, e.g. ns_metrics_counter("http_requests_total", "route=\"/webhooks\",
 * code=\"202\"", "HTTP requests served"). Registering the same name and labels twice
 * returns the same metric. */
#ifndef NS_METRICS_H
#define NS_METRICS_H

#include <stdint.h>

typedef struct ns_counter ns_counter;
typedef struct ns_gauge ns_gauge;
typedef struct ns_histogram ns_histogram;

/* Register or look up. labels may be NULL or "". Return NULL only when out of memory, the
 * registry is full (512 metrics) or name is already registered as another kind; updating a
 * NULL metric is a no-op, so callers need not check. The metric lives until
 * ns_metrics_reset. */
ns_counter *ns_metrics_counter(const char *name, const char *labels, const char *help);
ns_gauge *ns_metrics_gauge(const char *name, const char *labels, const char *help);
/* Buckets are latency seconds: 0.001 0.0025 0.005 0.01 0.025 0.05 0.1 0.25 0.5 1 2.5 5 10
 * (upper bounds, inclusive), plus +Inf. Negative observations count as 0. */
ns_histogram *ns_metrics_histogram(const char *name, const char *labels, const char *help);

void ns_counter_add(ns_counter *c, uint64_t n);
void ns_gauge_set(ns_gauge *g, int64_t v);
void ns_gauge_add(ns_gauge *g, int64_t delta);
void ns_histogram_observe(ns_histogram *h, double seconds);

/* Render every metric in the Prometheus text format (0.0.4), grouped by name in order of
 * first registration, one # HELP / # TYPE per name. Returns a malloc'd string the caller
 * frees, or NULL when out of memory (or over 8 MiB). */
char *ns_metrics_render(void);

/* Drop every metric (tests, and the end of main for leak checkers). Every pointer returned
 * before is invalid afterwards: stop all threads that update metrics first. */
void ns_metrics_reset(void);

#endif
