/* ns_jflat.h -- a JSON reader for small, shallow documents that allocates nothing: the
 * event envelope, which every consumer (projector, sender, changelog, callbacks) decodes
 * once per Kafka message, and ingest's request bodies (ingest/validate.c). jansson builds a
 * tree of heap nodes and a hash table per object for the same job, and that was about a
 * third of the projector's time and a sixth of an acked POST's instructions.
 *
 * It accepts what jansson's json_loadb(JSON_REJECT_DUPLICATES) accepts for an object
 * nested at most max_depth deep: strict UTF-8, no \u0000, no raw control characters in
 * strings, no duplicate key in any object, integers within long long, reals that do not
 * overflow. Two bounds of its own: NS_JFLAT_MAX_KEYS keys in the whole document and
 * NS_JFLAT_MAX_MEMBERS kept members. And a NUL byte outside a string is always refused
 * (jansson lets one through right after a number). fuzz/event.c holds it against jansson
 * on every input.
 *
 * It keeps the members of the root object and of the objects directly inside it (the
 * envelope and its data); deeper values are checked and skipped. Strings stay in the
 * caller's buffer, escapes undecoded, until ns_jflat_string copies one out, so the buffer
 * must outlive the reader. Thread-safe: all state is in the caller's ns_jflat. */
#ifndef NS_JFLAT_H
#define NS_JFLAT_H

#include <stddef.h>
#include <stdint.h>

#define NS_JFLAT_KEY_MAX     31	 /* longer keys are kept truncated and never match a name */
#define NS_JFLAT_MAX_MEMBERS 64	 /* members of the root and of its objects */
#define NS_JFLAT_MAX_KEYS    256 /* keys in the whole document, for the duplicate check */

typedef enum { NS_JF_STRING, NS_JF_INTEGER, NS_JF_OBJECT, NS_JF_OTHER } ns_jf_kind;

/* One kept member. OTHER is true, false, null, a real or an array (checked, not kept). */
typedef struct {
	char key[NS_JFLAT_KEY_MAX + 1]; /* decoded; truncated when key_len > NS_JFLAT_KEY_MAX */
	size_t key_len;			/* decoded length of the whole key */
	int parent;			/* -1: a member of the root; else the index of its object */
	ns_jf_kind kind;
	const char *raw;   /* STRING: the text between the quotes, as written */
	size_t raw_len;	   /* STRING */
	size_t len;	   /* STRING: decoded length in bytes */
	long long integer; /* INTEGER */
} ns_jflat_member;

/* A key seen anywhere in the document (the duplicate check). */
typedef struct {
	const char *raw;
	uint32_t raw_len, len, object;
} ns_jflat_key;

typedef struct {
	ns_jflat_member m[NS_JFLAT_MAX_MEMBERS];
	int n;
	ns_jflat_key keys[NS_JFLAT_MAX_KEYS];
	int nkeys;
	int too_deep; /* after a failed parse: 1 when it failed for nesting past max_depth */
} ns_jflat;

/* Read buf[0..len), which must be one JSON object nested at most max_depth deep, into j.
 * Returns 0, or -1 with a reason (and the byte offset) in err. */
int ns_jflat_parse(ns_jflat *j, const char *buf, size_t len, int max_depth, char *err,
		   size_t errlen);

/* Index in j->m of the member key of object parent (-1: the root), or -1 when absent. */
int ns_jflat_find(const ns_jflat *j, int parent, const char *key);

/* Copy the decoded string of m (kind STRING) to out, which holds m->len + 1 bytes, and
 * NUL-terminate it. */
void ns_jflat_string(const ns_jflat_member *m, char *out);

#endif
