/* api.c -- HTTP routes of the provider simulator (see api.h). Civetweb worker threads. */
#include "api.h"
#include "ns_json.h"
#include "ns_log.h"
#include "ns_signal.h"
#include "ns_time.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define BODY_MAX 65536

typedef enum { OUT_NONE = 0, OUT_5XX, OUT_TIMEOUT, OUT_REFUSE } outage_mode;

struct sim_api {
	sim_store *store;
	sim_hooks *hooks;
	sim_path_opts popts;
	int64_t hold_ms;
	int64_t send_delay_ms;	     /* every send waits this long: a slow provider */
	const ns_channels *channels; /* borrowed: the channels whose paths are played */
	pthread_mutex_t lock;	     /* rng and outage */
	uint64_t rng;
	outage_mode mode;
	int64_t outage_until;
	long outage_hits; /* provider calls answered by an outage */
};

sim_api *sim_api_new(sim_store *store, sim_hooks *hooks, const sim_path_opts *popts, uint64_t seed,
		     int64_t timeout_hold_ms)
{
	sim_api *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->store = store;
	a->hooks = hooks;
	a->popts = *popts;
	a->hold_ms = timeout_hold_ms;
	a->rng = seed ? seed : (uint64_t)ns_time_now_ms() * 2654435761u + 1;
	pthread_mutex_init(&a->lock, NULL);
	return a;
}

void sim_api_free(sim_api *a)
{
	if (!a)
		return;
	pthread_mutex_destroy(&a->lock);
	free(a);
}

static outage_mode current_outage(sim_api *a)
{
	outage_mode m;

	pthread_mutex_lock(&a->lock);
	m = a->mode;
	if (m != OUT_NONE && ns_time_now_ms() >= a->outage_until)
		m = a->mode = OUT_NONE;
	pthread_mutex_unlock(&a->lock);
	return m;
}

static void hold(sim_api *a)
{
	int64_t end = ns_time_mono_ms() + a->hold_ms;
	while (ns_time_mono_ms() < end && !ns_signal_stopping())
		ns_signal_sleep_ms(100);
}

/* Apply the outage to a /messages request before it is handled. Returns a status when
 * the request was answered (or dropped) here, 0 to go on. */
static int outage_before(sim_api *a, struct mg_connection *conn, outage_mode m)
{
	if (m != OUT_NONE) {
		pthread_mutex_lock(&a->lock);
		a->outage_hits++;
		pthread_mutex_unlock(&a->lock);
	}
	if (m == OUT_5XX)
		return ns_http_send_problem(conn, 503, "Service Unavailable", "simulated outage",
					    NULL);
	if (m == OUT_REFUSE)
		return 444; /* nothing written: civetweb closes the connection */
	return 0;
}

static int handle_send(sim_api *a, struct mg_connection *conn)
{
	char *body = NULL, id[32];
	size_t len = 0;
	json_t *j = NULL, *resp;
	const char *ch, *to, *text, *ext;
	const ns_channel *chan;
	int rc, is_new = 0, i;
	long sends;
	sim_path path;
	outage_mode m = current_outage(a);

	rc = outage_before(a, conn, m);
	if (rc)
		goto out;
	if (a->send_delay_ms > 0)
		ns_signal_sleep_ms((int)a->send_delay_ms);
	rc = ns_http_read_body(conn, BODY_MAX, &body, &len);
	if (rc != 0) {
		rc = ns_http_send_problem(conn, rc == NS_HTTP_TOO_LARGE ? 413 : 400, "Bad Request",
					  "body unreadable or too large", NULL);
		goto out;
	}
	j = ns_json_loadb(body, len, 0, NS_JSON_MAX_DEPTH, NULL, NULL);
	ch = json_string_value(json_object_get(j, "channel"));
	to = json_string_value(json_object_get(j, "to"));
	text = json_string_value(json_object_get(j, "body"));
	ext = json_string_value(json_object_get(j, "externalId"));
	if (!ch || !to || !text || !ext || !ext[0] || strlen(ext) > NS_REF_MAX) {
		rc = ns_http_send_problem(conn, 400, "Bad Request",
					  "channel, to, body and externalId are required", NULL);
		goto out;
	}
	chan = ns_channels_find(a->channels, ch);
	if (!chan) {
		rc = ns_http_send_problem(conn, 422, "Unprocessable Content", "unknown channel",
					  "channel");
		goto out;
	}
	pthread_mutex_lock(&a->lock);
	sim_path_plan(chan, ns_time_now_ms(), &a->popts, &a->rng, &path);
	pthread_mutex_unlock(&a->lock);
	sends = sim_store_send(a->store, ext, ch, &path, &is_new, id, sizeof(id));
	if (sends < 0) {
		rc =
		    ns_http_send_problem(conn, 500, "Internal Server Error", "out of memory", NULL);
		goto out;
	}
	if (sends > 1) {
		char q[300];
		NS_WARN("sim.duplicate_send", "external_id=%s sends=%ld",
			ns_log_quote(ext, q, sizeof(q)), sends);
	}
	for (i = 0; is_new && i < path.n; i++)
		sim_hooks_add(a->hooks, ext, path.w[i].event, path.w[i].ts_ms, path.w[i].due_ms);
	if (m == OUT_TIMEOUT)
		hold(a);
	resp = json_pack("{s:s, s:s, s:s}", "id", id, "externalId", ext, "status", SIM_PATH_START);
	rc = ns_http_send_json(conn, 201, resp, NULL);
out:
	json_decref(j);
	free(body);
	return rc;
}

