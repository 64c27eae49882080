/* http.c -- the callback HTTP client (see http.h): one easy handle per attempt, its
 * headers in its own list, a socket-open hook that refuses non-public addresses. */
#include "http.h"
#include "ns_sign.h"
#include "ns_url.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

typedef struct req {
	struct req *next, *prev;
	CURL *easy;
	struct curl_slist *hdrs;
	void *opaque;
	char errbuf[CURL_ERROR_SIZE];
} req;

struct cb_http {
	CURLM *multi;
	long timeout_ms;
	int allow_private;
	req *reqs; /* in flight */
	int n;
};

static size_t discard(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	(void)ptr;
	(void)userdata;
	return size * nmemb;
}

/* Refuse to connect anywhere but public space (the resolved address, after any DNS). */
static curl_socket_t open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
	cb_http *h = clientp;

	(void)purpose;
	if (!h->allow_private && !ns_url_addr_public(&a->addr))
		return CURL_SOCKET_BAD;
	return socket(a->family, a->socktype, a->protocol);
}

cb_http *cb_http_new(long timeout_ms, long max_conns, int allow_private, char *err, size_t errlen)
{
	cb_http *h = calloc(1, sizeof(*h));

	if (!h || !(h->multi = curl_multi_init())) {
		snprintf(err, errlen, "curl_multi_init failed");
		free(h);
		return NULL;
	}
	h->timeout_ms = timeout_ms;
	h->allow_private = allow_private;
	curl_multi_setopt(h->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, max_conns);
	curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, max_conns);
	curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, max_conns);
	return h;
}

static struct curl_slist *headers(const char *signature, const char *delivery_id, int attempt)
{
	char line[NS_SIGN_VALUE_LEN + 64];
	struct curl_slist *l = curl_slist_append(NULL, "Content-Type: application/json"), *t;

	snprintf(line, sizeof(line), "%s: %s", NS_SIGN_HEADER, signature);
	t = l ? curl_slist_append(l, line) : NULL;
	snprintf(line, sizeof(line), "%s: %s", CB_DELIVERY_HEADER, delivery_id);
	t = t ? curl_slist_append(t, line) : NULL;
	snprintf(line, sizeof(line), "%s: %d", CB_ATTEMPT_HEADER, attempt);
	t = t ? curl_slist_append(t, line) : NULL;
	t = t ? curl_slist_append(t, "User-Agent: nstatus-callbacks") : NULL;
	t = t ? curl_slist_append(t, "Expect:") : NULL; /* no 100-continue round trip */
	if (!t)
		curl_slist_free_all(l);
	return t ? l : NULL;
}

static void setup(cb_http *h, req *r, const char *url, const char *body, size_t len)
{
	CURL *e = r->easy;

	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->hdrs);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, h->timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, h->timeout_ms);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, h);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
}

static void unlink_req(cb_http *h, req *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		h->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	h->n--;
}

static void free_req(cb_http *h, req *r)
{
	curl_multi_remove_handle(h->multi, r->easy);
	curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->hdrs);
	free(r);
}

int cb_http_post(cb_http *h, const char *url, const char *body, size_t len, const char *signature,
		 const char *delivery_id, int attempt, void *opaque)
{
	req *r = calloc(1, sizeof(*r));

	if (!r)
		return -1;
	r->opaque = opaque;
	r->easy = curl_easy_init();
	r->hdrs = headers(signature, delivery_id, attempt);
	if (!r->easy || !r->hdrs) {
		curl_easy_cleanup(r->easy);
		curl_slist_free_all(r->hdrs);
		free(r);
		return -1;
	}
	setup(h, r, url, body, len);
	if (curl_multi_add_handle(h->multi, r->easy) != CURLM_OK) {
		curl_easy_cleanup(r->easy);
		curl_slist_free_all(r->hdrs);
		free(r);
		return -1;
	}
	r->next = h->reqs;
	if (h->reqs)
		h->reqs->prev = r;
	h->reqs = r;
	h->n++;
	return 0;
}

int cb_http_run(cb_http *h, int wake_fd, int wait_ms, cb_http_done_fn *done, void *ctx)
{
	struct curl_waitfd fd = {.fd = wake_fd, .events = CURL_WAIT_POLLIN};
	int running = 0, left = 0;
	CURLMsg *m;

	curl_multi_perform(h->multi, &running);
	if (wait_ms > 0) {
		curl_multi_poll(h->multi, wake_fd >= 0 ? &fd : NULL, wake_fd >= 0 ? 1 : 0, wait_ms,
				NULL);
		curl_multi_perform(h->multi, &running);
	}
	while ((m = curl_multi_info_read(h->multi, &left)) != NULL) {
		cb_http_result res = {0};
		req *r = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		res.opaque = r->opaque;
		res.curl_code = (int)m->data.result;
		if (res.curl_code == 0)
			curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &res.status);
		curl_easy_getinfo(r->easy, CURLINFO_TOTAL_TIME, &res.seconds);
		res.error = res.curl_code
				? (r->errbuf[0] ? r->errbuf : curl_easy_strerror(m->data.result))
				: "";
		unlink_req(h, r);
		done(ctx, &res);
		free_req(h, r);
	}
	return h->n;
}

int cb_http_cancel(cb_http *h, void *opaque)
{
	for (req *r = h->reqs; r; r = r->next)
		if (r->opaque == opaque) {
			unlink_req(h, r);
			free_req(h, r);
			return 0;
		}
	return -1;
}

void cb_http_wakeup(cb_http *h)
{
	curl_multi_wakeup(h->multi);
}

void cb_http_free(cb_http *h)
{
	if (!h)
		return;
	while (h->reqs) {
		req *r = h->reqs;
		unlink_req(h, r);
		free_req(h, r);
	}
	curl_multi_cleanup(h->multi);
	free(h);
}
