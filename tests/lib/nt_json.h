/* nt_json.h -- test support: HTTP calls to a daemon on 127.0.0.1 whose answers are JSON,
 * and reading string members of the answers. */
#ifndef NT_JSON_H
#define NT_JSON_H

#include <jansson.h>

/* method http://127.0.0.1:port<path> with body (may be NULL; ctype as for nt_http).
 * Returns the status code (-1 on a transport error). *json (json may be NULL) receives the
 * parsed answer, or NULL when it is not JSON; the caller json_decref()s it. */
long nt_http_json(const char *method, int port, const char *path, const char *ctype,
		  const char *body, json_t **json);

/* The string member key of o, or "" when it is missing or not a string (borrowed from o). */
const char *nt_jstr(json_t *o, const char *key);

#endif
