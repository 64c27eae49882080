/* ns_keys.c -- the API key file, its checks and its reload (see ns_keys.h). The table is
 * an array sorted by key id (binary search); a reload builds a new one and swaps the
 * pointer under a write lock, checks run under the read lock. */
#include "ns_keys.h"

#include "ns_check.h"
#include "ns_digest.h"
#include "ns_log.h"
#include "ns_str.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LINE_MAX_LEN 1024
#define HASH_LEN     NS_DIGEST_SHA256_LEN

typedef struct {
	char id[NS_KEY_ID_MAX + 1];
	char tenant[NS_KEY_ID_MAX + 1];
	unsigned scopes;
	unsigned char hash[HASH_LEN];
} key;

typedef struct {
	key *k;
	size_t n;
} table;

struct ns_keyring {
	char *path;
	pthread_rwlock_t lock;
	table *t;
};

static const struct {
	const char *name;
	unsigned bit;
} scope_names[] = {
    {"send", NS_SCOPE_SEND},
    {"read", NS_SCOPE_READ},
    {"read:pii", NS_SCOPE_READ_PII},
};

int ns_scopes_parse(const char *s, unsigned *scopes)
{
	*scopes = 0;
	while (*s) {
		size_t n = strcspn(s, ","), i;
		for (i = 0; i < sizeof(scope_names) / sizeof(scope_names[0]); i++)
			if (strlen(scope_names[i].name) == n && !strncmp(s, scope_names[i].name, n))
				break;
		if (i == sizeof(scope_names) / sizeof(scope_names[0]))
			return -1;
		*scopes |= scope_names[i].bit;
		s += n;
		if (*s == ',')
			s++;
	}
	return 0;
}

char *ns_scopes_format(unsigned scopes, char *out, size_t outlen)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < sizeof(scope_names) / sizeof(scope_names[0]); i++) {
		if (!(scopes & scope_names[i].bit))
			continue;
		int n = snprintf(out + o, outlen - o, "%s%s", o ? "," : "", scope_names[i].name);
		if (n < 0 || (size_t)n >= outlen - o)
			break;
		o += (size_t)n;
	}
	return out;
}

static int sha256(const void *p, size_t n, unsigned char out[HASH_LEN])
{
	return ns_digest_sha256_of(p, n, out);
}

int ns_keys_hash(const char *secret, char hex[65])
{
	unsigned char h[HASH_LEN];

	if (sha256(secret, strlen(secret), h))
		return -1;
	return ns_str_hex_encode(h, HASH_LEN, hex, 65) == 64 ? 0 : -1;
}

int ns_keys_new_secret(char secret[NS_KEY_SECRET_LEN + 1])
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char raw[33] = {0};

	if (RAND_bytes(raw, 32) != 1)
		return -1;
	/* 32 bytes (and a zero) -> 11 groups of 4 characters, of which the first 43 count */
	for (size_t i = 0, o = 0; i + 2 < sizeof(raw); i += 3) {
		unsigned v = (unsigned)raw[i] << 16 | (unsigned)raw[i + 1] << 8 | raw[i + 2];
		for (int k = 3; k >= 0 && o < NS_KEY_SECRET_LEN; k--)
			secret[o++] = b64[(v >> (6 * k)) & 63];
	}
	secret[NS_KEY_SECRET_LEN] = '\0';
	OPENSSL_cleanse(raw, sizeof(raw));
	return 0;
}

/* The next whitespace-separated word of *p into out (cap with the NUL). 0, or -1 when
 * there is none or it does not fit. */
static int word(char **p, char *out, size_t cap)
{
	char *s = *p;
	size_t n;

	s += strspn(s, " \t");
	n = strcspn(s, " \t\r\n");
	if (n == 0 || n >= cap)
		return -1;
	memcpy(out, s, n);
	out[n] = '\0';
	*p = s + n;
	return 0;
}

