/* event.c -- fuzz target: the event envelope decoder that the projector and the sender
 * run on every Kafka message (anyone who can produce to the topic controls these bytes).
 * A decoded event must encode again and decode to the same fields. The reader under it,
 * ns_jflat, is held against jansson on every input: it accepts an object exactly when
 * jansson (duplicates refused, the same depth bound) does, within its own key and member
 * bounds, and every member it keeps has jansson's kind and value. One difference is
 * deliberate: jansson skips a NUL byte right after a number; ns_jflat refuses it. */
#include "fuzz_harness.h"
#include "ns_event.h"
#include "ns_jflat.h"
#include "ns_json.h"

/* Keys in every object of v, and members kept by ns_jflat (the root's and its objects'). */
static size_t keys_in(json_t *v)
{
	size_t n = 0, i;
	const char *k;
	json_t *x;

	if (json_is_object(v)) {
		n = json_object_size(v);
		json_object_foreach(v, k, x) n += keys_in(x);
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x) n += keys_in(x);
	}
	return n;
}

static size_t kept_in(json_t *root)
{
	size_t n = json_object_size(root);
	const char *k;
	json_t *x;

	json_object_foreach(root, k, x) if (json_is_object(x)) n += json_object_size(x);
	return n;
}

static int same_object(const ns_jflat *j, int parent, json_t *o, int keep_children);

/* Does the kept member i have the kind and value of v? */
static int same_value(const ns_jflat *j, int i, json_t *v, int keep_children)
{
	const ns_jflat_member *m = &j->m[i];
	char *s;
	int same;

	if (json_is_string(v)) {
		if (m->kind != NS_JF_STRING || m->len != json_string_length(v) ||
		    !(s = malloc(m->len + 1)))
			return 0;
		ns_jflat_string(m, s);
		same = !memcmp(s, json_string_value(v), m->len);
		free(s);
		return same;
	}
	if (json_is_integer(v))
		return m->kind == NS_JF_INTEGER && m->integer == json_integer_value(v);
	if (json_is_object(v) && keep_children)
		return m->kind == NS_JF_OBJECT && same_object(j, i, v, 0);
	return m->kind == NS_JF_OTHER;
}

/* Is there a member of object parent named key (kept truncated when long) like v? */
static int has_member(const ns_jflat *j, int parent, const char *key, json_t *v, int keep_children)
{
	size_t n = strlen(key), cmp = n < NS_JFLAT_KEY_MAX ? n : NS_JFLAT_KEY_MAX;

	for (int i = 0; i < j->n; i++)
		if (j->m[i].parent == parent && j->m[i].key_len == n &&
		    !memcmp(j->m[i].key, key, cmp) && same_value(j, i, v, keep_children))
			return 1;
	return 0;
}

/* Does object o (json) match object parent of j, member for member? */
static int same_object(const ns_jflat *j, int parent, json_t *o, int keep_children)
{
	const char *key;
	json_t *v;
	size_t count = 0;

	for (int i = 0; i < j->n; i++)
		count += j->m[i].parent == parent;
	if (count != json_object_size(o))
		return 0;
	json_object_foreach(o, key, v) if (!has_member(j, parent, key, v, keep_children)) return 0;
	return 1;
}

static void differential(const char *buf, size_t len)
{
	ns_jflat *j = malloc(sizeof(*j));
	json_error_t jerr;
	json_t *root =
	    ns_json_loadb(buf, len, JSON_REJECT_DUPLICATES, NS_JSON_MAX_DEPTH, &jerr, NULL);
	char err[160];
	int ours;

	if (!j)
		abort();
	ours = ns_jflat_parse(j, buf, len, NS_JSON_MAX_DEPTH, err, sizeof(err)) == 0;
	if (ours && (!json_is_object(root) || !same_object(j, -1, root, 1)))
		abort(); /* accepted what jansson refuses, or read it differently */
	/* refused what jansson accepts, within our bounds (jansson lets a NUL byte through
	 * right after a number, "{\"a\":1\\0}"; we refuse every NUL outside a string) */
	if (!ours && json_is_object(root) && keys_in(root) <= NS_JFLAT_MAX_KEYS &&
	    kept_in(root) <= NS_JFLAT_MAX_MEMBERS && !memchr(buf, '\0', len))
		abort();
	json_decref(root);
	free(j);
}

static void fuzz_one(const char *buf, size_t len)
{
	ns_event *ev = malloc(sizeof(*ev)), *again = malloc(sizeof(*again));
	char err[256];
	char *text = NULL;
	size_t tlen = 0;

	if (!ev || !again)
		abort();
	differential(buf, len);
	if (ns_event_decode(buf, len, ev, err, sizeof(err)) == 0) {
		text = ns_event_encode(ev, &tlen);
		if (!text || ns_event_decode(text, tlen, again, err, sizeof(err)) != 0)
			abort(); /* what we decoded we must be able to write and read back */
		if (strcmp(ev->id, again->id) || strcmp(ev->external_id, again->external_id) ||
		    ev->occurred_at != again->occurred_at || ev->type != again->type)
			abort();
	}
	free(text);
	free(ev);
	free(again);
}
