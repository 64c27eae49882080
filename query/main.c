/* main.c -- query: serves GET lookups from the projector's SQLite read model, read-only. */
#include "handlers.h"
#include "ns_config.h"
#include "ns_http.h"
#include "ns_log.h"
#include "ns_metrics.h"
#include "ns_signal.h"

#include <stdio.h>

static const char *listen_addr, *admin_addr, *db_path, *topic, *keys_file;
static long threads, request_timeout_ms, waiters_max, streams_max, insecure;

static const ns_opt opts[] = {
    {"QUERY_LISTEN", "listen", NS_OPT_STR, "0.0.0.0:8081", 0, 0, "HTTP listen address",
     &listen_addr},
    {"QUERY_DB", "db", NS_OPT_STR, "./nstatus.db", 0, 0,
     "SQLite read model written by the projector", &db_path},
    NS_OPT_STATUS_TOPIC(&topic),
    NS_OPT_API_KEYS_FILE(&keys_file),
    NS_OPT_INSECURE_DEV(&insecure),
    {"QUERY_ADMIN_LISTEN", "admin-listen", NS_OPT_STR, "127.0.0.1:9081", 0, 0,
     "address of /healthz /readyz /metrics (own threads; keep it off the internet)", &admin_addr},
    {"QUERY_THREADS", "threads", NS_OPT_INT, "32", 1, 1024,
     "worker threads and read-only connections", &threads},
    {"QUERY_WAITERS_MAX", "waiters-max", NS_OPT_INT, "0", 0, 1024,
     "read-your-writes waits at once (0: a quarter of QUERY_THREADS); 503 beyond", &waiters_max},
    {"QUERY_STREAMS_MAX", "streams-max", NS_OPT_INT, "0", 0, 1024,
     "dashboard event streams open at once (0: a quarter of QUERY_THREADS); 503 beyond",
     &streams_max},
    {"QUERY_REQUEST_TIMEOUT_MS", "request-timeout-ms", NS_OPT_INT, "5000", 100, 600000,
     "longest time for a client to send its request headers", &request_timeout_ms},
};

static const ns_cli cli = {"query",
			   "Serves GET /notifications lookups from the SQLite read model the "
			   "projector writes; never writes.",
			   opts, sizeof(opts) / sizeof(opts[0])};

int main(int argc, char **argv)
{
	char err[512];
	query_ctx ctx = {0};
	ns_http *http = NULL, *admin = NULL;
	ns_http_opts hopts;
	int rc, ret = 1;

	rc = ns_config_load(&cli, argc, argv, err, sizeof(err));
	if (rc == NS_CONFIG_EXIT)
		return 0;
	if (rc != NS_CONFIG_OK) {
		fprintf(stderr, "query: %s\n", err);
		return 2;
	}
	if (ns_signal_install()) {
		fprintf(stderr, "query: cannot install signal handlers\n");
		return 1;
	}
	if (ns_auth_open(&ctx.auth, keys_file, (int)insecure, err, sizeof(err))) {
		NS_ERROR("query.start", "err=\"%s\"", err);
		goto out;
	}
	ctx.topic = topic;
	ctx.waiters_max = waiters_max > 0 ? (int)waiters_max : (int)(threads / 4 ? threads / 4 : 1);
	atomic_init(&ctx.waiters, 0);
	ctx.streams_max = streams_max > 0 ? (int)streams_max : (int)(threads / 4 ? threads / 4 : 1);
	if (ctx.streams_max >= threads) /* a stream holds a worker: leave one for lookups */
		ctx.streams_max = threads > 1 ? (int)threads - 1 : 1;
	atomic_init(&ctx.streams, 0);
	ctx.watch = query_watch_start(db_path);
	/* a connection for every API worker, every admin worker (readiness) and one spare:
	 * nothing ever waits for one */
	ctx.db = query_db_new(db_path, (int)threads + NS_HTTP_ADMIN_THREADS + 1);
	if (!ctx.db) {
		NS_ERROR("query.start", "err=\"out of memory\"");
		goto out;
	}
	hopts = (ns_http_opts){.listen = listen_addr,
			       .threads = (int)threads,
			       .request_timeout_ms = (int)request_timeout_ms,
			       .ready = query_ready,
			       .ready_opaque = &ctx};
	admin = ns_http_admin_start(admin_addr, query_ready, &ctx, err, sizeof(err));
	if (!admin) {
		NS_ERROR("query.http", "admin_listen=%s err=\"%s\"", admin_addr, err);
		goto out;
	}
	http = ns_http_start(&hopts, err, sizeof(err));
	if (!http) {
		NS_ERROR("query.http", "listen=%s err=\"%s\"", listen_addr, err);
		goto out;
	}
	if (query_routes(http, &ctx))
		goto out;
	ns_http_serve(http);
	NS_INFO("query.start", "listen=%s port=%d db=%s topic=%s threads=%ld", listen_addr,
		ns_http_port(http), db_path, topic, threads);
	ns_http_set_warning(admin, ns_auth_warning(&ctx.auth));
	ns_http_set_warning(http, ns_auth_warning(&ctx.auth));
	while (!ns_signal_sleep_ms(200))
		if (ns_signal_take_reload())
			ns_auth_reload(&ctx.auth);
	NS_INFO("query.stop", "listen=%s", listen_addr);
	ret = 0;
out:
	ns_http_stop(http);
	ns_http_stop(admin);
	query_db_free(ctx.db);
	query_watch_stop(ctx.watch);
	ns_auth_close(&ctx.auth);
	ns_metrics_reset();
	return ret;
}