/* One non-comment line into k. Returns 0, or -1 with err naming what is wrong. */
static int parse_line(char *line, key *k, char *err, size_t errlen)
{
	char scopes[64], hash[80];

	if (word(&line, k->id, sizeof(k->id)) || word(&line, k->tenant, sizeof(k->tenant)) ||
	    word(&line, scopes, sizeof(scopes)) || word(&line, hash, sizeof(hash))) {
		snprintf(err, errlen, "expected: key-id tenant scopes sha256-hex");
		return -1;
	}
	line += strspn(line, " \t\r\n");
	if (*line) {
		snprintf(err, errlen, "more than four fields");
		return -1;
	}
	if (!ns_check_name(k->id, strlen(k->id)) || !ns_check_name(k->tenant, strlen(k->tenant))) {
		snprintf(err, errlen, "key id and tenant must be names ([a-z][a-z0-9_-]*)");
		return -1;
	}
	if (ns_scopes_parse(scopes, &k->scopes) || k->scopes == 0) {
		snprintf(err, errlen, "scopes must be a comma list of send, read, read:pii");
		return -1;
	}
	if (!ns_check_hex(hash, strlen(hash), 64) ||
	    ns_str_hex_decode(hash, 64, k->hash, HASH_LEN) != HASH_LEN) {
		snprintf(err, errlen, "the hash must be 64 lowercase hex digits (SHA-256)");
		return -1;
	}
	return 0;
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(((const key *)a)->id, ((const key *)b)->id);
}

static void table_free(table *t)
{
	if (!t)
		return;
	if (t->k)
		OPENSSL_cleanse(t->k, t->n * sizeof(*t->k));
	free(t->k);
	free(t);
}

/* Append k to t, growing it. Returns 0 or -1 (out of memory, or too many). */
static int table_add(table *t, size_t *cap, const key *k)
{
	if (t->n == NS_KEYS_MAX)
		return -1;
	if (t->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		key *nk = realloc(t->k, nc * sizeof(*nk));
		if (!nk)
			return -1;
		t->k = nk;
		*cap = nc;
	}
	t->k[t->n++] = *k;
	return 0;
}

/* Sort t and refuse a key id that appears twice. */
static int table_seal(table *t, const char *path, char *err, size_t errlen)
{
	if (t->n)
		qsort(t->k, t->n, sizeof(*t->k), cmp_key);
	for (size_t i = 1; i < t->n; i++) {
		if (!strcmp(t->k[i].id, t->k[i - 1].id)) {
			snprintf(err, errlen, "%s: key id %s appears twice", path, t->k[i].id);
			return -1;
		}
	}
	return 0;
}

static table *table_load(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	table *t = calloc(1, sizeof(*t));
	char line[LINE_MAX_LEN], why[160];
	size_t cap = 0;
	int lineno = 0;

	if (!f || !t) {
		snprintf(err, errlen, "%s: %s", path, f ? "out of memory" : "cannot be read");
		goto fail;
	}
	while (fgets(line, sizeof(line), f)) {
		char *s = line + strspn(line, " \t");
		key k;
		lineno++;
		/* before anything else: the rest of a long line must not be read as a line */
		if (!strchr(line, '\n') && !feof(f)) {
			snprintf(err, errlen, "%s:%d: line too long", path, lineno);
			goto fail;
		}
		if (*s == '#' || *s == '\n' || *s == '\r' || *s == '\0')
			continue;
		if (parse_line(s, &k, why, sizeof(why))) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
			goto fail;
		}
		if (table_add(t, &cap, &k)) {
			snprintf(err, errlen, "%s:%d: too many keys (%d at most)", path, lineno,
				 NS_KEYS_MAX);
			goto fail;
		}
		OPENSSL_cleanse(&k, sizeof(k));
	}
	if (table_seal(t, path, err, errlen))
		goto fail;
	fclose(f);
	return t;
fail:
	if (f)
		fclose(f);
	table_free(t);
	return NULL;
}