static int handle_exists(sim_api *a, struct mg_connection *conn, const char *ext)
{
	outage_mode m = current_outage(a);
	json_t *it;
	int rc = outage_before(a, conn, m);

	if (rc)
		return rc;
	if (m == OUT_TIMEOUT)
		hold(a);
	it = sim_store_item(a->store, ext);
	if (!it)
		return ns_http_send_problem(conn, 404, "Not Found", "unknown externalId", NULL);
	return ns_http_send_json(conn, 200, it, NULL);
}

/* The path after prefix (e.g. "/messages/"), or -1. civetweb has URL-decoded it once
 * already (local_uri_raw: decoded, dot segments kept), which is all the decoding there may
 * be: decoding again would turn an id's "%41" into "A" and match another message. */
static int tail_of(const struct mg_request_info *ri, const char *prefix, char *out, size_t outlen)
{
	const char *u = ri->local_uri_raw ? ri->local_uri_raw : "";
	size_t n = strlen(prefix), len;

	if (strncmp(u, prefix, n) != 0 || !u[n])
		return -1;
	len = strlen(u + n);
	if (len >= outlen)
		return -1;
	memcpy(out, u + n, len + 1);
	return (int)len;
}

static int on_messages(struct mg_connection *conn, void *cbdata)
{
	sim_api *a = cbdata;
	const struct mg_request_info *ri = mg_get_request_info(conn);
	char ext[300];

	if (strcmp(ri->local_uri, "/messages") == 0 && strcmp(ri->request_method, "POST") == 0)
		return handle_send(a, conn);
	if (strcmp(ri->request_method, "GET") == 0 &&
	    tail_of(ri, "/messages/", ext, sizeof(ext)) > 0)
		return handle_exists(a, conn, ext);
	return ns_http_send_problem(conn, 405, "Method Not Allowed", "unsupported", NULL);
}

static int on_outage(struct mg_connection *conn, void *cbdata)
{
	sim_api *a = cbdata;
	char *body = NULL;
	size_t len = 0;
	json_t *j = NULL;
	const char *mode;
	json_int_t ms;
	outage_mode m;
	int rc;

	if (ns_http_read_body(conn, BODY_MAX, &body, &len) != 0) {
		rc = ns_http_send_problem(conn, 400, "Bad Request", "no body", NULL);
		goto out;
	}
	j = ns_json_loadb(body, len, 0, NS_JSON_MAX_DEPTH, NULL, NULL);
	mode = json_string_value(json_object_get(j, "mode"));
	ms = json_integer_value(json_object_get(j, "ms"));
	if (!mode)
		mode = "";
	if (strcmp(mode, "5xx") == 0)
		m = OUT_5XX;
	else if (strcmp(mode, "timeout") == 0)
		m = OUT_TIMEOUT;
	else if (strcmp(mode, "refuse") == 0)
		m = OUT_REFUSE;
	else if (strcmp(mode, "none") == 0)
		m = OUT_NONE;
	else {
		rc = ns_http_send_problem(conn, 400, "Bad Request",
					  "mode is 5xx, timeout, refuse or none", "mode");
		goto out;
	}
	if (ms < 0 || ms > 86400000) {
		rc = ns_http_send_problem(conn, 400, "Bad Request", "ms out of range", "ms");
		goto out;
	}
	pthread_mutex_lock(&a->lock);
	a->mode = m;
	a->outage_until = ns_time_now_ms() + ms;
	pthread_mutex_unlock(&a->lock);
	NS_INFO("sim.outage", "mode=%s ms=%lld", mode, (long long)ms);
	rc = ns_http_send_json(conn, 200, json_pack("{s:s, s:I}", "mode", mode, "ms", ms), NULL);
out:
	json_decref(j);
	free(body);
	return rc;
}

static int on_report(struct mg_connection *conn, void *cbdata)
{
	sim_api *a = cbdata;
	const struct mg_request_info *ri = mg_get_request_info(conn);
	char ext[300];
	json_t *r;

	if (tail_of(ri, "/report/", ext, sizeof(ext)) > 0) {
		r = sim_store_item(a->store, ext);
		if (!r)
			return ns_http_send_problem(conn, 404, "Not Found", "unknown externalId",
						    NULL);
		return ns_http_send_json(conn, 200, r, NULL);
	}
	r = sim_store_report(a->store);
	if (!r)
		return ns_http_send_problem(conn, 500, "Internal Server Error", "out of memory",
					    NULL);
	json_object_set_new(r, "webhooksPending", json_integer(sim_hooks_pending(a->hooks)));
	json_object_set_new(r, "webhookFailures", json_integer(sim_hooks_failures(a->hooks)));
	pthread_mutex_lock(&a->lock);
	json_object_set_new(r, "outageHits", json_integer(a->outage_hits));
	pthread_mutex_unlock(&a->lock);
	return ns_http_send_json(conn, 200, r, NULL);
}

void sim_api_set_channels(sim_api *a, const ns_channels *channels)
{
	a->channels = channels;
}

void sim_api_set_send_delay(sim_api *a, int64_t ms)
{
	a->send_delay_ms = ms;
}

int sim_api_register(sim_api *a, ns_http *h)
{
	return ns_http_route(h, "/messages", on_messages, a) ||
		       ns_http_route(h, "/control/outage", on_outage, a) ||
		       ns_http_route(h, "/report", on_report, a)
		   ? -1
		   : 0;
}
