/* main.c -- the provider simulator: the provider contract over HTTP (api.c), status paths
 * (paths.c) played as webhooks with retries (webhooks.c), and a report of what it saw
 * (store.c). Used by `make run` and the end-to-end tests. */
#include "api.h"
#include "store.h"
#include "webhooks.h"

#include "ns_channel.h"
#include "ns_config.h"
#include "ns_http.h"
#include "ns_log.h"
#include "ns_metrics.h"
#include "ns_signal.h"

#include <curl/curl.h>
#include <stdio.h>

static const char *listen_addr, *webhook, *schemas_dir, *secret;
static long seed, dmin, dmax, rej, dup, reo, window, base, hold, threads, workers, send_delay;

static const ns_opt opts[] = {
    {"SIM_LISTEN", "listen", NS_OPT_STR, "0.0.0.0:9090", 0, 0, "listen address", &listen_addr},
    NS_OPT_SCHEMAS_DIR(&schemas_dir),
    {"SIM_WEBHOOK_URL", "webhook-url", NS_OPT_STR, "http://127.0.0.1:8080/webhooks", 0, 0,
     "where status webhooks are posted", &webhook},
    {"SIM_WEBHOOK_SECRET", "webhook-secret", NS_OPT_STR, NULL, 0, 0,
     "sign every webhook with this secret (X-Nstatus-Signature); unset: unsigned", &secret},
    {"SIM_SEED", "seed", NS_OPT_INT, "0", 0, 2147483647L, "random seed (0: from the clock)", &seed},
    {"SIM_DELAY_MIN_MS", "delay-min-ms", NS_OPT_INT, "50", 0, 86400000,
     "least delay between two statuses", &dmin},
    {"SIM_DELAY_MAX_MS", "delay-max-ms", NS_OPT_INT, "500", 0, 86400000,
     "largest delay between two statuses", &dmax},
    {"SIM_REJECT_PERCENT", "reject-percent", NS_OPT_INT, "5", 0, 100, "share of messages rejected",
     &rej},
    {"SIM_DUPLICATE_PERCENT", "duplicate-percent", NS_OPT_INT, "10", 0, 100,
     "share of messages with one webhook posted twice", &dup},
    {"SIM_REORDER_PERCENT", "reorder-percent", NS_OPT_INT, "10", 0, 100,
     "share of messages with two adjacent webhooks swapped", &reo},
    {"SIM_RETRY_WINDOW_MS", "retry-window-ms", NS_OPT_INT, "3600000", 0, 604800000L,
     "how long a failed webhook is retried", &window},
    {"SIM_RETRY_BASE_MS", "retry-base-ms", NS_OPT_INT, "500", 1, 3600000,
     "first webhook retry delay (doubles, capped at 60 s)", &base},
    {"SIM_TIMEOUT_HOLD_MS", "timeout-hold-ms", NS_OPT_INT, "30000", 0, 600000,
     "how long the timeout outage holds a request", &hold},
    {"SIM_THREADS", "threads", NS_OPT_INT, "128", 1, 1024,
     "HTTP worker threads (connections at once)", &threads},
    {"SIM_SEND_DELAY_MS", "send-delay-ms", NS_OPT_INT, "0", 0, 600000,
     "how long each POST /messages takes (a slow provider)", &send_delay},
    {"SIM_WEBHOOK_WORKERS", "webhook-workers", NS_OPT_INT, "16", 1, 64, "webhooks posted at once",
     &workers},
};

static const ns_cli cli = {"simulator",
			   "A simulated SMS/WhatsApp provider: POST /messages, GET "
			   "/messages/{externalId}, webhooks with delays, duplicates, reordering "
			   "and retries, POST /control/outage, GET /report.",
			   opts, sizeof(opts) / sizeof(opts[0])};

/* The provider's API over the store and the webhook dispatcher. NULL when out of memory. */
static sim_api *api_new(sim_store *store, sim_hooks *hooks, const ns_channels *channels)
{
	sim_path_opts popts = {.reject_percent = (int)rej,
			       .duplicate_percent = (int)dup,
			       .reorder_percent = (int)reo,
			       .delay_min_ms = dmin,
			       .delay_max_ms = dmax};
	sim_api *api = sim_api_new(store, hooks, &popts, (uint64_t)seed, hold);

	if (api) {
		sim_api_set_send_delay(api, send_delay);
		sim_api_set_channels(api, channels);
	}
	return api;
}

int main(int argc, char **argv)
{
	ns_channels *channels = NULL;
	char err[512];
	sim_store *store = NULL;
	sim_hooks *hooks = NULL;
	sim_api *api = NULL;
	ns_http *http = NULL;
	ns_http_opts hopts = {0};
	int rc = 1;

	switch (ns_config_load(&cli, argc, argv, err, sizeof(err))) {
	case NS_CONFIG_EXIT:
		return 0;
	case NS_CONFIG_ERR:
		fprintf(stderr, "simulator: %s\n", err);
		return 2;
	default:
		break;
	}
	if (ns_signal_install() != 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	channels = ns_channels_load(schemas_dir, err, sizeof(err));
	if (!channels) {
		NS_ERROR("sim.schemas", "dir=%s err=\"%s\"", schemas_dir, err);
		goto out;
	}
	store = sim_store_new();
	if (!store)
		goto out;
	hooks =
	    sim_hooks_start(webhook, secret, (int)workers, window, base, store, err, sizeof(err));
	if (!hooks) {
		NS_ERROR("sim.start", "err=\"%s\"", err);
		goto out;
	}
	api = api_new(store, hooks, channels);
	if (!api)
		goto out;
	hopts.listen = listen_addr;
	hopts.threads = (int)threads;
	hopts.request_timeout_ms = 60000;
	http = ns_http_start(&hopts, err, sizeof(err));
	if (!http) {
		NS_ERROR("sim.http", "listen=%s err=\"%s\"", listen_addr, err);
		goto out;
	}
	if (sim_api_register(api, http))
		goto out;
	ns_http_serve(http);
	NS_INFO("sim.started", "listen=%s webhook=%s", listen_addr, webhook);
	while (!ns_signal_stopping())
		ns_signal_sleep_ms(500);
	rc = 0;
out:
	ns_http_stop(http);
	sim_hooks_stop(hooks);
	sim_api_free(api);
	sim_store_free(store);
	ns_channels_free(channels);
	curl_global_cleanup();
	ns_metrics_reset();
	NS_INFO("sim.stopped", "rc=%d", rc);
	return rc;
}