ns_keyring *ns_keyring_open(const char *path, char *err, size_t errlen)
{
	ns_keyring *r = calloc(1, sizeof(*r));

	if (!r || !(r->path = strdup(path))) {
		snprintf(err, errlen, "out of memory");
		free(r);
		return NULL;
	}
	r->t = table_load(path, err, errlen);
	if (!r->t) {
		free(r->path);
		free(r);
		return NULL;
	}
	{
		/* writers first: a reload must not wait behind an endless stream of checks */
		pthread_rwlockattr_t a;
		pthread_rwlockattr_init(&a);
		pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
		pthread_rwlock_init(&r->lock, &a);
		pthread_rwlockattr_destroy(&a);
	}
	return r;
}

int ns_keyring_reload(ns_keyring *r, char *err, size_t errlen)
{
	table *t = table_load(r->path, err, errlen), *old;
	int n;

	if (!t)
		return -1;
	pthread_rwlock_wrlock(&r->lock);
	old = r->t;
	r->t = t;
	n = (int)t->n;
	pthread_rwlock_unlock(&r->lock);
	table_free(old);
	return n;
}

size_t ns_keyring_count(ns_keyring *r)
{
	size_t n;

	pthread_rwlock_rdlock(&r->lock);
	n = r->t->n;
	pthread_rwlock_unlock(&r->lock);
	return n;
}

/* Split "Bearer <id>.<secret>" into id and secret. Returns 0 or -1. */
static int parse_bearer(const char *h, char *id, size_t idcap, char *secret, size_t seccap)
{
	const char *dot;
	size_t n;

	if (strncasecmp(h, "Bearer ", 7) != 0)
		return -1;
	h += 7;
	h += strspn(h, " ");
	dot = strchr(h, '.');
	if (!dot || (size_t)(dot - h) >= idcap || dot == h)
		return -1;
	n = strlen(dot + 1);
	while (n && (dot[n] == ' ' || dot[n] == '\t'))
		n--;
	if (n == 0 || n >= seccap)
		return -1;
	memcpy(id, h, (size_t)(dot - h));
	id[dot - h] = '\0';
	memcpy(secret, dot + 1, n);
	secret[n] = '\0';
	return 0;
}

ns_key_result ns_keyring_check(ns_keyring *r, const char *authorization, ns_key_identity *who)
{
	static const unsigned char dummy[HASH_LEN];
	char id[NS_KEY_ID_MAX + 1], secret[128];
	unsigned char h[HASH_LEN];
	const key *k = NULL;
	key probe;
	int ok;

	if (!authorization)
		return NS_KEY_MISSING;
	if (parse_bearer(authorization, id, sizeof(id), secret, sizeof(secret)))
		return NS_KEY_MALFORMED;
	ok = sha256(secret, strlen(secret), h) == 0;
	OPENSSL_cleanse(secret, sizeof(secret));
	if (!ok)
		return NS_KEY_MALFORMED;
	memcpy(probe.id, id, strlen(id) + 1); /* the same size: parse_bearer bounded it */
	pthread_rwlock_rdlock(&r->lock);
	if (r->t->n)
		k = bsearch(&probe, r->t->k, r->t->n, sizeof(*k), cmp_key);
	/* the same compare whether or not the id exists */
	ok = CRYPTO_memcmp(h, k ? k->hash : dummy, HASH_LEN) == 0 && k != NULL;
	if (ok) {
		memcpy(who->id, k->id, sizeof(who->id));
		memcpy(who->tenant, k->tenant, sizeof(who->tenant));
		who->scopes = k->scopes;
	}
	pthread_rwlock_unlock(&r->lock);
	return ok ? NS_KEY_OK : NS_KEY_UNKNOWN;
}

void ns_keyring_free(ns_keyring *r)
{
	if (!r)
		return;
	table_free(r->t);
	pthread_rwlock_destroy(&r->lock);
	free(r->path);
	free(r);
}

const char *ns_key_reason(ns_key_result r)
{
	switch (r) {
	case NS_KEY_OK:
		return "key valid";
	case NS_KEY_MISSING:
		return "an API key is required: Authorization: Bearer <key-id>.<secret>";
	case NS_KEY_MALFORMED:
		return "the Authorization header is not Bearer <key-id>.<secret>";
	case NS_KEY_UNKNOWN:
		return "unknown API key";
	}
	return "?";
}
