/* apply.c -- one batch, one transaction (see apply.h): offsets check, decode, state cache,
 * fold, history row, then states and offsets flushed and committed together. */
#include "apply.h"
#include "figures.h"
#include "ns_event.h"
#include "ns_log.h"
#include "ns_readmodel.h"
#include "ns_str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Event ids a notification new in this batch keeps for its duplicate check. */
#define BATCH_IDS_MAX 16

/* A state touched in this batch, with the position of the last event folded into it. A
 * notification without a row when the batch began has its whole history in this batch:
 * while that fits in ids[], its duplicate check is a look there, not a probe of the store
 * (a replay folds a notification's events together, and each would cost a probe). */
typedef struct {
	ns_state st;
	int64_t nid; /* -1 until the first event of a notification without a row */
	int32_t partition;
	int64_t offset;
	int fresh; /* no row when the batch began */
	int nids;  /* ids kept; BATCH_IDS_MAX + 1: more came, ask the store */
	char ids[BATCH_IDS_MAX][NS_EVENT_ID_LEN + 1];
} cached_state;

/* Open-addressing map externalId -> cached_state, sized for the batch (never rehashed),
 * and the batch's figures (figures.h). */
typedef struct {
	cached_state **slots;
	size_t cap; /* power of two, > 2 * messages */
	proj_figures *fig;
} state_cache;

/* A partition seen in this batch: its stored next offset and the one to store. */
typedef struct {
	int32_t partition;
	int64_t next; /* -1: nothing stored */
	int dirty;
} part_pos;

static int cache_init(state_cache *c, size_t n)
{
	c->cap = 16;
	while (c->cap < 2 * n + 1)
		c->cap <<= 1;
	c->slots = calloc(c->cap, sizeof(*c->slots));
	c->fig = proj_figures_new();
	return c->slots && c->fig ? 0 : -1;
}

static void cache_free(state_cache *c)
{
	for (size_t i = 0; i < c->cap && c->slots; i++)
		free(c->slots[i]);
	free(c->slots);
	c->slots = NULL;
	proj_figures_free(c->fig);
	c->fig = NULL;
}

/* The cached state of (tenant, id), loading it from the store on first touch. NULL on
 * error. */
static cached_state *cache_get(state_cache *c, proj_store *s, const char *tenant, const char *id)
{
	size_t i = (size_t)(ns_str_hash(id) ^ ns_str_hash(tenant)) & (c->cap - 1);
	cached_state *cs;

	while (c->slots[i]) {
		if (!strcmp(c->slots[i]->st.external_id, id) &&
		    !strcmp(c->slots[i]->st.tenant, tenant))
			return c->slots[i];
		i = (i + 1) & (c->cap - 1);
	}
	/* not calloc: the state (8 KB) is zeroed by the load, the ids are written before
	 * they are read */
	cs = malloc(sizeof(*cs));
	if (!cs)
		return NULL;
	cs->nids = 0;
	if (proj_store_load_state(s, tenant, id, &cs->st, &cs->nid) < 0) {
		free(cs);
		return NULL;
	}
	cs->fresh = !cs->st.exists;
	c->slots[i] = cs;
	return cs;
}

/* The position record of partition p, loading its stored offset on first use. */
static part_pos *part_get(part_pos *parts, size_t *nparts, size_t cap, proj_store *s,
			  const char *topic, int32_t p)
{
	int64_t next = -1;
	int rc;

	for (size_t i = 0; i < *nparts; i++)
		if (parts[i].partition == p)
			return &parts[i];
	if (*nparts >= cap)
		return NULL;
	rc = proj_store_get_offset(s, topic, p, &next);
	if (rc < 0)
		return NULL;
	parts[*nparts].partition = p;
	parts[*nparts].next = rc == 1 ? next : -1;
	parts[*nparts].dirty = 0;
	return &parts[(*nparts)++];
}

/* 1 when ev's id was folded into cs's notification before, 0 when not, -1 on error. A
 * notification new in this batch is looked up in its ids (none yet: no history at all). */
static int seen_before(proj_store *s, cached_state *cs, const ns_event *ev)
{
	int seen = 0;

	if (!cs->fresh || cs->nids > BATCH_IDS_MAX)
		return proj_store_event_seen(s, cs->nid, ev->id);
	for (int i = 0; i < cs->nids && !seen; i++)
		seen = strcmp(cs->ids[i], ev->id) == 0;
	/* a new id: kept, or past the bound the store answers from now on (it sees the
	 * rows of this batch) */
	if (!seen && cs->nids < BATCH_IDS_MAX)
		memcpy(cs->ids[cs->nids++], ev->id, sizeof(cs->ids[0]));
	else if (!seen)
		cs->nids = BATCH_IDS_MAX + 1;
	return seen;
}

