/* store.c -- the simulated provider's message table: a chained hash under one mutex. */
#include "store.h"
#include "ns_str.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUCKETS 8192

typedef struct item {
	struct item *next;
	char *external_id;
	char channel[NS_STATUS_MAX + 1];
	char id[32];
	long sends;
	int npath;
	char path[SIM_PATH_MAX][NS_STATUS_MAX + 1];
	int ndelivered;
	char delivered[SIM_PATH_MAX * 2][NS_STATUS_MAX + 1];
} item;

struct sim_store {
	pthread_mutex_t lock;
	item *b[BUCKETS];
	long count;
	long total_sends;
};

static unsigned h(const char *s)
{
	return (unsigned)(ns_str_hash(s) % BUCKETS);
}

sim_store *sim_store_new(void)
{
	sim_store *s = calloc(1, sizeof(*s));
	if (s)
		pthread_mutex_init(&s->lock, NULL);
	return s;
}

void sim_store_free(sim_store *s)
{
	int i;

	if (!s)
		return;
	for (i = 0; i < BUCKETS; i++) {
		item *it = s->b[i], *nx;
		for (; it; it = nx) {
			nx = it->next;
			free(it->external_id);
			free(it);
		}
	}
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static item *find(sim_store *s, const char *id)
{
	item *it;
	for (it = s->b[h(id)]; it; it = it->next)
		if (strcmp(it->external_id, id) == 0)
			return it;
	return NULL;
}

long sim_store_send(sim_store *s, const char *external_id, const char *channel,
		    const sim_path *path, int *is_new, char *id, size_t idlen)
{
	item *it;
	long sends = -1;
	int i;

	*is_new = 0;
	pthread_mutex_lock(&s->lock);
	it = find(s, external_id);
	if (!it) {
		it = calloc(1, sizeof(*it));
		if (!it)
			goto out;
		it->external_id = strdup(external_id);
		if (!it->external_id) {
			free(it);
			goto out;
		}
		snprintf(it->channel, sizeof(it->channel), "%s", channel);
		snprintf(it->id, sizeof(it->id), "sim-%ld", ++s->count);
		for (i = 0; path && i < path->nevents && i < SIM_PATH_MAX; i++) {
			/* the path in the order the events happened (by timestamp) */
			snprintf(it->path[i], sizeof(it->path[i]), "%s", path->w[i].event);
			it->npath++;
		}
		it->next = s->b[h(external_id)];
		s->b[h(external_id)] = it;
		*is_new = 1;
	}
	it->sends++;
	s->total_sends++;
	sends = it->sends;
	snprintf(id, idlen, "%s", it->id);
out:
	pthread_mutex_unlock(&s->lock);
	return sends;
}

void sim_store_delivered(sim_store *s, const char *external_id, const char *event)
{
	item *it;

	pthread_mutex_lock(&s->lock);
	it = find(s, external_id);
	if (it && it->ndelivered < SIM_PATH_MAX * 2) {
		snprintf(it->delivered[it->ndelivered], sizeof(it->delivered[0]), "%s", event);
		it->ndelivered++;
	}
	pthread_mutex_unlock(&s->lock);
}

static json_t *item_json(const item *it)
{
	json_t *o = json_object(), *p = json_array(), *d = json_array();
	int i;

	if (!o || !p || !d) {
		json_decref(o);
		json_decref(p);
		json_decref(d);
		return NULL;
	}
	for (i = 0; i < it->npath; i++)
		json_array_append_new(p, json_string(it->path[i]));
	for (i = 0; i < it->ndelivered; i++)
		json_array_append_new(d, json_string(it->delivered[i]));
	json_object_set_new(o, "id", json_string(it->id));
	json_object_set_new(o, "externalId", json_string(it->external_id));
	json_object_set_new(o, "channel", json_string(it->channel));
	json_object_set_new(o, "sends", json_integer(it->sends));
	json_object_set_new(o, "path", p);
	json_object_set_new(o, "delivered", d);
	return o;
}

json_t *sim_store_item(sim_store *s, const char *external_id)
{
	json_t *o = NULL;
	item *it;

	pthread_mutex_lock(&s->lock);
	it = find(s, external_id);
	if (it)
		o = item_json(it);
	pthread_mutex_unlock(&s->lock);
	return o;
}

json_t *sim_store_report(sim_store *s)
{
	json_t *r = json_object(), *items = json_object();
	long dups = 0;
	int i;

	if (!r || !items) {
		json_decref(r);
		json_decref(items);
		return NULL;
	}
	pthread_mutex_lock(&s->lock);
	for (i = 0; i < BUCKETS; i++) {
		const item *it;
		for (it = s->b[i]; it; it = it->next) {
			if (it->sends > 1)
				dups++;
			json_object_set_new(items, it->external_id, item_json(it));
		}
	}
	json_object_set_new(r, "messages", json_integer(s->count));
	json_object_set_new(r, "sends", json_integer(s->total_sends));
	json_object_set_new(r, "duplicateSends", json_integer(dups));
	pthread_mutex_unlock(&s->lock);
	json_object_set_new(r, "items", items);
	return r;
}
