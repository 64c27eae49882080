/* ns_auth.h -- the API key check of a request: who calls, and whether the key's scopes
 * allow the route. Shared by ingest (POST /notifications needs `send`) and query (GET needs
 * `read`; recipients and bodies need `read:pii`).
 *
 * A missing, malformed or unknown key is answered 401 with WWW-Authenticate, a key whose
 * scopes do not allow the route 403, both with a problem body that says which. Probes and
 * /metrics are on the admin listener and need no key. With no key file at all (the
 * explicit insecure development mode), every request is the tenant "dev" with every scope.
 * Handlers call it on civetweb worker threads. */
#ifndef NS_AUTH_H
#define NS_AUTH_H

#include "ns_keys.h"
#include "ns_metrics.h"

#include <civetweb.h>

#define NS_AUTH_DEV_TENANT "dev" /* the tenant of every request in insecure mode */

typedef struct {
	ns_keyring *ring; /* NULL: insecure development mode */
	/* auth_keys, auth_reloads_total{result}: a failed reload keeps old (maybe revoked)
	 * keys in use, so it must be seen */
	ns_gauge *keys;
	ns_counter *reload_ok, *reload_failed;
} ns_auth;

/* Open the key file at keys_file. Without one (NULL or ""), refuse (-1, err says how to
 * start) unless insecure is set: then a->ring is NULL and a warning is logged. Returns 0
 * or -1 with err filled (also for a bad key file). */
int ns_auth_open(ns_auth *a, const char *keys_file, int insecure, char *err, size_t errlen);

/* Re-read the key file (on SIGHUP), logging auth.reload with the key count, or the error
 * (the old keys stay in use), and counting it in auth_reloads_total{result}. No-op in
 * insecure mode. */
void ns_auth_reload(ns_auth *a);

/* The warning probes carry in insecure mode, or NULL. Static. */
const char *ns_auth_warning(const ns_auth *a);

/* Free the keys. */
void ns_auth_close(ns_auth *a);

/* Check conn's Authorization header for scope (NS_SCOPE_*). Returns 0 with who filled,
 * or the HTTP status of the problem already sent (401, 403). */
int ns_auth_check(const ns_auth *a, struct mg_connection *conn, unsigned scope,
		  ns_key_identity *who);

#endif
