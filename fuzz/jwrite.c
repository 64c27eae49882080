/* jwrite.c -- fuzz target: the JSON writer (common/ns_jwrite.c) given any bytes as a string
 * value and a key. The text always parses; a valid UTF-8 input reads back unchanged and is
 * what jansson writes for it, byte for byte; a fixed buffer too small fails cleanly. */
#include "fuzz_harness.h"
#include "ns_jwrite.h"

#include <jansson.h>

/* {"<key>":"<s>","n":[<len>]} through the writer, into a fixed buffer of cap bytes. */
static long write_doc(char *out, size_t cap, const char *key, const char *s, size_t len)
{
	ns_jw w;

	ns_jw_init(&w, out, cap);
	ns_jw_open(&w, '{');
	ns_jw_key(&w, key);
	ns_jw_str(&w, s);
	ns_jw_key(&w, "n");
	ns_jw_open(&w, '[');
	ns_jw_int(&w, (int64_t)len);
	ns_jw_close(&w, ']');
	ns_jw_close(&w, '}');
	return ns_jw_finish(&w);
}

static void fuzz_one(const char *buf, size_t len)
{
	size_t cap = len * 6 + 64, klen = len ? (unsigned char)buf[0] % 8 : 0;
	char *s = malloc(len + 1), *out = malloc(cap), key[8];
	json_t *back, *want;
	char *ref;
	long n;

	if (!s || !out)
		abort();
	memcpy(s, buf, len);
	s[len] = '\0'; /* the writer takes C strings: up to the first NUL */
	memcpy(key, s, klen < strlen(s) ? klen : strlen(s));
	key[klen < strlen(s) ? klen : strlen(s)] = '\0';
	n = write_doc(out, cap, key, s, len);
	if (n < 0 || (size_t)n != strlen(out))
		abort();
	back = json_loads(out, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
	if (!back && strcmp(key, "n") != 0)
		abort(); /* a duplicate key is the only way the writer's text may be refused */
	want = json_pack("{s:s, s:[I]}", key, s, "n", (json_int_t)len);
	if (want && back) { /* s was valid UTF-8: the same value, the same text */
		ref = json_dumps(want, JSON_COMPACT);
		if (!json_equal(back, want) || !ref || strcmp(ref, out) != 0)
			abort();
		free(ref);
	}
	if (n > 0 && write_doc(out, (size_t)n, key, s, len) != -1)
		abort(); /* one byte short (no room for the NUL) */
	json_decref(want);
	json_decref(back);
	free(out);
	free(s);
}
