/* secrets.c -- the callback secrets file (see secrets.h): a small array, searched
 * linearly (tenants are few), wiped on free. */
#include "secrets.h"
#include "ns_check.h"
#include "ns_sign.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECRET_MAX 256

typedef struct {
	char tenant[NS_NAME_MAX + 1];
	char secret[SECRET_MAX + 1];
} entry;

struct cb_secrets {
	entry *e;
	size_t n, cap;
	char fallback[SECRET_MAX + 1];
};

static int secret_ok(const char *s, size_t n)
{
	return n >= NS_SIGN_SECRET_MIN && ns_check_printable(s, n, SECRET_MAX);
}

/* The next whitespace-separated word of *p (NUL-terminated in place), or NULL. */
static char *word(char **p)
{
	char *s = *p + strspn(*p, " \t\r\n"), *e;

	if (*s == '\0')
		return NULL;
	e = s + strcspn(s, " \t\r\n");
	*p = *e ? e + 1 : e;
	*e = '\0';
	return s;
}

/* One line: "tenant secret". Returns 0 (added or blank), -1 with err. */
static int parse_line(cb_secrets *s, char *line, int lineno, char *err, size_t errlen)
{
	char *p = line, *tenant = word(&p), *secret, *extra;

	if (!tenant || tenant[0] == '#')
		return 0;
	secret = word(&p);
	extra = word(&p);
	if (!secret || extra || !ns_check_name(tenant, strlen(tenant)) ||
	    !secret_ok(secret, strlen(secret))) {
		snprintf(err, errlen,
			 "line %d: want \"tenant secret\" (a tenant name, a secret of %d..%d "
			 "printable bytes)",
			 lineno, NS_SIGN_SECRET_MIN, SECRET_MAX);
		return -1;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		entry *e = realloc(s->e, cap * sizeof(*e));
		if (!e) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		s->e = e;
		s->cap = cap;
	}
	snprintf(s->e[s->n].tenant, sizeof(s->e[s->n].tenant), "%s", tenant);
	snprintf(s->e[s->n].secret, sizeof(s->e[s->n].secret), "%s", secret);
	s->n++;
	return 0;
}

static int load_file(cb_secrets *s, const char *path, char *err, size_t errlen)
{
	char line[1024], why[256];
	FILE *f = fopen(path, "r");
	int lineno = 0, rc = 0;

	if (!f) {
		snprintf(err, errlen, "%s: cannot open", path);
		return -1;
	}
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		lineno++;
		rc = parse_line(s, line, lineno, why, sizeof(why));
	}
	OPENSSL_cleanse(line, sizeof(line));
	fclose(f);
	if (rc)
		snprintf(err, errlen, "%s: %s", path, why);
	return rc;
}

cb_secrets *cb_secrets_load(const char *path, const char *fallback, char *err, size_t errlen)
{
	cb_secrets *s = calloc(1, sizeof(*s));

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (fallback && fallback[0]) {
		if (!secret_ok(fallback, strlen(fallback))) {
			snprintf(err, errlen, "CALLBACK_SECRET: want %d..%d printable bytes",
				 NS_SIGN_SECRET_MIN, SECRET_MAX);
			goto fail;
		}
		snprintf(s->fallback, sizeof(s->fallback), "%s", fallback);
	}
	if (path && path[0] && load_file(s, path, err, errlen) != 0)
		goto fail;
	return s;
fail:
	cb_secrets_free(s);
	return NULL;
}

const char *cb_secrets_get(const cb_secrets *s, const char *tenant)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->e[i].tenant, tenant) == 0)
			return s->e[i].secret;
	return s->fallback[0] ? s->fallback : NULL;
}

size_t cb_secrets_count(const cb_secrets *s)
{
	return s->n;
}

void cb_secrets_free(cb_secrets *s)
{
	if (!s)
		return;
	if (s->e)
		OPENSSL_cleanse(s->e, s->cap * sizeof(*s->e));
	OPENSSL_cleanse(s->fallback, sizeof(s->fallback));
	free(s->e);
	free(s);
}
