/* ns_jflat.c -- the non-allocating reader of shallow JSON objects (see ns_jflat.h).
 *
 * A recursive-descent parser over the caller's bytes, bounded by max_depth. Strings are
 * checked in one pass (escapes, surrogate pairs, UTF-8) that also yields their decoded
 * length; keys are compared decoded, so "\u0076" and "v" are the same key, as in jansson.
 * Numbers follow JSON's grammar: an integer that does not fit a long long and a real that
 * overflows a double are errors, as in jansson. */
#include "ns_jflat.h"
#include "ns_str.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The one-letter escapes after a backslash, and the byte each stands for. */
static const char escapes[] = "\"\\/bfnrt", escaped[] = "\"\\/\b\f\n\r\t";

typedef struct {
	ns_jflat *j;
	const char *start, *p, *end;
	int depth, max_depth;
	uint32_t objects; /* objects opened so far: each one's id for the duplicate check */
	char *err;
	size_t errlen;
} parser;

/* A string as scanned: where it is and what it decodes to. */
typedef struct {
	const char *raw;
	size_t raw_len, len;
} span;

static int value(parser *ps, int keep, int parent);

static int fail(parser *ps, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!ps->errlen)
		return -1;
	va_start(ap, fmt);
	n = vsnprintf(ps->err, ps->errlen, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < ps->errlen)
		snprintf(ps->err + n, ps->errlen - (size_t)n, " (byte %ld)",
			 (long)(ps->p - ps->start));
	return -1;
}

