/* secrets.h -- the tenants' callback secrets: what each status callback is signed with.
 *
 * CALLBACK_SECRETS_FILE holds one "tenant secret" pair per line ('#' comments, blank
 * lines); CALLBACK_SECRET, when set, signs the callbacks of every tenant the file does not
 * name. Secrets are at least NS_SIGN_SECRET_MIN bytes of printable ASCII. A tenant with no
 * secret gets no callbacks: its deliveries go to the dead-letter topic at once (an
 * unsigned callback could not be told from a forged one). Loaded once at start; rotate by
 * restarting the worker (receivers accept the previous secret meanwhile). Never logged. */
#ifndef CB_SECRETS_H
#define CB_SECRETS_H

#include <stddef.h>

typedef struct cb_secrets cb_secrets;

/* Load path (NULL or "": none) with fallback (NULL or "": none). Returns NULL with err
 * filled (unreadable file, a bad line named by number, a short secret). */
cb_secrets *cb_secrets_load(const char *path, const char *fallback, char *err, size_t errlen);

/* The secret of tenant, or NULL. Owned by s. */
const char *cb_secrets_get(const cb_secrets *s, const char *tenant);

/* Tenants with a secret of their own. */
size_t cb_secrets_count(const cb_secrets *s);

/* Wipe and free. NULL is a no-op. */
void cb_secrets_free(cb_secrets *s);

#endif
