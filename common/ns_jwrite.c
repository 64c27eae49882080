/* ns_jwrite.c -- the JSON writer (see ns_jwrite.h). */
#include "ns_jwrite.h"
#include "ns_str.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEAP_START 1024

void ns_jw_init(ns_jw *w, char *buf, size_t cap)
{
	memset(w, 0, sizeof(*w));
	w->buf = buf;
	w->cap = cap;
	w->err = !buf || cap == 0;
}

void ns_jw_init_heap(ns_jw *w)
{
	memset(w, 0, sizeof(*w));
	w->grow = 1;
}

/* Room for n more bytes and the NUL. 0, or -1 with the error set. */
static int reserve(ns_jw *w, size_t n)
{
	size_t cap;
	char *nb;

	if (w->err)
		return -1;
	if (w->len + n < w->cap)
		return 0;
	if (!w->grow)
		goto fail;
	cap = w->cap ? w->cap : HEAP_START;
	while (w->len + n >= cap)
		cap *= 2;
	nb = realloc(w->buf, cap);
	if (!nb)
		goto fail;
	w->buf = nb;
	w->cap = cap;
	return 0;
fail:
	w->err = 1;
	return -1;
}

static void put(ns_jw *w, const char *s, size_t n)
{
	if (reserve(w, n) == 0) {
		memcpy(w->buf + w->len, s, n);
		w->len += n;
	}
}

/* Before any value or key: the comma when the container has a member already. */
static void separate(ns_jw *w)
{
	uint32_t bit = 1u << w->depth;

	if (w->after_key) {
		w->after_key = 0;
		return;
	}
	if (w->items & bit)
		put(w, ",", 1);
	w->items |= bit;
}

void ns_jw_open(ns_jw *w, char bracket)
{
	separate(w);
	if (w->depth + 1 >= NS_JW_DEPTH_MAX) {
		w->err = 1;
		return;
	}
	put(w, bracket == '[' ? "[" : "{", 1);
	w->depth++;
	w->items &= ~(1u << w->depth);
}

void ns_jw_close(ns_jw *w, char bracket)
{
	if (w->depth == 0 || w->after_key) {
		w->err = 1;
		return;
	}
	w->depth--;
	put(w, bracket == ']' ? "]" : "}", 1);
}

/* The escape of control byte c into out (7 bytes); returns its length. */
static size_t control_escape(unsigned char c, char *out)
{
	static const char shorts[] = "btn\0fr"; /* \b \t \n (\v has none) \f \r */

	if (c >= '\b' && c <= '\r' && shorts[c - '\b']) {
		out[0] = '\\';
		out[1] = shorts[c - '\b'];
		return 2;
	}
	snprintf(out, 7, "\\u%04X", (unsigned)c);
	return 6;
}

/* The quoted text of s[0..n), which needs no escape, followed by ':' when colon: one
 * reservation and one copy (nearly every key and value). */
static void quoted_plain(ns_jw *w, const char *s, size_t n, int colon)
{
	size_t total = n + 2 + (colon != 0);
	char *o;

	if (reserve(w, total) != 0)
		return;
	o = w->buf + w->len;
	o[0] = '"';
	memcpy(o + 1, s, n);
	o[n + 1] = '"';
	if (colon)
		o[n + 2] = ':';
	w->len += total;
}

/* The escaped, quoted text of s, then ':' when colon. A string that needs no escape takes
 * quoted_plain; otherwise runs of bytes that need nothing (plain bytes and whole UTF-8
 * characters) are copied at once, between the escapes. */
static void quoted(ns_jw *w, const char *s, int colon)
{
	const unsigned char *p = (const unsigned char *)s, *run = p;
	size_t left = strlen(s), plain = ns_str_json_plain_prefix(p, left);
	char esc[8];
	int n;

	if (plain == left) {
		quoted_plain(w, s, left, colon);
		return;
	}
	put(w, "\"", 1);
	p += plain, left -= plain;
	while (left) {
		/* *p is not plain: a UTF-8 character, a byte that is not UTF-8, or an escape */
		n = *p < 0x80 ? 1 : ns_str_utf8_seq(p, left);
		if (n > 1) {
			p += n, left -= (size_t)n;
		} else {
			put(w, (const char *)run, (size_t)(p - run));
			if (n == 0)
				put(w, "\xEF\xBF\xBD", 3); /* not UTF-8: U+FFFD */
			else if (*p == '"' || *p == '\\')
				put(w, *p == '"' ? "\\\"" : "\\\\", 2);
			else
				put(w, esc, control_escape(*p, esc));
			p++, left--;
			run = p;
		}
		plain = ns_str_json_plain_prefix(p, left);
		p += plain, left -= plain;
	}
	put(w, (const char *)run, (size_t)(p - run));
	put(w, colon ? "\":" : "\"", colon ? 2 : 1);
}

void ns_jw_key(ns_jw *w, const char *key)
{
	separate(w);
	quoted(w, key, 1);
	w->after_key = 1;
}

void ns_jw_key_quoted(ns_jw *w, const char *quoted, size_t n)
{
	separate(w);
	put(w, quoted, n);
	w->after_key = 1;
}

void ns_jw_str(ns_jw *w, const char *s)
{
	if (!s) {
		ns_jw_null(w);
		return;
	}
	separate(w);
	quoted(w, s, 0);
}

void ns_jw_str_or_null(ns_jw *w, const char *s)
{
	if (s && s[0])
		ns_jw_str(w, s);
	else
		ns_jw_null(w);
}

void ns_jw_int(ns_jw *w, int64_t v)
{
	char num[NS_STR_I64_MAX];
	size_t n = ns_str_from_i64(v, num);

	separate(w);
	put(w, num, n);
}

void ns_jw_bool(ns_jw *w, int b)
{
	separate(w);
	if (b)
		put(w, "true", 4);
	else
		put(w, "false", 5);
}

void ns_jw_null(ns_jw *w)
{
	separate(w);
	put(w, "null", 4);
}

long ns_jw_finish(ns_jw *w)
{
	if (w->depth != 0 || w->after_key)
		w->err = 1;
	if (reserve(w, 0))
		return -1;
	w->buf[w->len] = '\0';
	return (long)w->len;
}

char *ns_jw_take(ns_jw *w, size_t *len)
{
	char *out;

	if (!w->grow || ns_jw_finish(w) < 0) {
		ns_jw_free(w);
		return NULL;
	}
	out = w->buf;
	*len = w->len;
	w->buf = NULL;
	w->cap = w->len = 0;
	return out;
}

void ns_jw_free(ns_jw *w)
{
	if (w->grow)
		free(w->buf);
	w->buf = NULL;
	w->cap = w->len = 0;
}