/* Fold one decoded event into res (outcome, orphan). Returns 0 or -1. */
static int fold_one(proj_store *s, const ns_channels *set, state_cache *cache, const ns_event *ev,
		    const proj_msg *m, proj_msg_out *res)
{
	char detail[256] = "", channel[NS_STATUS_MAX + 1], status[NS_STATUS_MAX + 1];
	cached_state *cs = cache_get(cache, s, ev->tenant, ev->external_id);
	proj_event_row row;
	int seen, existed, was_requested;
	ns_outcome *outcome = &res->outcome;

	if (!cs)
		return -1;
	if (cs->nid < 0 && (cs->nid = ns_readmodel_nid(m->partition, m->offset)) < 0) {
		NS_ERROR("projector.position",
			 "partition=%d offset=%lld reason=\"outside the read"
			 " model's numbering\"",
			 (int)m->partition, (long long)m->offset);
		return -1;
	}
	seen = seen_before(s, cs, ev);
	if (seen < 0)
		return -1;
	existed = cs->st.exists;
	was_requested = cs->st.requested;
	memcpy(channel, cs->st.channel, sizeof(channel));
	memcpy(status, cs->st.status, sizeof(status));
	*outcome = ns_fold_apply(set, &cs->st, ev, seen, detail, sizeof(detail));
	if (proj_figures_note(cache->fig, channel, status, &cs->st, ev, *outcome))
		return -1;
	if (!existed && !cs->st.requested)
		res->orphan = PROJ_ORPHAN_CREATED;
	else if (existed && !was_requested && cs->st.requested)
		res->orphan = PROJ_ORPHAN_ADOPTED;
	cs->st.exists = 1;
	cs->partition = m->partition;
	cs->offset = m->offset;
	row = (proj_event_row){
	    .nid = cs->nid,
	    .tenant = ev->tenant,
	    .external_id = ev->external_id,
	    .event_id = ev->id,
	    .type = ns_event_type_name(ev->type),
	    .source = ns_event_source_name(ev->source),
	    .status = ev->status,
	    .outcome = ns_outcome_name(*outcome),
	    .detail = detail,
	    .occurred_at = ev->occurred_at,
	    .received_at = ev->received_at,
	    .partition = m->partition,
	    .offset = m->offset,
	};
	if ((*outcome == NS_OUT_INVALID || *outcome == NS_OUT_STALE ||
	     *outcome == NS_OUT_CONFLICT) &&
	    proj_store_insert_anomaly(s, &row))
		return -1;
	return proj_store_insert_event(s, &row);
}

/* Fold message m (decode, or dead-letter) into the transaction. Returns 0 with *res
 * filled, or -1 with err. */
static int apply_one(proj_store *s, const ns_channels *set, state_cache *cache, part_pos *pp,
		     const proj_msg *m, ns_event *ev, proj_msg_out *res, proj_dlq_fn *dlq,
		     void *dlq_opaque, char *err, size_t errlen)
{
	char reason[256];

	*res = (proj_msg_out){.result = PROJ_MSG_FOLDED};
	if (pp->next >= 0 && m->offset < pp->next) {
		res->result = PROJ_MSG_SKIPPED;
		return 0;
	}
	if (ns_event_decode(m->value ? m->value : "", m->value ? m->len : 0, ev, reason,
			    sizeof(reason))) {
		res->result = PROJ_MSG_DLQ;
		snprintf(res->reason, sizeof(res->reason), "%s", reason);
		NS_WARN("projector.undecodable", "partition=%d offset=%lld reason=\"%s\"",
			(int)m->partition, (long long)m->offset, reason);
		if (dlq && dlq(dlq_opaque, m, reason)) {
			snprintf(err, errlen, "dead-letter produce failed");
			return -1;
		}
	} else if (fold_one(s, set, cache, ev, m, res)) {
		snprintf(err, errlen, "fold into store failed at %d:%lld", (int)m->partition,
			 (long long)m->offset);
		return -1;
	}
	pp->next = m->offset + 1;
	pp->dirty = 1;
	return 0;
}

/* Write every touched state and every moved offset. Returns 0 or -1 with err. */
static int write_back(proj_store *s, const char *topic, const state_cache *cache,
		      const part_pos *parts, size_t nparts, char *err, size_t errlen)
{
	for (size_t i = 0; i < cache->cap; i++) {
		const cached_state *cs = cache->slots[i];
		if (cs && cs->st.exists &&
		    proj_store_save_state(s, &cs->st, cs->nid, cs->partition, cs->offset)) {
			snprintf(err, errlen, "save state failed");
			return -1;
		}
	}
	for (size_t i = 0; i < nparts; i++) {
		if (parts[i].dirty &&
		    proj_store_set_offset(s, topic, parts[i].partition, parts[i].next)) {
			snprintf(err, errlen, "set offset failed");
			return -1;
		}
	}
	return 0;
}

int proj_apply_batch(proj_store *s, const ns_channels *set, const char *topic, const proj_msg *msgs,
		     size_t n, proj_msg_out *out, proj_dlq_fn *dlq, void *dlq_opaque, char *err,
		     size_t errlen)
{
	state_cache cache = {0};
	part_pos *parts = NULL;
	size_t nparts = 0;
	ns_event *ev = NULL;
	int ret = -1, in_tx = 0;

	ev = malloc(sizeof(*ev));
	parts = calloc(n ? n : 1, sizeof(*parts));
	if (!ev || !parts || cache_init(&cache, n)) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (proj_store_begin(s)) {
		snprintf(err, errlen, "begin failed");
		goto out;
	}
	in_tx = 1;
	for (size_t i = 0; i < n; i++) {
		part_pos *pp = part_get(parts, &nparts, n, s, topic, msgs[i].partition);
		proj_msg_out res;

		if (!pp) {
			snprintf(err, errlen, "offset lookup failed");
			goto out;
		}
		if (apply_one(s, set, &cache, pp, &msgs[i], ev, &res, dlq, dlq_opaque, err, errlen))
			goto out;
		if (out)
			out[i] = res;
	}
	if (write_back(s, topic, &cache, parts, nparts, err, errlen))
		goto out;
	if (proj_figures_flush(cache.fig, s)) {
		snprintf(err, errlen, "figures failed");
		goto out;
	}
	if (proj_store_commit(s)) {
		snprintf(err, errlen, "commit failed");
		goto out;
	}
	in_tx = 0;
	ret = 0;
out:
	if (in_tx)
		proj_store_rollback(s);
	cache_free(&cache);
	free(parts);
	free(ev);
	return ret;
}
