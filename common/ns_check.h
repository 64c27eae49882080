/* ns_check.h -- the one set of checks for text that comes from outside: names, phone
 * numbers, email addresses, event ids, free text, UTF-8.
 *
 * Ingest's validators, the event decoder, the channel loader and query's parameters all
 * ask these, so one rule holds at every door (a number ingest accepts is one the decoder
 * accepts, a status name a channel file may use is one a query may filter by). Each takes
 * the bytes and their length, so an embedded NUL is refused, and returns non-zero when the
 * text passes. Pure, thread-safe, no allocation. */
#ifndef NS_CHECK_H
#define NS_CHECK_H

#include <stddef.h>

#define NS_NAME_MAX	   32  /* longest channel or status name */
#define NS_E164_DIGITS_MIN 8   /* digits after '+', country code included */
#define NS_E164_DIGITS_MAX 15  /* ITU-T E.164 */
#define NS_E164_MAX	   16  /* '+' and the digits */
#define NS_EMAIL_MAX	   254 /* longest email address, in bytes */

/* A channel or status name: 1..NS_NAME_MAX bytes of [a-z0-9_-], starting with a letter. */
int ns_check_name(const char *s, size_t len);

/* An E.164 number: '+', then NS_E164_DIGITS_MIN..NS_E164_DIGITS_MAX digits, the first not
 * '0'. */
int ns_check_e164(const char *s, size_t len);

/* A plausible email address: 3..NS_EMAIL_MAX bytes of printable ASCII without spaces,
 * exactly one '@', a non-empty local part, and a domain of non-empty dot-separated labels
 * with at least one dot. Not RFC 5321 in full: a bound on garbage. */
int ns_check_email(const char *s, size_t len);

/* Exactly want lowercase hex digits (event ids: 32). */
int ns_check_hex(const char *s, size_t len, size_t want);

/* An externalId a producer may choose: 1..max bytes of A-Z a-z 0-9 and - . _ ~ : @, and
 * neither "." nor "..". Every such id is one path segment that needs no escaping and
 * survives URL decoding and dot-segment removal unchanged, so GET /notifications/{id}
 * reaches it, and a query string can carry it ('+' would decode to a space). */
#define NS_EXTID_CHARS "A-Z a-z 0-9 - . _ ~ : @"
int ns_check_external_id(const char *s, size_t len, size_t max);

/* Printable ASCII only (0x21..0x7e: no space, no control character), 1..max bytes. */
int ns_check_printable(const char *s, size_t len, size_t max);

/* Text without ASCII control characters (0x00..0x1f, 0x7f); may be empty. */
int ns_check_text(const char *s, size_t len);

/* Well-formed UTF-8: no overlong forms, surrogates or values past U+10FFFF, no NUL. */
int ns_check_utf8(const char *s, size_t len);

#endif
