/* ns_str.h -- small string utilities every binary needs once: a string hash for tables,
 * lowercase hex in both directions, checked integer parsing and printing, UTF-8
 * validation, and the 8-bytes-at-once test of the JSON codecs.
 *
 * Pure functions, thread-safe, no allocation. */
#ifndef NS_STR_H
#define NS_STR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

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

/* The decimal text of v (with '-' when negative) at out, which has room for
 * NS_STR_I64_MAX bytes; not NUL-terminated. Returns its length. */
#define NS_STR_I64_MAX 20
size_t ns_str_from_i64(int64_t v, char *out);

/* The bytes of the 8 at p that a JSON string does not carry as they are (below 0x20, '"',
 * '\\', or 0x80 and above), as the high bit of each such byte of the word read from p: zero
 * when there is none. Bytes above the lowest one so marked may be marked falsely (a
 * borrow), the lowest is exact, which is all the scanners use. p needs 8 readable bytes,
 * any alignment. */
static inline uint64_t ns_str_json_stops8(const unsigned char *p)
{
	const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
	uint64_t v, q, b;

	memcpy(&v, p, 8);
	q = v ^ (ones * '"');
	b = v ^ (ones * '\\');
	/* a byte below 0x20, a zero byte of q or b (that byte was '"' or '\\'), or a high
	 * bit: each sets the high bit of some byte of the sum, exactly when one is there */
	return (v | ((v - ones * 0x20) & ~v) | ((q - ones) & ~q) | ((b - ones) & ~b)) & high;
}

/* Non-zero when each of the 8 bytes at p is one that a JSON string carries as it is:
 * printable ASCII (0x20-0x7f) other than '"' and '\\'. The scanners of ns_jflat and
 * ns_jwrite skip such runs a word at a time. p needs 8 readable bytes, any alignment. */
static inline int ns_str_json_plain8(const unsigned char *p)
{
	return ns_str_json_stops8(p) == 0;
}

/* How many bytes at the start of p[0..n) a JSON string carries as they are: the rule of
 * ns_str_json_plain8, eight bytes at a time; the word that holds the first other byte
 * names it (on a little-endian machine: the lowest marked byte is the first in memory),
 * and the last few bytes are looked at one by one. */
static inline size_t ns_str_json_plain_prefix(const unsigned char *p, size_t n)
{
	size_t i = 0;

	for (; n - i >= 8; i += 8) {
		uint64_t stops = ns_str_json_stops8(p + i);
		if (stops) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			return i + (size_t)__builtin_ctzll(stops) / 8;
#else
			break;
#endif
		}
	}
	while (i < n && p[i] >= 0x20 && p[i] < 0x80 && p[i] != '"' && p[i] != '\\')
		i++;
	return i;
}

#endif
