/* ns_keys.h -- API keys: who is calling, for which tenant, allowed to do what.
 *
 * Keys live in a file (API_KEYS_FILE), one per line, never with their secret:
 *
 *   # key-id   tenant   scopes               sha256(secret), hex
 *   k-7f3a2c   acme     send,read,read:pii   9b74c9897bac770ffc029102a200c5de...
 *
 * Blank lines and lines starting with '#' are ignored. A key id and a tenant are names
 * (ns_check_name); scopes are a comma list of `send` (POST /notifications), `read` (query)
 * and `read:pii` (recipients and bodies in answers). A caller sends
 *
 *   Authorization: Bearer <key-id>.<secret>
 *
 * and the check finds the key by id and compares SHA-256(secret) with the stored hash in
 * constant time (an unknown id costs the same hash and compare). Secrets are 32 random
 * bytes in base64url (43 characters): a plain hash suffices for secrets of that entropy.
 *
 * ns_keyring holds the current table and swaps in a new one on reload (SIGHUP) while
 * requests are being checked: a reload that fails keeps the old table. Thread-safe. */
#ifndef NS_KEYS_H
#define NS_KEYS_H

#include <stddef.h>

#define NS_SCOPE_SEND	  1u /* POST /notifications */
#define NS_SCOPE_READ	  2u /* GET on query */
#define NS_SCOPE_READ_PII 4u /* recipients and bodies unmasked */

#define NS_KEY_ID_MAX	  32
#define NS_KEY_SECRET_LEN 43 /* base64url of 32 bytes, no padding */
#define NS_KEYS_MAX	  10000

typedef enum {
	NS_KEY_OK = 0,
	NS_KEY_MISSING,	  /* no Authorization header */
	NS_KEY_MALFORMED, /* not "Bearer <key-id>.<secret>" */
	NS_KEY_UNKNOWN,	  /* no such key, or the secret does not match */
} ns_key_result;

/* Who a valid key says the caller is. */
typedef struct {
	char id[NS_KEY_ID_MAX + 1];
	char tenant[NS_KEY_ID_MAX + 1];
	unsigned scopes;
} ns_key_identity;

typedef struct ns_keyring ns_keyring;

/* Load the key file at path. Returns a keyring (free with ns_keyring_free), or NULL with
 * err naming the file, line and fault (an unreadable file, a bad name, an unknown scope,
 * a hash that is not 64 hex digits, a key id twice, more than NS_KEYS_MAX keys). */
ns_keyring *ns_keyring_open(const char *path, char *err, size_t errlen);

/* Read the file again and swap the new table in. Returns the number of keys, or -1 with
 * err filled (the old table stays in use). */
int ns_keyring_reload(ns_keyring *r, char *err, size_t errlen);

/* Keys in the current table. */
size_t ns_keyring_count(ns_keyring *r);

/* Check an Authorization header value (NULL when absent). NS_KEY_OK fills who. */
ns_key_result ns_keyring_check(ns_keyring *r, const char *authorization, ns_key_identity *who);

/* NULL is a no-op. No check may be running. */
void ns_keyring_free(ns_keyring *r);

/* A sentence for a refusal (static). */
const char *ns_key_reason(ns_key_result r);

/* Parse a comma list of scope names into *scopes. Returns 0, or -1 on an unknown name. */
int ns_scopes_parse(const char *s, unsigned *scopes);

/* The comma list of scopes into out ("" for none). Returns out. */
char *ns_scopes_format(unsigned scopes, char *out, size_t outlen);

/* A new random secret (NS_KEY_SECRET_LEN characters and a NUL) from the system's CSPRNG.
 * Returns 0, or -1 when no randomness was available. */
int ns_keys_new_secret(char secret[NS_KEY_SECRET_LEN + 1]);

/* SHA-256 of secret as 64 lowercase hex digits and a NUL. Returns 0 or -1. */
int ns_keys_hash(const char *secret, char hex[65]);

#endif
