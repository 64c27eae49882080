/* provider.c -- the provider client on libcurl's multi interface (see provider.h).
 *
 * Each request owns an easy handle, its JSON body, and a capped response buffer. Easy
 * handles are not pooled: the multi handle keeps the connection cache, which is what
 * makes reuse work. */
#include "provider.h"
#include "ns_json.h"
#include "ns_log.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sender_provider {
	CURLM *multi;
	char base[512];
	long timeout_ms;
	int inflight;
	struct curl_slist *json_hdr;
	struct request *head; /* requests in flight, for sender_provider_free */
};

typedef struct request {
	struct request *prev, *next;
	CURL *easy;
	sender_req_kind kind;
	void *opaque;
	char *req_body;
	char resp[SENDER_PROVIDER_BODY_MAX + 1];
	size_t resp_len;
	char errbuf[CURL_ERROR_SIZE];
} request;

static void unlink_req(sender_provider *p, request *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		p->head = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->prev = r->next = NULL;
}

sender_outcome sender_provider_classify(sender_req_kind kind, int curl_code, long status)
{
	if (curl_code != 0 || status == 0)
		return SENDER_OUT_TRANSIENT;
	if (kind == SENDER_REQ_EXISTS) {
		if (status == 200)
			return SENDER_OUT_OK;
		if (status == 404)
			return SENDER_OUT_NOTFOUND;
		/* anything else leaves the question open: never send on a guess */
		return SENDER_OUT_TRANSIENT;
	}
	if (status >= 200 && status < 300)
		return SENDER_OUT_OK;
	if (status == 429 || status == 408)
		return SENDER_OUT_TRANSIENT;
	if (status >= 400 && status < 500)
		return SENDER_OUT_PERMANENT;
	return SENDER_OUT_TRANSIENT;
}

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	request *r = userdata;
	size_t n = size * nmemb, room = SENDER_PROVIDER_BODY_MAX - r->resp_len;

	if (n < room)
		room = n;
	memcpy(r->resp + r->resp_len, ptr, room);
	r->resp_len += room;
	r->resp[r->resp_len] = '\0';
	return n; /* the rest is dropped, not an error */
}

sender_provider *sender_provider_new(const char *base_url, long timeout_ms, long max_conns,
				     char *err, size_t errlen)
{
	sender_provider *p = calloc(1, sizeof(*p));
	size_t n;

	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	n = strlen(base_url);
	if (n == 0 || n >= sizeof(p->base)) {
		snprintf(err, errlen, "provider url empty or too long");
		goto fail;
	}
	memcpy(p->base, base_url, n + 1);
	while (n > 0 && p->base[n - 1] == '/')
		p->base[--n] = '\0';
	p->timeout_ms = timeout_ms;
	p->multi = curl_multi_init();
	p->json_hdr = curl_slist_append(NULL, "Content-Type: application/json");
	if (!p->multi || !p->json_hdr) {
		snprintf(err, errlen, "curl_multi_init failed");
		goto fail;
	}
	curl_multi_setopt(p->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, max_conns);
	curl_multi_setopt(p->multi, CURLMOPT_MAX_HOST_CONNECTIONS, max_conns);
	curl_multi_setopt(p->multi, CURLMOPT_MAXCONNECTS, max_conns);
	return p;
fail:
	sender_provider_free(p);
	return NULL;
}

static void request_free(request *r)
{
	if (!r)
		return;
	if (r->easy)
		curl_easy_cleanup(r->easy);
	free(r->req_body);
	free(r);
}

static int start(sender_provider *p, request *r, const char *url)
{
	CURL *e = curl_easy_init();

	if (!e)
		return -1;
	r->easy = e;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, p->timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, p->timeout_ms);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
	if (r->req_body) {
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, p->json_hdr);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->req_body);
	}
	if (curl_multi_add_handle(p->multi, e) != CURLM_OK)
		return -1;
	p->inflight++;
	r->next = p->head;
	if (p->head)
		p->head->prev = r;
	p->head = r;
	return 0;
}

