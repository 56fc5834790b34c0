/*
 * base64.c: RFC 4648 base64 for sbctl's JSON renderings: the standard
 * alphabet with padding for bytes, the URL-safe alphabet without padding for
 * ref tokens. Decoding accepts input with or without padding.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sbctl.h"

static const char b64_std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Encode len bytes; returns a NUL-terminated string to free, NULL on ENOMEM. */
char *
b64_encode(const void *data, size_t len, int url)
{
	const uint8_t	*p = data;
	const char	*alpha = url ? b64_url : b64_std;
	char		*out, *o;
	size_t		 i;
	uint32_t	 v;

	out = malloc((len + 2) / 3 * 4 + 1);
	if (out == NULL)
		return (NULL);
	o = out;
	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*o++ = alpha[v >> 18 & 63];
		*o++ = alpha[v >> 12 & 63];
		*o++ = alpha[v >> 6 & 63];
		*o++ = alpha[v & 63];
	}
	if (i < len) {
		v = (uint32_t)p[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		*o++ = alpha[v >> 18 & 63];
		*o++ = alpha[v >> 12 & 63];
		if (i + 1 < len)
			*o++ = alpha[v >> 6 & 63];
		else if (!url)
			*o++ = '=';
		if (!url)
			*o++ = '=';
	}
	*o = '\0';
	return (out);
}

static int
b64_digit(char c, int url)
{
	if (c >= 'A' && c <= 'Z')
		return (c - 'A');
	if (c >= 'a' && c <= 'z')
		return (c - 'a' + 26);
	if (c >= '0' && c <= '9')
		return (c - '0' + 52);
	if (c == (url ? '-' : '+'))
		return (62);
	if (c == (url ? '_' : '/'))
		return (63);
	return (-1);
}

/*
 * Decode text of length len into a new buffer (*out, to free; never NULL on
 * success). Returns 0, or -1 when the text is not valid base64 or on ENOMEM.
 */
int
b64_decode(const char *text, size_t len, int url, void **out, size_t *outlen)
{
	uint8_t		*buf;
	size_t		 i, n = 0;
	uint32_t	 acc = 0;
	int		 d, bits = 0;

	while (len > 0 && text[len - 1] == '=')
		len--;
	if (len % 4 == 1)
		return (-1);
	buf = malloc(len / 4 * 3 + 3);
	if (buf == NULL)
		return (-1);
	for (i = 0; i < len; i++) {
		if ((d = b64_digit(text[i], url)) < 0) {
			free(buf);
			return (-1);
		}
		acc = acc << 6 | (uint32_t)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[n++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* Leftover bits must be zero, so every byte string has one encoding. */
	if (acc != 0) {
		free(buf);
		return (-1);
	}
	*out = buf;
	*outlen = n;
	return (0);
}
