/* queue.c -- deliveries by notification (FIFO), by due time (a binary min-heap) and by
 * host (in-flight counts and lines), see queue.h. Notifications and hosts are kept in
 * small chained hash tables and freed when nothing of theirs is left. */
#include "queue.h"
#include "ns_str.h"

#include <stdlib.h>
#include <string.h>

typedef struct cb_notif {
	struct cb_notif *next; /* hash chain */
	cb_delivery *head, *tail;
	char ref[NS_REF_MAX + 1];
} cb_notif;

typedef struct cb_host {
	struct cb_host *next; /* hash chain */
	int in_flight;
	cb_delivery *line, *line_tail; /* due, waiting for a slot */
	char name[NS_HOST_MAX + 1];
} cb_host;

typedef struct {
	void **b;
	size_t n, cap;
} table;

struct cb_queue {
	int per_host;
	table notifs, hosts; /* buckets of cb_notif / cb_host */
	size_t nnotifs, nhosts;
	cb_delivery **heap; /* CB_DUE deliveries by due_ms */
	size_t heap_n, heap_cap;
	cb_delivery *ready, *ready_tail; /* got a host slot: start next */
	size_t len, in_flight;
	uint64_t seq;
};

/* ---- deliveries ---- */

cb_delivery *cb_delivery_new(int32_t partition, int64_t offset, const char *ref, const char *url,
			     const char *delivery_id, int64_t version, const char *body, size_t len,
			     int64_t now_ms)
{
	cb_delivery *d = calloc(1, sizeof(*d));
	ns_url u;

	if (!d || ns_url_parse(url, strlen(url), &u, NULL, 0) != 0 || strlen(ref) > NS_REF_MAX ||
	    strlen(delivery_id) > NS_EVENT_ID_LEN || !(d->body = malloc(len + 1))) {
		cb_delivery_free(d);
		return NULL;
	}
	memcpy(d->body, body, len);
	d->body[len] = '\0';
	d->len = len;
	d->partition = partition;
	d->offset = offset;
	d->version = version;
	d->first_ms = d->due_ms = now_ms;
	memcpy(d->ref, ref, strlen(ref) + 1);
	memcpy(d->url, url, strlen(url) + 1);
	memcpy(d->delivery_id, delivery_id, strlen(delivery_id) + 1);
	memcpy(d->host, u.host, sizeof(d->host));
	return d;
}

void cb_delivery_free(cb_delivery *d)
{
	if (!d)
		return;
	free(d->body);
	free(d);
}

/* ---- hash tables (keyed by the string at key_off of each node; next first) ---- */

typedef struct node {
	struct node *next;
} node;

static int table_grow(table *t, size_t key_off)
{
	size_t cap = t->cap ? t->cap * 2 : 64;
	void **b = calloc(cap, sizeof(*b));

	if (!b)
		return -1;
	for (size_t i = 0; i < t->cap; i++) {
		node *n = t->b[i], *next;
		for (; n; n = next) {
			size_t h = (size_t)ns_str_hash((char *)n + key_off) & (cap - 1);
			next = n->next;
			n->next = b[h];
			b[h] = n;
		}
	}
	free(t->b);
	t->b = b;
	t->cap = cap;
	return 0;
}

/* The node for key, created (zeroed, size bytes, key copied) when create and absent. */
static node *table_get(table *t, size_t *count, const char *key, size_t key_off, size_t size,
		       int create)
{
	size_t h;
	node *n;

	if (t->cap) {
		h = (size_t)ns_str_hash(key) & (t->cap - 1);
		for (n = t->b[h]; n; n = n->next)
			if (strcmp((char *)n + key_off, key) == 0)
				return n;
	}
	if (!create || (*count >= t->cap && table_grow(t, key_off) != 0) || !(n = calloc(1, size)))
		return NULL;
	memcpy((char *)n + key_off, key, strlen(key) + 1);
	h = (size_t)ns_str_hash(key) & (t->cap - 1);
	n->next = t->b[h];
	t->b[h] = n;
	(*count)++;
	return n;
}

static void table_remove(table *t, size_t *count, node *victim, size_t key_off)
{
	size_t h = (size_t)ns_str_hash((char *)victim + key_off) & (t->cap - 1);

	for (node **pp = (node **)&t->b[h]; *pp; pp = &(*pp)->next)
		if (*pp == victim) {
			*pp = victim->next;
			free(victim);
			(*count)--;
			return;
		}
}

#define NOTIF_KEY offsetof(cb_notif, ref)
#define HOST_KEY  offsetof(cb_host, name)

static cb_host *host_of(cb_queue *q, const cb_delivery *d, int create)
{
	return (cb_host *)table_get(&q->hosts, &q->nhosts, d->host, HOST_KEY, sizeof(cb_host),
				    create);
}

