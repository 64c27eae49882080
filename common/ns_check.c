/* ns_check.c -- checks of text from outside (see ns_check.h). */
#include "ns_check.h"

#include <string.h>

static int is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

int ns_check_name(const char *s, size_t len)
{
	if (!s || len == 0 || len > NS_NAME_MAX || !is_lower(s[0]))
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!(is_lower(s[i]) || is_digit(s[i]) || s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

int ns_check_e164(const char *s, size_t len)
{
	if (!s || len < 1 + NS_E164_DIGITS_MIN || len > 1 + NS_E164_DIGITS_MAX || s[0] != '+' ||
	    s[1] == '0')
		return 0;
	for (size_t i = 1; i < len; i++)
		if (!is_digit(s[i]))
			return 0;
	return 1;
}

int ns_check_email(const char *s, size_t len)
{
	size_t at = 0, ats = 0;

	if (!s || len < 3 || len > NS_EMAIL_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x21 || c > 0x7e)
			return 0;
		if (c == '@') {
			at = i;
			ats++;
		}
	}
	if (ats != 1 || at == 0 || at + 1 >= len)
		return 0;
	/* domain: labels separated by single dots, at least two labels */
	if (s[at + 1] == '.' || s[len - 1] == '.' || !memchr(s + at + 1, '.', len - at - 1))
		return 0;
	for (size_t i = at + 1; i + 1 < len; i++)
		if (s[i] == '.' && s[i + 1] == '.')
			return 0;
	return 1;
}

int ns_check_hex(const char *s, size_t len, size_t want)
{
	if (!s || len != want)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!(is_digit(s[i]) || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

int ns_check_external_id(const char *s, size_t len, size_t max)
{
	if (!s || len == 0 || len > max)
		return 0;
	if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!(is_lower(c) || is_digit(c) || (c >= 'A' && c <= 'Z') || c == '-' ||
		      c == '.' || c == '_' || c == '~' || c == ':' || c == '@'))
			return 0;
	}
	return 1;
}

int ns_check_printable(const char *s, size_t len, size_t max)
{
	if (!s || len == 0 || len > max)
		return 0;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

int ns_check_text(const char *s, size_t len)
{
	for (size_t i = 0; s && i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return s != NULL || len == 0;
}

/* Length of the UTF-8 sequence led by c (1..4), its payload bits and the least code point
 * it may encode; 0 for a byte that cannot lead one. */
static size_t utf8_lead(unsigned c, unsigned *cp, unsigned *min)
{
	if (c < 0x80) {
		*cp = c, *min = 0;
		return 1;
	}
	if ((c & 0xe0) == 0xc0) {
		*cp = c & 0x1f, *min = 0x80;
		return 2;
	}
	if ((c & 0xf0) == 0xe0) {
		*cp = c & 0x0f, *min = 0x800;
		return 3;
	}
	if ((c & 0xf8) == 0xf0) {
		*cp = c & 0x07, *min = 0x10000;
		return 4;
	}
	return 0;
}

int ns_check_utf8(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		unsigned cp, min;
		size_t n = utf8_lead(u[i], &cp, &min);

		if (n == 0 || u[i] == 0 || len - i < n)
			return 0;
		for (size_t k = 1; k < n; k++) {
			if ((u[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (u[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n;
	}
	return 1;
}
