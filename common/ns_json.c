/* ns_json.c -- bounded-depth JSON parsing (see ns_json.h): a flat scan counts nesting
 * before jansson's recursive parser runs, so no input can exhaust a worker's stack. */
#include "ns_json.h"

#include <stdio.h>

int ns_json_depth(const char *buf, size_t len, int cap)
{
	int depth = 0, max = 0, in_string = 0, escaped = 0;

	for (size_t i = 0; i < len; i++) {
		char ch = buf[i];

		if (in_string) {
			if (escaped)
				escaped = 0;
			else if (ch == '\\')
				escaped = 1;
			else if (ch == '"')
				in_string = 0;
			continue;
		}
		if (ch == '"') {
			in_string = 1;
		} else if (ch == '[' || ch == '{') {
			if (++depth > max)
				max = depth;
			if (max > cap)
				return cap + 1;
		} else if ((ch == ']' || ch == '}') && depth > 0) {
			depth--;
		}
	}
	return max;
}

json_t *ns_json_loadb(const char *buf, size_t len, size_t flags, int max_depth, json_error_t *jerr,
		      int *too_deep)
{
	if (too_deep)
		*too_deep = 0;
	if (ns_json_depth(buf, len, max_depth) > max_depth) {
		if (too_deep)
			*too_deep = 1;
		if (jerr) {
			snprintf(jerr->text, sizeof(jerr->text), "nested deeper than %d levels",
				 max_depth);
			jerr->line = jerr->column = -1;
			jerr->position = 0;
			jerr->source[0] = '\0';
		}
		return NULL;
	}
	return json_loadb(buf, len, flags, jerr);
}
