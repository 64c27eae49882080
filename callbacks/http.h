/* http.h -- signed callback POSTs over the libcurl multi interface: many in flight on one
 * thread, connections reused, a per-request timeout, and no way to reach private space.
 *
 * Each request POSTs the record with
 *   Content-Type: application/json
 *   X-Nstatus-Signature: t=<unix>,v1=<hmac>   (ns_sign.h: the scheme ingest verifies)
 *   X-Nstatus-Delivery: <delivery id>         (stable across attempts: receivers drop repeats)
 *   X-Nstatus-Attempt: <n>
 * Redirects are not followed, proxies from the environment are ignored, only http and
 * https are spoken, and (unless allow_private) every address curl is about to connect to
 * must be public (ns_url_addr_public), whatever the name resolved to. The response body
 * is read and thrown away. Not thread-safe but for cb_http_wakeup. */
#ifndef CB_HTTP_H
#define CB_HTTP_H

#include <stddef.h>

#define CB_DELIVERY_HEADER "X-Nstatus-Delivery"
#define CB_ATTEMPT_HEADER  "X-Nstatus-Attempt"

typedef struct {
	void *opaque;
	long status;	   /* HTTP status, 0 on a transport error */
	int curl_code;	   /* CURLcode, 0 when the exchange completed */
	const char *error; /* curl's message for a transport error, else "" */
	double seconds;
} cb_http_result;

/* Called from cb_http_run, once per finished request. */
typedef void(cb_http_done_fn)(void *ctx, const cb_http_result *r);

typedef struct cb_http cb_http;

/* A client with a per-request timeout and at most max_conns connections (per host too).
 * NULL with err filled. */
cb_http *cb_http_new(long timeout_ms, long max_conns, int allow_private, char *err, size_t errlen);

/* Start a POST of body[0..len) (not copied: it must live until the result) to url with
 * the headers above. Returns 0, or -1 (out of memory). */
int cb_http_post(cb_http *h, const char *url, const char *body, size_t len, const char *signature,
		 const char *delivery_id, int attempt, void *opaque);

/* Move transfers on, waiting up to wait_ms for activity, a wakeup or wake_fd becoming
 * readable (-1: none), and call done for each finished request. Returns the requests
 * still in flight. */
int cb_http_run(cb_http *h, int wake_fd, int wait_ms, cb_http_done_fn *done, void *ctx);

/* Abort the request started with opaque (no callback). Returns 0, or -1 when none. */
int cb_http_cancel(cb_http *h, void *opaque);

/* Interrupt a wait in cb_http_run. Any thread. */
void cb_http_wakeup(cb_http *h);

/* Abort everything (no callbacks) and free. NULL is a no-op. */
void cb_http_free(cb_http *h);

#endif
