/* state.c -- per-partition hash tables of ref -> latest changelog record (see state.h).
 * Chained buckets, doubled when the load passes 1; one allocation per entry holding the
 * ref and the record side by side. */
#include "state.h"
#include "ns_str.h"

#include <stdlib.h>
#include <string.h>

typedef struct entry {
	struct entry *next;
	uint64_t hash;
	clog_entry e;
	char *ref; /* points into the same allocation, after the record */
} entry;

typedef struct {
	entry **buckets;
	size_t nbuckets, count;
} table;

struct clog_state {
	table parts[CLOG_MAX_PARTITIONS];
	size_t total;
};

clog_state *clog_state_new(void)
{
	return calloc(1, sizeof(clog_state));
}

static table *part(clog_state *s, int32_t p)
{
	return p >= 0 && p < CLOG_MAX_PARTITIONS ? &s->parts[p] : NULL;
}

static entry **find(table *t, const char *ref, uint64_t h)
{
	entry **pp;

	if (t->nbuckets == 0)
		return NULL;
	for (pp = &t->buckets[h & (t->nbuckets - 1)]; *pp; pp = &(*pp)->next)
		if ((*pp)->hash == h && strcmp((*pp)->ref, ref) == 0)
			return pp;
	return NULL;
}

const clog_entry *clog_state_get(clog_state *s, int32_t partition, const char *ref)
{
	table *t = part(s, partition);
	entry **pp = t ? find(t, ref, ns_str_hash(ref)) : NULL;
	return pp ? &(*pp)->e : NULL;
}

/* Double t's buckets (16 at first). Returns 0 or -1. */
static int grow(table *t)
{
	size_t n = t->nbuckets ? t->nbuckets * 2 : 16;
	entry **b = calloc(n, sizeof(*b));

	if (!b)
		return -1;
	for (size_t i = 0; i < t->nbuckets; i++) {
		entry *e = t->buckets[i], *next;
		for (; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = n;
	return 0;
}

int clog_state_put(clog_state *s, int32_t partition, const char *ref, const char *record,
		   size_t len, int64_t version)
{
	table *t = part(s, partition);
	uint64_t h = ns_str_hash(ref);
	size_t rl = strlen(ref);
	entry **pp, *e;

	if (!t)
		return -1;
	if (t->count >= t->nbuckets && grow(t))
		return -1;
	e = malloc(sizeof(*e) + len + 1 + rl + 1);
	if (!e)
		return -1;
	e->hash = h;
	e->e.len = len;
	e->e.version = version;
	memcpy((char *)(e + 1), record, len);
	((char *)(e + 1))[len] = '\0';
	e->e.record = (const char *)(e + 1);
	e->ref = (char *)(e + 1) + len + 1;
	memcpy(e->ref, ref, rl + 1);
	pp = find(t, ref, h);
	if (pp) { /* replace in place */
		e->next = (*pp)->next;
		free(*pp);
		*pp = e;
		return 0;
	}
	e->next = t->buckets[h & (t->nbuckets - 1)];
	t->buckets[h & (t->nbuckets - 1)] = e;
	t->count++;
	s->total++;
	return 0;
}

void clog_state_remove(clog_state *s, int32_t partition, const char *ref)
{
	table *t = part(s, partition);
	entry **pp = t ? find(t, ref, ns_str_hash(ref)) : NULL, *e;

	if (!pp)
		return;
	e = *pp;
	*pp = e->next;
	free(e);
	t->count--;
	s->total--;
}

void clog_state_drop(clog_state *s, int32_t partition)
{
	table *t = part(s, partition);

	if (!t)
		return;
	for (size_t i = 0; i < t->nbuckets; i++) {
		entry *e = t->buckets[i], *next;
		for (; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(t->buckets);
	s->total -= t->count;
	memset(t, 0, sizeof(*t));
}

size_t clog_state_count(const clog_state *s, int32_t partition)
{
	return partition >= 0 && partition < CLOG_MAX_PARTITIONS ? s->parts[partition].count : 0;
}

size_t clog_state_total(const clog_state *s)
{
	return s->total;
}

void clog_state_free(clog_state *s)
{
	if (!s)
		return;
	for (int32_t p = 0; p < CLOG_MAX_PARTITIONS; p++)
		clog_state_drop(s, p);
	free(s);
}
