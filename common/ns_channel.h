/* ns_channel.h -- channel state machines, loaded from schemas/channels/<name>.json.
 *
 * A channel is a DAG of statuses: {"name":"sms","initial":"queued","statuses":[...],
 * "transitions":[["queued","processing"],...]} (optional "description"; optional
 * "address": the kind of `to` the channel sends to, "e164" (default) or "email"; terminal
 * statuses are those without an outgoing transition; format in schemas/README.md). Loading
 * validates each file and refuses, naming the file and the fault: not an object, an
 * unknown member, an unknown address kind, a name that is not a name (ns_check_name:
 * 1..NS_STATUS_MAX of [a-z0-9_-], starting with a letter), a transition naming
 * an unknown status, a missing or unknown initial status, a cycle, a status unreachable
 * from the initial one, a duplicate status, transition or channel name, an empty folder.
 * After loading, the set is immutable and safe to share between threads.
 *
 * Reachability answers the status semantics of docs/DESIGN.md: S reachable from C means a
 * path C -> ... -> S of one or more transitions exists. */
#ifndef NS_CHANNEL_H
#define NS_CHANNEL_H

#include "ns_check.h"

#include <stddef.h>

#define NS_STATUS_MAX	NS_NAME_MAX /* longest status or channel name, without NUL */
#define NS_CHANNELS_MAX 32
#define NS_STATUSES_MAX 32 /* per channel */

/* The kind of address (`to`) a channel sends to. */
typedef enum {
	NS_ADDR_E164 = 0, /* "+" and digits: sms, whatsapp */
	NS_ADDR_EMAIL,	  /* local@domain.tld */
} ns_address;

typedef struct ns_channel ns_channel;
typedef struct ns_channels ns_channels;

/* Load every *.json file in dir. Returns a new set (free with ns_channels_free), or NULL
 * with a message naming the file and fault in err. An empty folder is an error. */
ns_channels *ns_channels_load(const char *dir, char *err, size_t errlen);

void ns_channels_free(ns_channels *set);

/* The channel called name, or NULL. The pointer lives as long as the set. */
const ns_channel *ns_channels_find(const ns_channels *set, const char *name);

/* Number of channels, and the i-th one (0 <= i < count), in name order. */
size_t ns_channels_count(const ns_channels *set);
const ns_channel *ns_channels_at(const ns_channels *set, size_t i);

/* Non-zero when status is a status of some channel of the set. */
int ns_channels_any_has(const ns_channels *set, const char *status);

const char *ns_channel_name(const ns_channel *ch);
const char *ns_channel_initial(const ns_channel *ch);

/* The address kind of ch: the file's "address" member, NS_ADDR_E164 when absent. */
ns_address ns_channel_address(const ns_channel *ch);

/* Wire name of an address kind as channel files spell it: "e164", "email" (static; "?"
 * out of range). */
const char *ns_address_name(ns_address a);

/* Non-zero when status is a status of ch. */
int ns_channel_has(const ns_channel *ch, const char *status);

/* Number of statuses of ch, and the i-th one in file order (NULL when out of range).
 * The pointer lives as long as the set. */
size_t ns_channel_status_count(const ns_channel *ch);
const char *ns_channel_status_at(const ns_channel *ch, size_t i);

/* Non-zero when the channel has the direct transition from -> to. */
int ns_channel_is_next(const ns_channel *ch, const char *from, const char *to);

/* Non-zero when `to` is reachable from `from` by one or more transitions of ch. Unknown
 * statuses are never reachable. */
int ns_channel_reachable(const ns_channel *ch, const char *from, const char *to);

/* Non-zero when status has no outgoing transition (a final status). */
int ns_channel_is_terminal(const ns_channel *ch, const char *status);

#endif