static void skip_ws(parser *ps)
{
	while (ps->p < ps->end &&
	       (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

/* ---- strings ---- */

/* The four hex digits at s as a code unit. 0, or -1 when one is not a hex digit. */
static int hex4(const char *s, uint32_t *out)
{
	unsigned char b[2];

	if (ns_str_hex_decode(s, 4, b, sizeof(b)) != 2)
		return -1;
	*out = (uint32_t)b[0] << 8 | b[1];
	return 0;
}

static int utf8_put(uint32_t cp, unsigned char *out)
{
	if (cp < 0x80) {
		out[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (unsigned char)(0xC0 | (cp >> 6));
		out[1] = (unsigned char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (unsigned char)(0xE0 | (cp >> 12));
		out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (unsigned char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (unsigned char)(0xF0 | (cp >> 18));
	out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (unsigned char)(0x80 | (cp & 0x3F));
	return 4;
}

/* The \u escape at s (6 bytes, or 12 for a surrogate pair; end bounds it): its code point
 * in *cp and its length in *used. -1 on a bad digit, a lone surrogate or U+0000. */
static int unicode_escape(const char *s, const char *end, uint32_t *cp, int *used)
{
	uint32_t lo;

	if (end - s < 6 || hex4(s + 2, cp))
		return -1;
	*used = 6;
	if (*cp >= 0xDC00 && *cp <= 0xDFFF)
		return -1;
	if (*cp >= 0xD800 && *cp <= 0xDBFF) {
		if (end - s < 12 || s[6] != '\\' || s[7] != 'u' || hex4(s + 8, &lo) ||
		    lo < 0xDC00 || lo > 0xDFFF)
			return -1;
		*cp = 0x10000 + ((*cp - 0xD800) << 10) + (lo - 0xDC00);
		*used = 12;
	}
	return *cp == 0 ? -1 : 0;
}

/* The bytes one element of a checked string at s decodes to; returns its written length
 * and advances *s. */
static int decode_one(const char **s, const char *end, unsigned char out[4])
{
	const char *q;
	uint32_t cp;
	int used;

	if (**s != '\\') {
		out[0] = (unsigned char)*(*s)++;
		return 1;
	}
	if ((*s)[1] == 'u') {
		(void)unicode_escape(*s, end, &cp, &used);
		*s += used;
		return utf8_put(cp, out);
	}
	q = strchr(escapes, (*s)[1]);
	out[0] = (unsigned char)escaped[q - escapes];
	*s += 2;
	return 1;
}

/* One element of the string at ps->p (inside the quotes): checked, added to sp. */
static int string_element(parser *ps, span *sp)
{
	unsigned char buf[4];
	const char *q = ps->p;
	uint32_t cp;
	int n, used;

	if ((unsigned char)*q < 0x20)
		return fail(ps, "control character in a string");
	if (*q == '\\') {
		if (q + 1 >= ps->end)
			return fail(ps, "unterminated string");
		if (q[1] == 'u' && unicode_escape(q, ps->end, &cp, &used))
			return fail(ps, "invalid \\u escape");
		if (q[1] != 'u' && (!q[1] || !strchr(escapes, q[1])))
			return fail(ps, "invalid escape");
		n = decode_one(&ps->p, ps->end, buf);
	} else {
		n = ns_str_utf8_seq((const unsigned char *)q, (size_t)(ps->end - q));
		if (!n)
			return fail(ps, "invalid UTF-8");
		ps->p += n;
	}
	sp->len += (size_t)n;
	return 0;
}

/* The string at ps->p (on its opening quote) into sp; ps->p ends after the closing one.
 * Runs of printable ASCII, nearly all of an envelope, are skipped at once
 * (ns_str_json_plain_prefix). */
static int string(parser *ps, span *sp)
{
	const unsigned char *q, *end = (const unsigned char *)ps->end;

	ps->p++;
	sp->raw = ps->p;
	sp->len = 0;
	for (;;) {
		q = (const unsigned char *)ps->p;
		q += ns_str_json_plain_prefix(q, (size_t)(end - q));
		sp->len += (size_t)(q - (const unsigned char *)ps->p);
		ps->p = (const char *)q;
		if (q >= end)
			return fail(ps, "unterminated string");
		if (*q == '"')
			break;
		if (string_element(ps, sp))
			return -1;
	}
	sp->raw_len = (size_t)(ps->p - sp->raw);
	ps->p++;
	return 0;
}

void ns_jflat_string(const ns_jflat_member *m, char *out)
{
	const char *s = m->raw, *end = m->raw + m->raw_len;
	size_t n = 0;

	if (m->raw_len == m->len) { /* no escape: every escape is longer than its bytes */
		memcpy(out, m->raw, m->len);
		out[m->len] = '\0';
		return;
	}
	while (s < end)
		n += (size_t)decode_one(&s, end, (unsigned char *)out + n);
	out[n] = '\0';
}

/* Do the checked strings a and b decode to the same bytes? (Same decoded length given.) */
static int same_string(const char *a, size_t alen, const char *b, size_t blen)
{
	const char *ae = a + alen, *be = b + blen;
	unsigned char x[4], y[4];
	int nx = 0, ny = 0, ix = 0, iy = 0;

	for (;;) {
		if (ix == nx && a < ae)
			nx = decode_one(&a, ae, x), ix = 0;
		if (iy == ny && b < be)
			ny = decode_one(&b, be, y), iy = 0;
		if (ix == nx || iy == ny)
			return ix == nx && iy == ny;
		if (x[ix++] != y[iy++])
			return 0;
	}
}

/* ---- numbers ---- */

static int digits(parser *ps)
{
	const char *q = ps->p;

	while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
		ps->p++;
	return ps->p > q ? 0 : -1;
}

/* Does the real number text[0..n) overflow a double? */
static int real_overflows(const char *text, size_t n)
{
	char small[128], *copy = n < sizeof(small) ? small : malloc(n + 1);
	double d;
	int over;

	if (!copy)
		return 1;
	memcpy(copy, text, n);
	copy[n] = '\0';
	errno = 0;
	d = strtod(copy, NULL);
	over = errno == ERANGE && (d > 1.0 || d < -1.0);
	if (copy != small)
		free(copy);
	return over;
}

/* Step over the number at ps->p (JSON's grammar); *real: it has a fraction or exponent. */
static int number_text(parser *ps, int *real)
{
	*real = 0;
	if (ps->p < ps->end && *ps->p == '-')
		ps->p++;
	if (ps->p < ps->end && *ps->p == '0') {
		ps->p++;
		if (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			return -1;
	} else if (digits(ps)) {
		return -1;
	}
	if (ps->p < ps->end && *ps->p == '.') {
		ps->p++, *real = 1;
		if (digits(ps))
			return -1;
	}
	if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
		ps->p++, *real = 1;
		if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
			ps->p++;
		if (digits(ps))
			return -1;
	}
	return 0;
}

/* The number at ps->p: INTEGER into *out, or OTHER for a real. */
static int number(parser *ps, ns_jf_kind *kind, long long *out)
{
	const char *start = ps->p;
	char small[32];
	size_t n;
	int real;

	if (number_text(ps, &real))
		return fail(ps, "invalid number");
	n = (size_t)(ps->p - start);
	*kind = real ? NS_JF_OTHER : NS_JF_INTEGER;
	if (real)
		return real_overflows(start, n) ? fail(ps, "real overflow") : 0;
	if (n >= sizeof(small))
		return fail(ps, "integer too big");
	memcpy(small, start, n);
	small[n] = '\0';
	errno = 0;
	*out = strtoll(small, NULL, 10);
	return errno == ERANGE ? fail(ps, "integer too big") : 0;
}

/* ---- objects, arrays, values ---- */

/* Record key k of object obj, refusing a second one with the same decoded bytes. Two keys
 * written without escapes (raw length = decoded length) compare as written. */
static int key_seen(parser *ps, const span *k, uint32_t obj)
{
	ns_jflat *j = ps->j;

	for (int i = 0; i < j->nkeys; i++) {
		const ns_jflat_key *o = &j->keys[i];
		if (o->object != obj || o->len != k->len)
			continue;
		if (o->raw_len == o->len && k->raw_len == k->len
			? !memcmp(o->raw, k->raw, k->len)
			: same_string(o->raw, o->raw_len, k->raw, k->raw_len))
			return fail(ps, "duplicate object key");
	}
	if (j->nkeys == NS_JFLAT_MAX_KEYS)
		return fail(ps, "more than %d keys", NS_JFLAT_MAX_KEYS);
	j->keys[j->nkeys++] = (ns_jflat_key){k->raw, (uint32_t)k->raw_len, (uint32_t)k->len, obj};
	return 0;
}

/* Keep a member named k of object parent; returns its index, or -1 when full. */
static int keep_member(parser *ps, const span *k, int parent)
{
	ns_jflat *j = ps->j;
	ns_jflat_member *m;
	char key[NS_JFLAT_KEY_MAX + 4]; /* the last element decoded may write 4 bytes */
	const char *s = k->raw, *end = k->raw + k->raw_len;
	size_t n = 0;

	if (j->n == NS_JFLAT_MAX_MEMBERS)
		return fail(ps, "more than %d members", NS_JFLAT_MAX_MEMBERS);
	m = &j->m[j->n];
	memset(m, 0, sizeof(*m));
	if (k->raw_len == k->len) { /* no escape: the bytes as written */
		n = k->len < NS_JFLAT_KEY_MAX ? k->len : NS_JFLAT_KEY_MAX;
		memcpy(m->key, k->raw, n);
	} else {
		while (s < end && n <= NS_JFLAT_KEY_MAX)
			n += (size_t)decode_one(&s, end, (unsigned char *)key + n);
		n = n < NS_JFLAT_KEY_MAX ? n : NS_JFLAT_KEY_MAX;
		memcpy(m->key, key, n);
	}
	m->key[n] = '\0';
	m->key_len = k->len;
	m->parent = parent;
	return j->n++;
}

static int member_value(parser *ps, int idx, int keep_children)
{
	ns_jflat_member *m = &ps->j->m[idx];
	span s;

	if (ps->p < ps->end && *ps->p == '"') {
		if (string(ps, &s))
			return -1;
		m->kind = NS_JF_STRING, m->raw = s.raw, m->raw_len = s.raw_len, m->len = s.len;
		return 0;
	}
	if (ps->p < ps->end && (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9')))
		return number(ps, &m->kind, &m->integer);
	m->kind = ps->p < ps->end && *ps->p == '{' && keep_children ? NS_JF_OBJECT : NS_JF_OTHER;
	return value(ps, keep_children && m->kind == NS_JF_OBJECT, idx);
}

/* One "key": value pair of object obj (id), kept when keep. */
static int pair(parser *ps, uint32_t obj, int keep, int parent)
{
	span k;
	int idx;

	skip_ws(ps);
	if (ps->p >= ps->end || *ps->p != '"')
		return fail(ps, "object key expected");
	if (string(ps, &k) || key_seen(ps, &k, obj))
		return -1;
	skip_ws(ps);
	if (ps->p >= ps->end || *ps->p != ':')
		return fail(ps, "':' expected");
	ps->p++;
	skip_ws(ps);
	if (!keep)
		return value(ps, 0, -1);
	idx = keep_member(ps, &k, parent);
	/* the root's members keep their objects' members; deeper ones are skipped */
	return idx < 0 ? -1 : member_value(ps, idx, parent < 0);
}

/* The object or array at ps->p; members kept when keep (parent: the owning member). */
static int container(parser *ps, int keep, int parent)
{
	char close = *ps->p == '{' ? '}' : ']';
	uint32_t obj = ps->objects++;
	int first = 1;

	if (++ps->depth > ps->max_depth) {
		ps->j->too_deep = 1;
		return fail(ps, "nested deeper than %d", ps->max_depth);
	}
	ps->p++;
	for (;;) {
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == close && first)
			break;
		if (close == '}' ? pair(ps, obj, keep, parent) : value(ps, 0, -1))
			return -1;
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == close)
			break;
		if (ps->p >= ps->end || *ps->p != ',')
			return fail(ps, "',' or '%c' expected", close);
		ps->p++;
		first = 0;
	}
	ps->p++;
	ps->depth--;
	return 0;
}

static int literal(parser *ps, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n))
		return fail(ps, "invalid token");
	ps->p += n;
	return 0;
}

/* Any value at ps->p; an object's members are kept when keep (their parent: parent). */
static int value(parser *ps, int keep, int parent)
{
	span s;
	ns_jf_kind kind;
	long long i;

	skip_ws(ps);
	if (ps->p >= ps->end)
		return fail(ps, "value expected");
	switch (*ps->p) {
	case '{':
	case '[':
		return container(ps, keep, parent);
	case '"':
		return string(ps, &s);
	case 't':
		return literal(ps, "true");
	case 'f':
		return literal(ps, "false");
	case 'n':
		return literal(ps, "null");
	default:
		return number(ps, &kind, &i);
	}
}

int ns_jflat_parse(ns_jflat *j, const char *buf, size_t len, int max_depth, char *err,
		   size_t errlen)
{
	parser ps = {j, buf, buf, buf + len, 0, max_depth, 0, err, errlen};

	j->n = 0;
	j->nkeys = 0;
	j->too_deep = 0;
	if (errlen)
		err[0] = '\0';
	skip_ws(&ps);
	if (ps.p >= ps.end || *ps.p != '{')
		return fail(&ps, "not a JSON object");
	if (container(&ps, 1, -1))
		return -1;
	skip_ws(&ps);
	if (ps.p != ps.end)
		return fail(&ps, "end of input expected");
	return 0;
}

int ns_jflat_find(const ns_jflat *j, int parent, const char *key)
{
	size_t n = strlen(key);

	if (n > NS_JFLAT_KEY_MAX)
		return -1;
	for (int i = 0; i < j->n; i++)
		if (j->m[i].parent == parent && j->m[i].key_len == n &&
		    !memcmp(j->m[i].key, key, n))
			return i;
	return -1;
}
