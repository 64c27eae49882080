/* main.c -- ingest: the HTTP gateway that writes every accepted request to Kafka.
 *
 * Start: configuration, signals, channel schemas, the idempotent producer, the status
 * topic's metadata (bounded wait; a missing topic fails the start), then HTTP. Stop, on
 * SIGTERM/SIGINT: stop accepting and finish in-flight requests, then flush and destroy
 * the producer, so that every 202 already sent stays true. */
#include "handlers.h"

#include "ns_channel.h"
#include "ns_config.h"
#include "ns_http.h"
#include "ns_kafka.h"
#include "ns_log.h"
#include "ns_metrics.h"
#include "ns_sign.h"
#include "ns_signal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FLUSH_MS 10000

static const char *listen_addr, *admin_addr, *topic, *schemas_dir, *keys_file;
static const char *secret, *secret_previous;
static long insecure, tolerance_s;
static long threads, max_body, ack_timeout_ms, start_timeout_ms, request_timeout_ms;
static long max_future_ms;
static long callbacks_allow_private;

static const ns_opt opts[] = {
    {"INGEST_LISTEN", "listen", NS_OPT_STR, "0.0.0.0:8080", 0, 0,
     "address and port to serve HTTP on", &listen_addr},
    {"INGEST_ADMIN_LISTEN", "admin-listen", NS_OPT_STR, "127.0.0.1:9080", 0, 0,
     "address of /healthz /readyz /metrics (own threads; keep it off the internet)", &admin_addr},
    {"INGEST_THREADS", "threads", NS_OPT_INT, "128", 1, 4096,
     "HTTP worker threads (requests served at once)", &threads},
    {"INGEST_REQUEST_TIMEOUT_MS", "request-timeout-ms", NS_OPT_INT, "5000", 100, 600000,
     "longest time for a client to send its headers, and each part of its body",
     &request_timeout_ms},
    NS_OPT_STATUS_TOPIC(&topic),
    NS_OPT_SCHEMAS_DIR(&schemas_dir),
    NS_OPT_API_KEYS_FILE(&keys_file),
    {"WEBHOOK_SECRET", "webhook-secret", NS_OPT_STR, NULL, 0, 0,
     "the secret the provider signs webhooks with (at least 16 bytes)", &secret},
    {"WEBHOOK_SECRET_PREVIOUS", "webhook-secret-previous", NS_OPT_STR, NULL, 0, 0,
     "the secret before the current one, still accepted while the provider rotates",
     &secret_previous},
    {"WEBHOOK_TOLERANCE_S", "webhook-tolerance-s", NS_OPT_INT, "300", 1, 86400,
     "how far a signature's timestamp may be from this server's clock", &tolerance_s},
    NS_OPT_INSECURE_DEV(&insecure),
    {"INGEST_MAX_BODY", "max-body", NS_OPT_INT, "16384", 64, 1048576,
     "largest request body accepted, in bytes (413 above)", &max_body},
    {"INGEST_ACK_TIMEOUT_MS", "ack-timeout-ms", NS_OPT_INT, "5000", 100, 120000,
     "longest wait for the broker's acknowledgement before answering 503", &ack_timeout_ms},
    {"INGEST_MAX_FUTURE_MS", "max-future-ms", NS_OPT_INT, "86400000", 0, 31536000000L,
     "webhook timestamps further ahead of this server's clock are refused (422)", &max_future_ms},
    NS_OPT_CALLBACKS_ALLOW_PRIVATE(&callbacks_allow_private),
    {"INGEST_START_TIMEOUT_MS", "start-timeout-ms", NS_OPT_INT, "30000", 1000, 600000,
     "longest wait at start for the topic's metadata", &start_timeout_ms},
};

static const ns_cli cli = {
    "ingest",
    "HTTP gateway: validates POST /notifications and POST /webhooks, produces each as an "
    "event to the status topic, and answers 202 once the broker acknowledged it (503 with "
    "Retry-After when it does not in time). Kafka client properties come from KAFKA_* "
    "variables, e.g. KAFKA_BOOTSTRAP_SERVERS.",
    opts,
    sizeof(opts) / sizeof(opts[0]),
};

typedef struct {
	ns_producer *producer;
	int topic_ok;
} readiness;

/* Worker thread: ready when the producer is usable and the topic was found at start. */
static int is_ready(void *opaque)
{
	readiness *r = opaque;
	return r->topic_ok && !ns_producer_fatal(r->producer);
}

/* Wait for the status topic's metadata. Returns 0, or -1 (logged) when it does not come in
 * time or a stop is requested. */
static int wait_topic(ns_producer *p, const char *name, long timeout_ms)
{
	char err[512];
	int n = ns_producer_wait_topic(p, name, (int)timeout_ms, err, sizeof(err));

	if (n > 0) {
		NS_INFO("ingest.topic", "topic=%s partitions=%d", name, n);
		return 0;
	}
	NS_ERROR("ingest.topic_missing",
		 "topic=%s bootstrap=%s err=\"%s\" msg=\"no metadata for the status topic; create "
		 "it (deploy/kafka/kafka.sh topics) or set STATUS_TOPIC\"",
		 name, ns_kafka_bootstrap(), err);
	return -1;
}

/* Keys and webhook secrets, or the insecure development mode when asked for. Returns 0,
 * or -1 (logged) when the service would start open without being asked to. */
