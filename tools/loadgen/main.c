/* main.c -- loadgen: a load generator for `make bench` (a test tool, not in the image).
 *
 * Posts notifications to ingest from LOADGEN_THREADS threads at LOADGEN_RATE per second
 * (0: as fast as they answer), for LOADGEN_COUNT notifications or LOADGEN_SECONDS, and on
 * LOADGEN_PROBES more threads measures POST-to-visible latency through query. Prints one
 * line of JSON with the figures (load.h). */
#include "load.h"

#include "ns_config.h"

#include <curl/curl.h>
#include <stdio.h>

static loadgen_opts o;

static const ns_opt opts[] = {
    {"LOADGEN_INGEST", "ingest", NS_OPT_STR, "http://127.0.0.1:8080", 0, 0, "ingest base URL",
     &o.ingest_url},
    {"LOADGEN_QUERY", "query", NS_OPT_STR, "http://127.0.0.1:8081", 0, 0, "query base URL",
     &o.query_url},
    {"LOADGEN_KEY", "key", NS_OPT_STR, NULL, 0, 0, "API key (<id>.<secret>)", &o.key},
    {"LOADGEN_PREFIX", "prefix", NS_OPT_STR, "load", 0, 0, "externalId prefix", &o.prefix},
    {"LOADGEN_THREADS", "threads", NS_OPT_INT, "16", 0, 4096, "posting threads", &o.threads},
    {"LOADGEN_RATE", "rate", NS_OPT_INT, "0", 0, 10000000, "POSTs per second (0: max)", &o.rate},
    {"LOADGEN_COUNT", "count", NS_OPT_INT, "0", 0, 100000000, "POSTs in all (0: use seconds)",
     &o.count},
    {"LOADGEN_SECONDS", "seconds", NS_OPT_INT, "5", 0, 3600, "run time", &o.seconds},
    {"LOADGEN_PROBES", "probes", NS_OPT_INT, "0", 0, 256, "visibility probe threads", &o.probes},
    {"LOADGEN_PROBE_RATE", "probe-rate", NS_OPT_INT, "50", 1, 100000,
     "visibility probes per second", &o.probe_rate},
};

static const ns_cli cli = {"loadgen",
			   "Load for the benchmarks: paced POST /notifications, and POST-to-"
			   "visible latency probes through query. Prints one JSON line.",
			   opts, sizeof(opts) / sizeof(opts[0])};

int main(int argc, char **argv)
{
	char err[256];
	loadgen_result r;

	switch (ns_config_load(&cli, argc, argv, err, sizeof(err))) {
	case NS_CONFIG_EXIT:
		return 0;
	case NS_CONFIG_ERR:
		fprintf(stderr, "loadgen: %s\n", err);
		return 2;
	default:
		break;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (loadgen_run(&o, &r, err, sizeof(err)) != 0) {
		fprintf(stderr, "loadgen: %s\n", err);
		return 1;
	}
	printf("{\"posted\":%ld,\"failed\":%ld,\"seconds\":%.3f,\"rate\":%.1f,\"probes\":%ld,"
	       "\"probe_failures\":%ld,\"visible_p50_ms\":%.2f,\"visible_p99_ms\":%.2f,"
	       "\"visible_max_ms\":%.2f,\"post_p50_ms\":%.2f,\"post_p99_ms\":%.2f}\n",
	       r.posted, r.failed, r.elapsed_s, r.rate, r.probes, r.probe_failures, r.p50_ms,
	       r.p99_ms, r.max_ms, r.post_p50_ms, r.post_p99_ms);
	curl_global_cleanup();
	return 0;
}
