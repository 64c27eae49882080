/* jobs.c -- the sender's job table (see jobs.h): a list in consumption order and a hash of
 * the active job per externalId, each with the queue of jobs waiting behind it. */
#include "jobs.h"

#include "ns_str.h"

#include <stdlib.h>
#include <string.h>

static sender_job **bucket(sender_jobs *t, const char *id)
{
	return &t->hash[ns_str_hash(id) % SENDER_JOBS_BUCKETS];
}

static void hash_insert(sender_jobs *t, sender_job *j)
{
	sender_job **b = bucket(t, j->ref);

	j->hnext = *b;
	*b = j;
	j->active = 1;
}

static void hash_remove(sender_jobs *t, sender_job *j)
{
	for (sender_job **pp = bucket(t, j->ref); *pp; pp = &(*pp)->hnext) {
		if (*pp == j) {
			*pp = j->hnext;
			break;
		}
	}
	j->hnext = NULL;
	j->active = 0;
}

static void list_unlink(sender_jobs *t, sender_job *j)
{
	if (j->prev)
		j->prev->next = j->next;
	else
		t->head = j->next;
	if (j->next)
		j->next->prev = j->prev;
	else
		t->tail = j->prev;
	j->prev = j->next = NULL;
	t->count--;
}

void sender_jobs_init(sender_jobs *t)
{
	memset(t, 0, sizeof(*t));
}

sender_job *sender_jobs_active(const sender_jobs *t, const char *ref)
{
	sender_job *j = t->hash[ns_str_hash(ref) % SENDER_JOBS_BUCKETS];

	for (; j; j = j->hnext)
		if (strcmp(j->ref, ref) == 0)
			return j;
	return NULL;
}

int sender_jobs_add(sender_jobs *t, sender_job *j, int64_t now_ms)
{
	sender_job *act = sender_jobs_active(t, j->ref);

	j->first_ms = now_ms;
	j->due_ms = now_ms;
	j->prev = t->tail;
	j->next = NULL;
	if (t->tail)
		t->tail->next = j;
	else
		t->head = j;
	t->tail = j;
	t->count++;
	if (act) {
		while (act->wnext)
			act = act->wnext;
		act->wnext = j;
		j->state = SENDER_JOB_WAITING;
		return 0;
	}
	hash_insert(t, j);
	j->state = SENDER_JOB_READY;
	return 1;
}

sender_job *sender_jobs_release(sender_jobs *t, sender_job *j, int64_t now_ms)
{
	sender_job *nx = j->wnext;

	if (j->active) {
		hash_remove(t, j);
		if (nx) {
			hash_insert(t, nx);
			nx->state = SENDER_JOB_READY;
			nx->due_ms = now_ms;
			nx->first_ms = now_ms;
		}
	} else {
		nx = NULL;
	}
	list_unlink(t, j);
	free(j);
	return nx;
}

/* Take every job of partition out of the hash (their queues go with them). */
static void unhash_partition(sender_jobs *t, int32_t partition)
{
	for (int i = 0; i < SENDER_JOBS_BUCKETS; i++) {
		sender_job **pp = &t->hash[i];
		while (*pp) {
			sender_job *x = *pp;
			if (x->partition != partition) {
				pp = &x->hnext;
				continue;
			}
			*pp = x->hnext;
			x->hnext = NULL;
			x->active = 0;
		}
	}
}

int sender_jobs_forget_partition(sender_jobs *t, int32_t partition)
{
	sender_job *j, *nx;
	int n = 0;

	unhash_partition(t, partition);
	for (j = t->head; j; j = nx) {
		nx = j->next;
		if (j->partition != partition || j->abandoned)
			continue;
		n++;
		j->wnext = NULL;
		if (j->state == SENDER_JOB_HTTP || j->state == SENDER_JOB_PRODUCING) {
			j->abandoned = 1;
		} else {
			list_unlink(t, j);
			free(j);
		}
	}
	return n;
}

int sender_jobs_busy(const sender_jobs *t, const int32_t *ps, int n)
{
	for (const sender_job *j = t->head; j; j = j->next) {
		if (j->abandoned)
			continue;
		for (int i = 0; i < n; i++)
			if (j->partition == ps[i])
				return 1;
	}
	return 0;
}

void sender_jobs_free(sender_jobs *t)
{
	sender_job *j, *nx;

	for (j = t->head; j; j = nx) {
		nx = j->next;
		free(j);
	}
	sender_jobs_init(t);
}