static int security_init(ingest_ctx *ctx)
{
	char err[512];

	if (ns_auth_open(&ctx->auth, keys_file, (int)insecure, err, sizeof(err))) {
		NS_ERROR("ingest.start", "err=\"%s\"", err);
		return -1;
	}
	if (!secret && !insecure) {
		NS_ERROR("ingest.start", "err=\"no WEBHOOK_SECRET: refusing to accept unsigned "
					 "webhooks (pass --insecure-dev for development)\"");
		return -1;
	}
	if ((secret && strlen(secret) < NS_SIGN_SECRET_MIN) ||
	    (secret_previous && strlen(secret_previous) < NS_SIGN_SECRET_MIN)) {
		NS_ERROR("ingest.start", "err=\"webhook secrets must be at least %d bytes\"",
			 NS_SIGN_SECRET_MIN);
		return -1;
	}
	if (!secret)
		NS_WARN("ingest.insecure", "msg=\"INSECURE DEVELOPMENT MODE: webhooks are not "
					   "signed; anyone can post provider statuses\"");
	ctx->webhook_secrets[0] = secret;
	ctx->webhook_secrets[1] = secret_previous;
	ctx->webhook_tolerance_s = tolerance_s;
	return 0;
}

/* The API listener with the two POST routes and the catch-all 404. NULL (logged). */
static ns_http *api_start(ingest_ctx *ctx, readiness *ready)
{
	ns_http_opts o = {.listen = listen_addr,
			  .threads = (int)threads,
			  .request_timeout_ms = (int)request_timeout_ms,
			  .ready = is_ready,
			  .ready_opaque = ready};
	char err[512];
	ns_http *http = ns_http_start(&o, err, sizeof(err));

	if (!http) {
		NS_ERROR("ingest.http", "listen=%s err=\"%s\"", listen_addr, err);
		return NULL;
	}
	/* any other path is ns_http's own 404 problem */
	if (ns_http_route(http, "/notifications", ingest_handle_notifications, ctx) ||
	    ns_http_route(http, "/webhooks", ingest_handle_webhooks, ctx)) {
		ns_http_stop(http);
		return NULL;
	}
	ns_http_serve(http);
	return http;
}

/* Serve until SIGTERM/SIGINT (0) or a fatal producer error (-1); re-read the keys on
 * SIGHUP. */
static int serve(ns_producer *producer, ns_auth *auth)
{
	while (!ns_signal_sleep_ms(200)) {
		if (ns_signal_take_reload())
			ns_auth_reload(auth);
		if (ns_producer_fatal(producer)) {
			NS_ERROR("ingest.producer_fatal", "msg=\"producer unusable; stopping\"");
			return -1;
		}
	}
	NS_INFO("ingest.stopping", "msg=\"finishing in-flight requests\"");
	return 0;
}

int main(int argc, char **argv)
{
	char err[512];
	ns_channels *channels = NULL;
	ns_producer *producer = NULL;
	ns_http *http = NULL, *admin = NULL;
	readiness ready = {0};
	ingest_ctx ctx = {0};
	int rc, code = 1;

	rc = ns_config_load(&cli, argc, argv, err, sizeof(err));
	if (rc == NS_CONFIG_EXIT)
		return 0;
	if (rc != NS_CONFIG_OK) {
		fprintf(stderr, "ingest: %s\n", err);
		return 2;
	}
	if (ns_signal_install()) {
		NS_ERROR("ingest.signals", "msg=\"cannot install signal handlers\"");
		goto out;
	}
	if (security_init(&ctx))
		goto out;
	channels = ns_channels_load(schemas_dir, err, sizeof(err));
	if (!channels) {
		NS_ERROR("ingest.schemas", "dir=%s err=\"%s\"", schemas_dir, err);
		goto out;
	}
	producer = ns_producer_new("ingest", err, sizeof(err));
	if (!producer) {
		NS_ERROR("ingest.producer", "err=\"%s\"", err);
		goto out;
	}
	ready.producer = producer;
	admin = ns_http_admin_start(admin_addr, is_ready, &ready, err, sizeof(err));
	if (!admin) {
		NS_ERROR("ingest.http", "admin_listen=%s err=\"%s\"", admin_addr, err);
		goto out;
	}
	if (wait_topic(producer, topic, start_timeout_ms))
		goto out;
	ready.topic_ok = 1;
	ctx.channels = channels;
	ctx.producer = producer;
	ctx.topic = topic;
	ctx.max_body = (size_t)max_body;
	ctx.ack_timeout_ms = (int)ack_timeout_ms;
	ctx.max_future_ms = max_future_ms;
	ctx.callbacks_allow_private = (int)callbacks_allow_private;
	ingest_handlers_init(&ctx);
	http = api_start(&ctx, &ready);
	if (!http)
		goto out;
	NS_INFO("ingest.started", "listen=%s port=%d topic=%s threads=%ld channels=%zu",
		listen_addr, ns_http_port(http), topic, threads, ns_channels_count(channels));
	ns_http_set_warning(admin, ns_auth_warning(&ctx.auth));
	ns_http_set_warning(http, ns_auth_warning(&ctx.auth));
	code = serve(producer, &ctx.auth) == 0 ? 0 : 1;
out:
	ns_http_stop(http); /* no new requests; running handlers finish */
	ns_http_stop(admin);
	ns_producer_destroy(producer, FLUSH_MS);
	ns_channels_free(channels);
	ns_auth_close(&ctx.auth);
	ns_metrics_reset();
	if (code == 0)
		NS_INFO("ingest.stopped", "msg=\"bye\"");
	return code;
}
