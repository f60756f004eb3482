/*
 * Text put together on the caller's memory, piece by piece: what the
 * request path writes for every request (reply and upstream heads, rate
 * limit fields, copies into fixed fields). snprintf parsed its format
 * about 19 times a request, some 4 % of a worker's time; these are
 * memcpy and a digit loop. Bounded: a piece that does not fit is not
 * written and marks the buffer over, which the caller checks once.
 */
#ifndef CUBE_TEXTBUF_H
#define CUBE_TEXTBUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define TEXTBUF_U64_MAX	20	/* digits of UINT64_MAX */

struct textbuf {
	char	*s;
	size_t	 len;
	size_t	 cap;		/* room for len bytes and a NUL */
	int	 over;		/* a piece did not fit */
};

static inline void
textbuf_init(struct textbuf *b, char *s, size_t cap)
{
	b->s = s;
	b->len = 0;
	b->cap = cap;
	b->over = cap == 0;
	if (cap > 0)
		s[0] = '\0';
}

static inline void
textbuf_put(struct textbuf *b, const void *p, size_t n)
{
	if (b->over || b->cap - b->len <= n) {
		b->over = 1;
		return;
	}
	memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static inline void
textbuf_str(struct textbuf *b, const char *s)
{
	textbuf_put(b, s, strlen(s));
}

/* A string literal, its length known when compiled. */
#define textbuf_lit(b, lit)	textbuf_put((b), "" lit, sizeof(lit) - 1)

/*
 * v in decimal into out (no NUL); its length. Two digits a division, from
 * a table: a reply's rate-limit fields are four numbers of ten digits.
 */
static inline size_t
textbuf_u64_text(char out[TEXTBUF_U64_MAX], uint64_t v)
{
	static const char	pairs[] =
	    "00010203040506070809101112131415161718192021222324252627282930"
	    "31323334353637383940414243444546474849505152535455565758596061"
	    "62636465666768697071727374757677787980818283848586878889909192"
	    "93949596979899";
	char			tmp[TEXTBUF_U64_MAX];
	char			*p = tmp + sizeof(tmp);
	size_t			n;

	for (; v >= 100; v /= 100) {
		p -= 2;
		memcpy(p, pairs + 2 * (v % 100), 2);
	}
	if (v >= 10) {
		p -= 2;
		memcpy(p, pairs + 2 * v, 2);
	} else
		*--p = (char)('0' + v);
	n = (size_t)(tmp + sizeof(tmp) - p);
	memcpy(out, p, n);
	return n;
}

static inline void
textbuf_u64(struct textbuf *b, uint64_t v)
{
	char	d[TEXTBUF_U64_MAX];

	textbuf_put(b, d, textbuf_u64_text(d, v));
}

static inline void
textbuf_i64(struct textbuf *b, int64_t v)
{
	if (v < 0) {
		textbuf_lit(b, "-");
		textbuf_u64(b, -(uint64_t)v);
	} else
		textbuf_u64(b, (uint64_t)v);
}

/* v in lower-case hex, no leading zeros (a chunk size). */
static inline void
textbuf_hex(struct textbuf *b, uint64_t v)
{
	char	d[16];
	size_t	n = 0, i;
	char	out[16];

	do {
		d[n++] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v != 0);
	for (i = 0; i < n; i++)
		out[i] = d[n - 1 - i];
	textbuf_put(b, out, n);
}

/*
 * src into dst[cap] whole, or cut to fit, always NUL-terminated: the
 * snprintf("%s") that fixed-size fields were filled with. Returns
 * src's length, as strlcpy does.
 */
static inline size_t
textbuf_copy(char *dst, size_t cap, const char *src)
{
	size_t	n = strlen(src);

	if (cap > 0) {
		size_t	k = n < cap ? n : cap - 1;

		memmove(dst, src, k);
		dst[k] = '\0';
	}
	return n;
}

#endif