/* ---- the heap of due deliveries ---- */

static void heap_set(cb_queue *q, size_t i, cb_delivery *d)
{
	q->heap[i] = d;
	d->heap_at = i;
}

/* a before b: earlier due, or as due and queued first */
static int before(const cb_delivery *a, const cb_delivery *b)
{
	return a->due_ms < b->due_ms || (a->due_ms == b->due_ms && a->seq < b->seq);
}

static void heap_up(cb_queue *q, size_t i)
{
	cb_delivery *d = q->heap[i];
	while (i > 0 && before(d, q->heap[(i - 1) / 2])) {
		heap_set(q, i, q->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(q, i, d);
}

static void heap_down(cb_queue *q, size_t i)
{
	cb_delivery *d = q->heap[i];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= q->heap_n)
			break;
		if (c + 1 < q->heap_n && before(q->heap[c + 1], q->heap[c]))
			c++;
		if (!before(q->heap[c], d))
			break;
		heap_set(q, i, q->heap[c]);
		i = c;
	}
	heap_set(q, i, d);
}

static int heap_push(cb_queue *q, cb_delivery *d)
{
	if (q->heap_n == q->heap_cap) {
		size_t cap = q->heap_cap ? q->heap_cap * 2 : 64;
		cb_delivery **h = realloc(q->heap, cap * sizeof(*h));
		if (!h)
			return -1;
		q->heap = h;
		q->heap_cap = cap;
	}
	d->state = CB_DUE;
	d->seq = q->seq++;
	heap_set(q, q->heap_n++, d);
	heap_up(q, q->heap_n - 1);
	return 0;
}

static cb_delivery *heap_pop(cb_queue *q)
{
	cb_delivery *top = q->heap[0];
	if (--q->heap_n > 0) {
		heap_set(q, 0, q->heap[q->heap_n]);
		heap_down(q, 0);
	}
	return top;
}

/* ---- the queue ---- */

cb_queue *cb_queue_new(int per_host)
{
	cb_queue *q = calloc(1, sizeof(*q));
	if (q)
		q->per_host = per_host > 0 ? per_host : 1;
	return q;
}

void cb_queue_free(cb_queue *q)
{
	if (!q)
		return;
	for (size_t i = 0; i < q->notifs.cap; i++)
		for (node *n = q->notifs.b[i], *next; n; n = next) {
			next = n->next;
			free(n);
		}
	for (size_t i = 0; i < q->hosts.cap; i++)
		for (node *n = q->hosts.b[i], *next; n; n = next) {
			next = n->next;
			free(n);
		}
	free(q->notifs.b);
	free(q->hosts.b);
	free(q->heap);
	free(q);
}

int cb_queue_add(cb_queue *q, cb_delivery *d, int64_t now_ms)
{
	cb_notif *n =
	    (cb_notif *)table_get(&q->notifs, &q->nnotifs, d->ref, NOTIF_KEY, sizeof(cb_notif), 1);

	if (!n)
		return -1;
	d->notif = n;
	d->next_in_notif = NULL;
	if (n->tail) {
		n->tail->next_in_notif = d;
		n->tail = d;
		d->state = CB_WAITING;
	} else {
		d->due_ms = now_ms;
		if (heap_push(q, d) != 0) {
			table_remove(&q->notifs, &q->nnotifs, (node *)n, NOTIF_KEY);
			return -1;
		}
		n->head = n->tail = d;
	}
	q->len++;
	return 0;
}

static void line_append(cb_delivery **head, cb_delivery **tail, cb_delivery *d)
{
	d->next_in_line = NULL;
	if (*tail)
		(*tail)->next_in_line = d;
	else
		*head = d;
	*tail = d;
}

static cb_delivery *line_pop(cb_delivery **head, cb_delivery **tail)
{
	cb_delivery *d = *head;
	if (d) {
		*head = d->next_in_line;
		if (!*head)
			*tail = NULL;
	}
	return d;
}

static void start(cb_queue *q, cb_delivery *d)
{
	d->state = CB_IN_FLIGHT;
	q->in_flight++;
}

cb_delivery *cb_queue_take(cb_queue *q, int64_t now_ms)
{
	cb_delivery *d = line_pop(&q->ready, &q->ready_tail);

	if (d) { /* its host slot is already counted */
		start(q, d);
		return d;
	}
	while (q->heap_n > 0 && q->heap[0]->due_ms <= now_ms) {
		cb_host *h;
		d = heap_pop(q);
		h = host_of(q, d, 1);
		if (!h) { /* out of memory: try again later */
			d->due_ms = now_ms + 1000;
			(void)heap_push(q, d);
			return NULL;
		}
		if (h->in_flight < q->per_host) {
			h->in_flight++;
			start(q, d);
			return d;
		}
		d->state = CB_HOST_BUSY;
		line_append(&h->line, &h->line_tail, d);
	}
	return NULL;
}