int sender_provider_exists(sender_provider *p, const char *external_id, void *opaque)
{
	request *r = calloc(1, sizeof(*r));
	char url[1024];
	char *esc = NULL;
	int rc = -1;

	if (!r)
		goto out;
	r->kind = SENDER_REQ_EXISTS;
	r->opaque = opaque;
	esc = curl_easy_escape(NULL, external_id, 0);
	if (!esc)
		goto out;
	if (snprintf(url, sizeof(url), "%s/messages/%s", p->base, esc) >= (int)sizeof(url))
		goto out;
	rc = start(p, r, url);
out:
	curl_free(esc);
	if (rc != 0)
		request_free(r);
	return rc;
}

int sender_provider_send(sender_provider *p, const char *channel, const char *to, const char *body,
			 const char *external_id, void *opaque)
{
	request *r = calloc(1, sizeof(*r));
	json_t *j = NULL;
	char url[600];
	int rc = -1;

	if (!r)
		goto out;
	r->kind = SENDER_REQ_SEND;
	r->opaque = opaque;
	j = json_pack("{s:s, s:s, s:s, s:s}", "channel", channel, "to", to, "body", body,
		      "externalId", external_id);
	if (!j)
		goto out;
	r->req_body = json_dumps(j, JSON_COMPACT);
	if (!r->req_body)
		goto out;
	snprintf(url, sizeof(url), "%s/messages", p->base);
	rc = start(p, r, url);
out:
	json_decref(j);
	if (rc != 0)
		request_free(r);
	return rc;
}

static void parse_id(const char *body, char *out, size_t outlen)
{
	json_t *j = ns_json_loadb(body, strlen(body), 0, NS_JSON_MAX_DEPTH, NULL, NULL);
	const char *id = j ? json_string_value(json_object_get(j, "id")) : NULL;

	out[0] = '\0';
	if (id && strlen(id) < outlen)
		memcpy(out, id, strlen(id) + 1);
	json_decref(j);
}

int sender_provider_run(sender_provider *p, int wake_fd, int wait_ms, sender_provider_done_fn *done,
			void *ctx)
{
	struct curl_waitfd fd = {.fd = wake_fd, .events = CURL_WAIT_POLLIN};
	int running = 0, left = 0;
	CURLMsg *m;

	curl_multi_perform(p->multi, &running);
	if (wait_ms > 0) {
		curl_multi_poll(p->multi, wake_fd >= 0 ? &fd : NULL, wake_fd >= 0 ? 1 : 0, wait_ms,
				NULL);
		curl_multi_perform(p->multi, &running);
	}
	for (m = curl_multi_info_read(p->multi, &left); m;
	     m = curl_multi_info_read(p->multi, &left)) {
		request *r = NULL;
		sender_provider_result res;
		double secs = 0;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		memset(&res, 0, sizeof(res));
		res.kind = r->kind;
		res.opaque = r->opaque;
		res.curl_code = (int)m->data.result;
		if (m->data.result == CURLE_OK)
			curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &res.status);
		curl_easy_getinfo(r->easy, CURLINFO_TOTAL_TIME, &secs);
		res.seconds = secs;
		res.error = res.curl_code
				? (r->errbuf[0] ? r->errbuf : curl_easy_strerror(m->data.result))
				: "";
		res.body = r->resp;
		res.outcome = sender_provider_classify(r->kind, res.curl_code, res.status);
		if (res.outcome == SENDER_OUT_OK)
			parse_id(r->resp, res.provider_id, sizeof(res.provider_id));
		curl_multi_remove_handle(p->multi, r->easy);
		unlink_req(p, r);
		p->inflight--;
		done(ctx, &res);
		request_free(r);
	}
	return p->inflight;
}

int sender_provider_inflight(const sender_provider *p)
{
	return p->inflight;
}

void sender_provider_wakeup(sender_provider *p)
{
	if (p && p->multi)
		curl_multi_wakeup(p->multi);
}

void sender_provider_free(sender_provider *p)
{
	if (!p)
		return;
	while (p->head) {
		request *r = p->head;
		curl_multi_remove_handle(p->multi, r->easy);
		unlink_req(p, r);
		request_free(r);
	}
	if (p->multi)
		curl_multi_cleanup(p->multi);
	curl_slist_free_all(p->json_hdr);
	free(p);
}
