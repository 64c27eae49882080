/* ns_jwrite.h -- a JSON writer: compact text written in one pass, in the order the calls
 * come, into a caller's buffer or a growing heap one.
 *
 * For the hot paths whose shape is fixed (the event envelope, query's notification, ingest's
 * answers): building a jansson tree first costs an allocation per member and a second pass
 * to dump it. The text is what json_dumps(JSON_COMPACT) makes of the same members in the
 * same order, byte for byte (test_jwrite compares them).
 *
 * Strings are escaped as JSON requires ('"', '\\' and bytes below 0x20); UTF-8 is copied as
 * it is, and a byte that does not start a valid sequence is written as U+FFFD, so the
 * output is always valid JSON (a provider's truncated error body cannot break an event).
 *
 * Errors are sticky: after one (a fixed buffer full, out of memory, more than
 * NS_JW_DEPTH_MAX levels) every call does nothing and ns_jw_finish returns -1. Not
 * thread-safe; one writer per thread. */
#ifndef NS_JWRITE_H
#define NS_JWRITE_H

#include <stddef.h>
#include <stdint.h>

#define NS_JW_DEPTH_MAX 16

typedef struct {
	char *buf;
	size_t cap, len;
	int grow;	/* buf is ours, on the heap, and doubles when full */
	int err;	/* sticky */
	int depth;	/* open containers */
	int after_key;	/* the next value follows "key": */
	uint32_t items; /* bit d: the container at depth d has a member already */
} ns_jw;

/* Write into buf (cap bytes, room for the NUL included); nothing is allocated. */
void ns_jw_init(ns_jw *w, char *buf, size_t cap);

/* Write into a heap buffer of its own, grown as needed; ns_jw_take hands it over, or
 * ns_jw_free drops it. */
void ns_jw_init_heap(ns_jw *w);

/* Open an object ('{') or an array ('['), and close the innermost one ('}' or ']'). */
void ns_jw_open(ns_jw *w, char bracket);
void ns_jw_close(ns_jw *w, char bracket);

/* The next member's name (inside an object; a value call follows). */
void ns_jw_key(ns_jw *w, const char *key);

/* The same for a name already written as JSON with its colon, n bytes ("\"id\":"):
 * copied as it is, with no scan for escapes. NS_JW_KEY_LIT(w, "id") writes it for a
 * string literal that needs no escape; a hot path's shortcut. */
void ns_jw_key_quoted(ns_jw *w, const char *quoted, size_t n);
/* The two arguments (quoted, n) of a literal name, for helpers that pass them on. */
#define NS_JW_KEY_ARGS(lit)   "\"" lit "\":", sizeof("\"" lit "\":") - 1
#define NS_JW_KEY_LIT(w, lit) ns_jw_key_quoted((w), NS_JW_KEY_ARGS(lit))

/* Values: a string (NULL writes null), a string or null when s is NULL or "", an integer,
 * true/false, null. */
void ns_jw_str(ns_jw *w, const char *s);
void ns_jw_str_or_null(ns_jw *w, const char *s);
void ns_jw_int(ns_jw *w, int64_t v);
void ns_jw_bool(ns_jw *w, int b);
void ns_jw_null(ns_jw *w);

/* NUL-terminate. Returns the text's length, or -1 after an error or with containers still
 * open. */
long ns_jw_finish(ns_jw *w);

/* Finish a heap writer and hand its text over, for the caller to free(), with its length
 * in *len. NULL (and the buffer freed) after an error or on a caller's buffer. */
char *ns_jw_take(ns_jw *w, size_t *len);

/* Free a heap writer's buffer (no effect on a caller's buffer). */
void ns_jw_free(ns_jw *w);

#endif
