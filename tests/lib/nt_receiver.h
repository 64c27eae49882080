/* nt_receiver.h -- a status-callback receiver for tests: an HTTP server in the test
 * process that checks every POST the way a producer's receiver should (the
 * X-Nstatus-Signature over the raw body with the callback secret, within the tolerance)
 * and records each one: delivery id, the record's notification and version.
 *
 * It can be stopped and started again on the same port (a receiver that is down), and
 * answers 200 to every valid callback, 401 to a bad signature (counted). Thread-safe: the
 * server's threads record, the test reads. */
#ifndef NT_RECEIVER_H
#define NT_RECEIVER_H

#include "ns_event.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
	char external_id[NS_EXTID_MAX + 1];
	char delivery_id[NS_EVENT_ID_LEN + 1];
	char event_id[NS_EVENT_ID_LEN + 1];
	int64_t version;
	int attempt;
} nt_receipt;

/* Start receiving on a free port with secret. Aborts the test on failure. */
void nt_receiver_start(const char *secret);

/* Stop listening (connections refused) / listen again on the same port. */
void nt_receiver_down(void);
void nt_receiver_up(void);

/* http://127.0.0.1:<port>/cb */
const char *nt_receiver_url(void);

/* Copy of the receipts so far (in arrival order) into a malloc'd array (caller frees);
 * *n set. bad: callbacks refused (signature, body) so far. */
nt_receipt *nt_receiver_receipts(size_t *n, long *bad);

/* Stop and forget everything. */
void nt_receiver_stop(void);

#endif
