/* load.h -- the load generator's work: POST notifications to ingest from many threads at a
 * paced rate, and, on probe threads, measure how long a notification takes from ingest's
 * 202 to being visible in query (GET with minPosition, waiting for the projector).
 *
 * Each thread keeps one keep-alive connection (libcurl easy handle). Pacing: every thread
 * has its share of the rate and sends on its own schedule, never faster; when a request
 * takes longer than the interval the thread falls behind, and the achieved rate says so.
 * Latencies are kept per probe and sorted for percentiles at the end. */
#ifndef LOADGEN_LOAD_H
#define LOADGEN_LOAD_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
	const char *ingest_url; /* "http://127.0.0.1:8080" */
	const char *query_url;	/* for probes */
	const char *key;	/* API key (Bearer), or NULL */
	const char *prefix;	/* externalIds are <prefix>-<thread>-<n> */
	long threads;		/* posting threads */
	long rate;	 /* POSTs per second over all posting threads; 0: as fast as possible */
	long count;	 /* stop after this many POSTs (0: run for seconds) */
	long seconds;	 /* run time when count is 0 */
	long probes;	 /* probe threads (0: none) */
	long probe_rate; /* probes per second over all probe threads */
} loadgen_opts;

typedef struct {
	long posted, failed;		 /* 202s, and anything else */
	double elapsed_s;		 /* from the first POST to the last answer */
	double rate;			 /* posted / elapsed */
	long probes;			 /* visibility probes that succeeded */
	long probe_failures;		 /* ... that did not (not visible within the wait) */
	double p50_ms, p99_ms, max_ms;	 /* POST 202 -> visible in GET */
	double post_p50_ms, post_p99_ms; /* POST -> 202 */
} loadgen_result;

/* Run the load described by o. Returns 0 with r filled, or -1 with err. */
int loadgen_run(const loadgen_opts *o, loadgen_result *r, char *err, size_t errlen);

#endif
