/* provider.h -- the provider's HTTP API (send, exists) over the libcurl multi interface:
 * many requests in flight on one thread, connections reused, a per-request timeout.
 *
 *   POST {base}/messages {channel,to,body,externalId} -> 201 {id,...}
 *   GET  {base}/messages/{externalId}                 -> 200 known / 404 unknown
 *
 * Not thread-safe: one thread (the sender's worker) drives it, except
 * sender_provider_wakeup which any thread may call. */
#ifndef SENDER_PROVIDER_H
#define SENDER_PROVIDER_H

#include <stddef.h>

#define SENDER_PROVIDER_BODY_MAX 4096 /* response bytes kept */

typedef enum { SENDER_REQ_EXISTS = 0, SENDER_REQ_SEND } sender_req_kind;

/* How a finished request reads, per the contract. */
typedef enum {
	SENDER_OUT_OK = 0,    /* send: accepted (2xx); exists: the provider knows it (200) */
	SENDER_OUT_NOTFOUND,  /* exists: 404, the provider never took it */
	SENDER_OUT_PERMANENT, /* send: 4xx other than 429, refused for good */
	SENDER_OUT_TRANSIENT, /* timeout, refused connection, 5xx, 429, anything else */
} sender_outcome;

typedef struct {
	sender_req_kind kind;
	void *opaque;
	long status;	   /* HTTP status, 0 on a transport error */
	int curl_code;	   /* CURLcode, 0 when the exchange completed */
	const char *error; /* curl's message for a transport error, else "" */
	const char *body;  /* response body (NUL-terminated, truncated at the cap) */
	double seconds;	   /* duration */
	sender_outcome outcome;
	char provider_id[129]; /* "id" of a 2xx/200 JSON body, or "" */
} sender_provider_result;

/* Called from sender_provider_run, on its caller's thread, once per finished request.
 * The result and its strings live for the duration of the call. */
typedef void(sender_provider_done_fn)(void *ctx, const sender_provider_result *r);

typedef struct sender_provider sender_provider;

/* Pure classification of a finished exchange (curl_code 0 = HTTP status valid). */
sender_outcome sender_provider_classify(sender_req_kind kind, int curl_code, long status);

/* Create a client for base_url (no trailing slash needed) with a per-request timeout and
 * at most max_conns connections. Returns NULL with err filled. */
sender_provider *sender_provider_new(const char *base_url, long timeout_ms, long max_conns,
				     char *err, size_t errlen);

/* Start exists(externalId). opaque comes back in the result. Returns 0, or -1 when the
 * request could not be started (out of memory). */
int sender_provider_exists(sender_provider *p, const char *external_id, void *opaque);

/* Start a send. Returns 0 or -1 as above. */
int sender_provider_send(sender_provider *p, const char *channel, const char *to, const char *body,
			 const char *external_id, void *opaque);

/* Move transfers on, waiting up to wait_ms for activity, a wakeup or wake_fd becoming
 * readable (-1: none; the consumer's wake fd, so that a new request ends the wait at
 * once), and call done for each finished request. Returns the number of requests still in
 * flight. */
int sender_provider_run(sender_provider *p, int wake_fd, int wait_ms, sender_provider_done_fn *done,
			void *ctx);

/* Requests in flight. */
int sender_provider_inflight(const sender_provider *p);

/* Interrupt a wait in sender_provider_run. Thread-safe. */
void sender_provider_wakeup(sender_provider *p);

/* Abort every request (no callbacks) and free. NULL is a no-op. */
void sender_provider_free(sender_provider *p);

#endif
