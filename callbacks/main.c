/* main.c -- callbacks: POSTs every applied change of a notification that asked for it
 * (callbackUrl) to that URL, signed, in version order, retried within a window, then
 * dead-lettered (worker.h). */
#include "ns_config.h"
#include "ns_http.h"
#include "ns_log.h"
#include "ns_metrics.h"
#include "ns_signal.h"
#include "worker.h"

#include <curl/curl.h>
#include <stdio.h>

static cb_config cfg;
static const char *listen_addr;

static const ns_opt opts[] = {
    NS_OPT_CHANGELOG_TOPIC(&cfg.changelog),
    NS_OPT_STATUS_TOPIC(&cfg.status_topic),
    {"CALLBACKS_GROUP", "group", NS_OPT_STR, "callbacks", 0, 0, "consumer group id", &cfg.group},
    {"CALLBACKS_DLQ_TOPIC", "dlq-topic", NS_OPT_STR, "", 0, 0,
     "dead-letter topic (default: CHANGELOG_TOPIC.callbacks.dlq)", &cfg.dlq_topic},
    {"CALLBACK_SECRETS_FILE", "secrets-file", NS_OPT_STR, "", 0, 0,
     "\"tenant secret\" lines: what each tenant's callbacks are signed with", &cfg.secrets_file},
    {"CALLBACK_SECRET", "secret", NS_OPT_STR, "", 0, 0,
     "the secret of tenants the file does not name (none: their callbacks are dead-lettered)",
     &cfg.secret},
    {"CALLBACKS_PER_HOST", "per-host", NS_OPT_INT, "8", 1, 1000,
     "attempts in flight to one destination host at most", &cfg.per_host},
    {"CALLBACKS_IN_FLIGHT", "in-flight", NS_OPT_INT, "256", 1, 10000,
     "attempts in flight in all at most", &cfg.in_flight},
    {"CALLBACKS_MAX_PENDING", "max-pending", NS_OPT_INT, "50000", 100, 10000000,
     "deliveries held before consumption pauses", &cfg.max_pending},
    {"CALLBACKS_TIMEOUT_MS", "timeout-ms", NS_OPT_INT, "10000", 100, 600000,
     "time one attempt may take", &cfg.timeout_ms},
    {"CALLBACKS_RETRY_BASE_MS", "retry-base-ms", NS_OPT_INT, "1000", 1, 3600000,
     "first retry delay ceiling (doubles per attempt, full jitter)", &cfg.retry_base_ms},
    {"CALLBACKS_RETRY_CAP_MS", "retry-cap-ms", NS_OPT_INT, "600000", 1, 86400000,
     "largest retry delay ceiling", &cfg.retry_cap_ms},
    {"CALLBACKS_RETRY_WINDOW_S", "retry-window-s", NS_OPT_INT, "86400", 1, 2592000,
     "how long a change is retried before it goes to the dead-letter topic", &cfg.window_s},
    NS_OPT_CALLBACKS_ALLOW_PRIVATE(&cfg.allow_private),
    {"CALLBACKS_ADMIN_LISTEN", "admin-listen", NS_OPT_STR, "127.0.0.1:9085", 0, 0,
     "address of /healthz /readyz /metrics", &listen_addr},
};

static const ns_cli cli = {
    "callbacks",
    "Consumes the changelog topic and POSTs each change of a notification created with a "
    "callbackUrl to that URL: the changelog record as the body, signed with the tenant's "
    "callback secret (X-Nstatus-Signature, the scheme ingest verifies on webhooks), with a "
    "stable X-Nstatus-Delivery id. One notification's callbacks go in version order; "
    "failures are retried with backoff within CALLBACKS_RETRY_WINDOW_S, then dead-lettered. "
    "Every attempt is recorded in the notification's history.",
    opts, sizeof(opts) / sizeof(opts[0])};

int main(int argc, char **argv)
{
	char err[512];
	ns_http *http = NULL;
	cb_worker *w = NULL;
	int rc = ns_config_load(&cli, argc, argv, err, sizeof(err));

	if (rc == NS_CONFIG_EXIT)
		return 0;
	if (rc != NS_CONFIG_OK) {
		fprintf(stderr, "callbacks: %s\n", err);
		return 2;
	}
	if (ns_signal_install() || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "callbacks: cannot install signal handlers or start libcurl\n");
		return 1;
	}
	rc = 1;
	w = cb_worker_new(&cfg, err, sizeof(err));
	if (!w) {
		NS_ERROR("callbacks.config", "err=\"%s\"", err);
		goto out;
	}
	http = ns_http_admin_start(listen_addr, cb_worker_ready, w, err, sizeof(err));
	if (!http) {
		NS_ERROR("callbacks.http", "listen=%s err=\"%s\"", listen_addr, err);
		goto out;
	}
	rc = cb_worker_run(w) == 0 ? 0 : 1;
out:
	ns_http_stop(http);
	cb_worker_free(w);
	ns_metrics_reset();
	curl_global_cleanup();
	return rc;
}
