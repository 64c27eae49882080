/* nt_receiver.c -- the test's callback receiver (see nt_receiver.h), on civetweb. */
#include "nt_receiver.h"
#include "ns_change.h"
#include "ns_sign.h"
#include "ns_time.h"
#include "nt.h"

#include <check.h>
#include <civetweb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct mg_context *ctx;
static int port;
static char secret[256];
static nt_receipt *receipts;
static size_t nreceipts, cap;
static long bad;

static int reply(struct mg_connection *conn, int status, const char *text)
{
	mg_printf(conn,
		  "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: 0\r\n"
		  "Connection: close\r\n\r\n",
		  status, text);
	return status;
}

static void record(const ns_change *c, const char *delivery, const char *attempt)
{
	nt_receipt r = {0};

	snprintf(r.external_id, sizeof(r.external_id), "%s", c->external_id);
	snprintf(r.delivery_id, sizeof(r.delivery_id), "%s", delivery ? delivery : "");
	snprintf(r.event_id, sizeof(r.event_id), "%s", c->event_id);
	r.version = c->version;
	r.attempt = attempt ? (int)strtol(attempt, NULL, 10) : 0;
	pthread_mutex_lock(&mu);
	if (nreceipts == cap) {
		size_t ncap = cap ? cap * 2 : 1024;
		nt_receipt *grown = realloc(receipts, ncap * sizeof(*receipts));
		if (grown) {
			receipts = grown;
			cap = ncap;
		}
	}
	if (nreceipts < cap)
		receipts[nreceipts++] = r;
	pthread_mutex_unlock(&mu);
}

static int on_callback(struct mg_connection *conn, void *cbdata)
{
	const char *secrets[1] = {secret};
	char body[16384], err[256];
	ns_change c;
	int n = 0, got;

	(void)cbdata;
	while (n < (int)sizeof(body) &&
	       (got = mg_read(conn, body + n, sizeof(body) - (size_t)n)) > 0)
		n += got;
	if (ns_sign_verify(mg_get_header(conn, NS_SIGN_HEADER), body, (size_t)n, secrets, 1,
			   ns_time_now_ms() / 1000, NS_SIGN_TOLERANCE_S) != NS_SIGN_OK ||
	    ns_change_decode(body, (size_t)n, &c, err, sizeof(err)) != 0) {
		pthread_mutex_lock(&mu);
		bad++;
		pthread_mutex_unlock(&mu);
		return reply(conn, 401, "Unauthorized");
	}
	record(&c, mg_get_header(conn, "X-Nstatus-Delivery"),
	       mg_get_header(conn, "X-Nstatus-Attempt"));
	return reply(conn, 200, "OK");
}

void nt_receiver_up(void)
{
	char ports[16];
	const char *opts[] = {"listening_ports", ports, "num_threads", "16", NULL};
	struct mg_callbacks cbs = {0};

	snprintf(ports, sizeof(ports), "127.0.0.1:%d", port);
	ctx = mg_start(&cbs, NULL, opts);
	ck_assert_msg(ctx != NULL, "receiver: cannot listen on %s", ports);
	mg_set_request_handler(ctx, "/cb", on_callback, NULL);
}

void nt_receiver_start(const char *s)
{
	snprintf(secret, sizeof(secret), "%s", s);
	port = nt_free_port();
	ck_assert_int_gt(port, 0);
	nt_receiver_up();
}

void nt_receiver_down(void)
{
	if (ctx)
		mg_stop(ctx);
	ctx = NULL;
}

const char *nt_receiver_url(void)
{
	return nt_fmt("http://127.0.0.1:%d/cb", port);
}

nt_receipt *nt_receiver_receipts(size_t *n, long *nbad)
{
	nt_receipt *copy;

	pthread_mutex_lock(&mu);
	copy = malloc((nreceipts ? nreceipts : 1) * sizeof(*copy));
	if (copy && nreceipts)
		memcpy(copy, receipts, nreceipts * sizeof(*copy));
	*n = copy ? nreceipts : 0;
	if (nbad)
		*nbad = bad;
	pthread_mutex_unlock(&mu);
	return copy;
}

void nt_receiver_stop(void)
{
	nt_receiver_down();
	pthread_mutex_lock(&mu);
	free(receipts);
	receipts = NULL;
	nreceipts = cap = 0;
	bad = 0;
	pthread_mutex_unlock(&mu);
}
