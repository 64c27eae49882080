/* ns_mask.h -- recipients as shown to callers without the read:pii scope.
 *
 * Recipients and bodies are personal data: answers to a key without read:pii carry a
 * masked recipient and no body, and logs and metrics never carry either. The mask keeps
 * enough to tell numbers apart on a support call and hides the rest: an E.164 number
 * keeps its '+', the country and area digits (all but 8 of its digits, at least one) and
 * its last 3 digits ("+4915112345678" -> "+49151****678"); an email address keeps the
 * first character of its local part and its domain ("ada@example.com" ->
 * "a***@example.com"); anything else is "****". Pure, thread-safe. */
#ifndef NS_MASK_H
#define NS_MASK_H

#include <stddef.h>

#define NS_MASK_MAX 272 /* room for any masked recipient (an email keeps its domain) */

/* The masked form of the recipient to into out (NUL-terminated, truncated to outlen).
 * Returns out. */
char *ns_mask_address(const char *to, char *out, size_t outlen);

#endif
