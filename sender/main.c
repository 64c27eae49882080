/* main.c -- the sender daemon: configuration, HTTP side (/healthz /readyz /metrics), the
 * worker loop (worker.c) until SIGTERM. */
#include "ratelimit.h"
#include "worker.h"

#include "ns_config.h"
#include "ns_http.h"
#include "ns_log.h"
#include "ns_metrics.h"
#include "ns_signal.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>

static sender_config cfg;
static const char *listen_addr, *default_rate;
static ns_opt_family rates;

static const ns_opt opts[] = {
    {"PROVIDER_URL", "provider-url", NS_OPT_STR, "http://127.0.0.1:9090", 0, 0,
     "provider base URL (POST /messages, GET /messages/{externalId})", &cfg.provider_url},
    {"SENDER_GROUP", "group", NS_OPT_STR, "sender", 0, 0, "Kafka consumer group", &cfg.group},
    NS_OPT_STATUS_TOPIC(&cfg.topic),
    {"SENDER_ADMIN_LISTEN", "admin-listen", NS_OPT_STR, "127.0.0.1:9083", 0, 0,
     "address of /healthz /readyz /metrics", &listen_addr},
    {"SENDER_PROVIDER_TIMEOUT_MS", "provider-timeout-ms", NS_OPT_INT, "5000", 100, 600000,
     "timeout of one provider call", &cfg.provider_timeout_ms},
    {"SENDER_RETRY_BASE_MS", "retry-base-ms", NS_OPT_INT, "200", 1, 600000, "first backoff ceiling",
     &cfg.retry_base_ms},
    {"SENDER_RETRY_CAP_MS", "retry-cap-ms", NS_OPT_INT, "10000", 1, 3600000,
     "largest backoff ceiling", &cfg.retry_cap_ms},
    {"SENDER_RETRY_BUDGET_MS", "retry-budget-ms", NS_OPT_INT, "60000", 0, 86400000,
     "time from the first attempt after which a send is failed", &cfg.retry_budget_ms},
    {"SENDER_MAX_INFLIGHT", "max-inflight", NS_OPT_INT, "256", 1, 100000,
     "jobs at once; partitions pause above it", &cfg.max_inflight},
    {"SENDER_MAX_CONNS", "max-conns", NS_OPT_INT, "256", 1, 10000, "connections to the provider",
     &cfg.max_conns},
    {"SENDER_COMMIT_INTERVAL_MS", "commit-interval-ms", NS_OPT_INT, "1000", 10, 600000,
     "how often completed offsets are committed", &cfg.commit_interval_ms},
    {"SENDER_SHUTDOWN_MS", "shutdown-ms", NS_OPT_INT, "10000", 0, 600000,
     "bound on finishing in-flight sends at revoke and stop", &cfg.shutdown_ms},
    {"SENDER_RATE", "rate", NS_OPT_STR, "0", 0, 0,
     "sends per second per channel, for channels without their own rate (0 = unlimited)",
     &default_rate},
    {"SENDER_RATE_", "rate-", NS_OPT_FAMILY, NULL, 0, 0,
     "sends per second of one channel, e.g. SENDER_RATE_SMS=50 (0 = unlimited)", &rates},
};

static const ns_cli cli = {
    "sender",
    "Consumes requested events, calls the provider, produces dispatched/failed. Kafka client "
    "properties: KAFKA_*.",
    opts, sizeof(opts) / sizeof(opts[0])};

int main(int argc, char **argv)
{
	static sender_ratelimit rl;
	char err[512];
	ns_http *http = NULL;
	sender_worker *w = NULL;
	int rc = 1;

	switch (ns_config_load(&cli, argc, argv, err, sizeof(err))) {
	case NS_CONFIG_EXIT:
		return 0;
	case NS_CONFIG_ERR:
		fprintf(stderr, "sender: %s\n", err);
		return 2;
	default:
		break;
	}
	sender_ratelimit_init(&rl, 0);
	if (sender_ratelimit_configure(&rl, default_rate, &rates, err, sizeof(err)) != 0) {
		fprintf(stderr, "sender: %s\n", err);
		return 2;
	}
	if (ns_signal_install() != 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		NS_ERROR("sender.init", "msg=\"signals or curl init failed\"");
		return 1;
	}
	w = sender_worker_new(&cfg, &rl);
	if (!w) {
		NS_ERROR("sender.init", "msg=\"out of memory\"");
		goto out;
	}
	http = ns_http_admin_start(listen_addr, sender_worker_ready, w, err, sizeof(err));
	if (!http) {
		NS_ERROR("sender.http", "listen=%s err=\"%s\"", listen_addr, err);
		goto out;
	}
	if (sender_worker_run(w, err, sizeof(err)) != 0) {
		NS_ERROR("sender.failed", "err=\"%s\"", err);
		goto out;
	}
	rc = 0;
out:
	ns_http_stop(http);
	sender_worker_free(w);
	curl_global_cleanup();
	ns_metrics_reset();
	NS_INFO("sender.stopped", "rc=%d", rc);
	return rc;
}
