/* ns_str.h -- small string utilities every binary needs once: a string hash for tables,
 * lowercase hex in both directions, checked integer parsing, and UTF-8 validation.
 *
 * Pure functions, thread-safe, no allocation. */
#ifndef NS_STR_H
#define NS_STR_H

#include <stddef.h>
#include <stdint.h>

/* FNV-1a (64 bit) of the NUL-terminated s: for hash tables, not for security. */
uint64_t ns_str_hash(const char *s);

/* Lowercase hex of src[0..n) into out, NUL-terminated. Returns the number of hex
 * characters written (2n), or -1 when out (outlen bytes) cannot hold 2n + 1 (out is then
 * ""). */
int ns_str_hex_encode(const void *src, size_t n, char *out, size_t outlen);

/* Decode the lowercase or uppercase hex hex[0..n) into out (at most outlen bytes). Returns
 * the number of bytes written, or -1 when n is odd, a character is not a hex digit, or the
 * result does not fit. */
int ns_str_hex_decode(const char *hex, size_t n, void *out, size_t outlen);

/* Parse the whole of s as a base-10 integer in [min, max]: no leading space, no trailing
 * characters, no overflow. Returns 0 with *out set, or -1 (*out untouched). */
int ns_str_to_i64(const char *s, int64_t min, int64_t max, int64_t *out);

/* Length (1-4) of the valid UTF-8 sequence at s, which has avail >= 1 bytes, or 0 when it
 * is not one: no overlong forms, no surrogates, nothing above U+10FFFF. */
int ns_str_utf8_seq(const unsigned char *s, size_t avail);

#endif
