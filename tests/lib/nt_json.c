/* nt_json.c -- test support: JSON answers of the daemons' HTTP APIs. */
#include "nt_json.h"
#include "nt.h"

#include <stdio.h>
#include <stdlib.h>

long nt_http_json(const char *method, int port, const char *path, const char *ctype,
		  const char *body, json_t **json)
{
	char url[1200], *resp = NULL;
	long code;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	code = nt_http(method, url, ctype, body, &resp);
	if (json)
		*json = resp ? json_loads(resp, 0, NULL) : NULL;
	free(resp);
	return code;
}

const char *nt_jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : "";
}