/* An attempt to d's host ended: hand its slot to the next in the host's line, or forget
 * the host when it has nothing left. */
static void host_release(cb_queue *q, cb_delivery *d)
{
	cb_host *h = host_of(q, d, 0);
	cb_delivery *next;

	if (!h)
		return;
	h->in_flight--;
	next = line_pop(&h->line, &h->line_tail);
	if (next) {
		h->in_flight++;
		next->state = CB_READY;
		line_append(&q->ready, &q->ready_tail, next);
	} else if (h->in_flight == 0) {
		table_remove(&q->hosts, &q->nhosts, (node *)h, HOST_KEY);
	}
}

void cb_queue_retry(cb_queue *q, cb_delivery *d, int64_t due_ms)
{
	q->in_flight--;
	host_release(q, d);
	d->due_ms = due_ms;
	if (heap_push(q, d) != 0) { /* out of memory: keep it as its host's next */
		cb_host *h = host_of(q, d, 1);
		if (h) {
			d->state = CB_HOST_BUSY;
			line_append(&h->line, &h->line_tail, d);
		}
	}
}

void cb_queue_finish(cb_queue *q, cb_delivery *d, int64_t now_ms)
{
	cb_notif *n = d->notif;
	cb_delivery *next = d->next_in_notif;

	q->in_flight--;
	q->len--;
	host_release(q, d);
	d->state = CB_FINISHED;
	n->head = next;
	if (!next) {
		n->tail = NULL;
		table_remove(&q->notifs, &q->nnotifs, (node *)n, NOTIF_KEY);
		return;
	}
	next->due_ms = now_ms;
	(void)heap_push(q, next);
}

/* ---- revoke ---- */

/* Rebuild a line without the deliveries of partition. */
static void line_filter(cb_delivery **head, cb_delivery **tail, int32_t partition)
{
	cb_delivery *d = *head, *next;

	*head = *tail = NULL;
	for (; d; d = next) {
		next = d->next_in_line;
		if (d->partition != partition)
			line_append(head, tail, d);
	}
}

static void rebuild_heap(cb_queue *q, int32_t partition)
{
	size_t k = 0;
	for (size_t i = 0; i < q->heap_n; i++)
		if (q->heap[i]->partition != partition)
			heap_set(q, k++, q->heap[i]);
	q->heap_n = k;
	for (size_t i = k / 2 + 1; i-- > 0;)
		if (i < q->heap_n)
			heap_down(q, i);
}

size_t cb_queue_drop(cb_queue *q, int32_t partition, void (*fn)(void *ctx, cb_delivery *d),
		     void *ctx)
{
	size_t dropped = 0;

	rebuild_heap(q, partition);
	line_filter(&q->ready, &q->ready_tail, partition);
	for (size_t i = 0; i < q->hosts.cap; i++)
		for (cb_host *h = q->hosts.b[i]; h; h = h->next)
			line_filter(&h->line, &h->line_tail, partition);
	/* a notification lives in one partition: its whole FIFO goes */
	for (size_t i = 0; i < q->notifs.cap; i++) {
		cb_notif *n = q->notifs.b[i], *next;
		for (; n; n = next) {
			next = n->next;
			if (!n->head || n->head->partition != partition)
				continue;
			for (cb_delivery *d = n->head, *dn; d; d = dn) {
				dn = d->next_in_notif;
				if (d->state == CB_IN_FLIGHT)
					q->in_flight--;
				if (d->state == CB_IN_FLIGHT || d->state == CB_READY)
					host_release(q, d); /* it held a slot */
				q->len--;
				dropped++;
				d->state = CB_FINISHED;
				fn(ctx, d);
			}
			table_remove(&q->notifs, &q->nnotifs, (node *)n, NOTIF_KEY);
		}
	}
	return dropped;
}

size_t cb_queue_len(const cb_queue *q)
{
	return q->len;
}

size_t cb_queue_in_flight(const cb_queue *q)
{
	return q->in_flight;
}

int64_t cb_queue_next_due(const cb_queue *q)
{
	return q->heap_n ? q->heap[0]->due_ms : -1;
}

int64_t cb_queue_oldest(const cb_queue *q)
{
	int64_t oldest = -1;

	for (size_t i = 0; i < q->notifs.cap; i++)
		for (cb_notif *n = q->notifs.b[i]; n; n = n->next)
			if (n->head && (oldest < 0 || n->head->first_ms < oldest))
				oldest = n->head->first_ms;
	return oldest;
}
