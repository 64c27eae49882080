/* ns_json.h -- JSON parsing with a bounded nesting depth, in front of jansson.
 *
 * jansson's parser recurses once per nesting level and allows 2048 levels; civetweb 1.15
 * as Debian builds it runs every worker on a fixed 100 KB stack (a compile-time choice,
 * no run-time option), and about 800 levels of '[' overflow it. So every body that comes
 * from outside (HTTP requests, provider answers, Kafka messages) is first scanned without
 * recursion, and anything nested deeper than the caller's bound is refused before jansson
 * sees it. Thread-safe; no allocation in the scan. */
#ifndef NS_JSON_H
#define NS_JSON_H

#include <jansson.h>
#include <stddef.h>

/* The deepest nesting any of our documents needs (an event envelope is 2: the envelope
 * and its data object), with room to spare. Bodies deeper than this are refused. */
#define NS_JSON_MAX_DEPTH 8

/* Nesting depth of buf[0..len): the largest number of '[' / '{' open at once outside
 * strings (escapes inside strings honoured). Not a validator: malformed text gets a depth
 * too. The count stops at cap + 1, so the scan is O(len) and returns at most cap + 1. */
int ns_json_depth(const char *buf, size_t len, int cap);

/* json_loadb(buf, len, flags, jerr) after checking that the depth is at most max_depth.
 * Returns the parsed value (caller decrefs), or NULL: *too_deep (may be NULL) is set to 1
 * when the nesting bound refused it (jerr->text then says so), else 0 and jerr is
 * jansson's error. */
json_t *ns_json_loadb(const char *buf, size_t len, size_t flags, int max_depth, json_error_t *jerr,
		      int *too_deep);

#endif
