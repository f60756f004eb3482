/* Validating JSON scanner: one pass over a body, spans instead of a tree. */
#include <sys/types.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "jscan.h"

/* Bytes the string fast path must stop at: controls, '"', '\\', non-ASCII. */
static const unsigned char jscan_special[256] = {
	[0x00 ... 0x1f] = 1, ['"'] = 1, ['\\'] = 1, [0x80 ... 0xff] = 1
};

/* One bit per nesting level, set when that level is an array. */
#define JSCAN_BIT(level)		(UINT64_C(1) << ((level) % 64))
#define JSCAN_IN_ARRAY(bits, depth)	\
	(((bits)[((depth) - 1) / 64] & JSCAN_BIT((depth) - 1)) != 0)

/*
 * Are all eight bytes at p plain string content? A word at a time (SWAR):
 * a byte >= 0x80 has its top bit, one < 0x20 gets it from the subtraction,
 * and a '"' or '\\' is a zero byte after the xor. Borrows only start at a
 * byte that needs a look anyway, so there are no false "plain" answers.
 */
static inline int
jscan_plain8(const unsigned char *p)
{
	const uint64_t	ones = UINT64_C(0x0101010101010101);
	const uint64_t	tops = UINT64_C(0x8080808080808080);
	uint64_t	v, q, b;

	memcpy(&v, p, sizeof v);
	q = v ^ (ones * '"');
	b = v ^ (ones * '\\');
	return ((v | (v - ones * 0x20) | ((q - ones) & ~q) |
	    ((b - ones) & ~b)) & tops) == 0;
}

static int
jscan_fail(char *err, size_t errlen, size_t at, const char *what)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "invalid JSON at byte %zu: %s", at, what);
	return -1;
}

static inline int
jscan_is_ws(unsigned char c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

static inline size_t
jscan_skip_ws(const unsigned char *s, size_t i, size_t end)
{
	while (i < end && jscan_is_ws(s[i]))
		i++;
	return i;
}

static inline int
jscan_is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int
jscan_hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The four hex digits at s[i..i+4) as a code unit, or -1. */
static long
jscan_hex4(const unsigned char *s, size_t i, size_t end)
{
	long	v = 0;
	int	d, k;

	if (i > end || end - i < 4)
		return -1;
	for (k = 0; k < 4; k++) {
		if ((d = jscan_hex(s[i + k])) < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/*
 * Length of the well-formed UTF-8 sequence at s[0..n) (Unicode table 3-7:
 * no overlongs, no surrogates, nothing above U+10FFFF), or 0.
 */
static size_t
jscan_utf8_len(const unsigned char *s, size_t n)
{
	unsigned char	c = s[0], lo = 0x80, hi = 0xbf;

	if (c < 0x80)
		return 1;
	if (c < 0xc2)
		return 0;
	if (c < 0xe0)
		return (n >= 2 && (s[1] & 0xc0) == 0x80) ? 2 : 0;
	if (c < 0xf0) {
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
		if (n < 3 || s[1] < lo || s[1] > hi || (s[2] & 0xc0) != 0x80)
			return 0;
		return 3;
	}
	if (c < 0xf5) {
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
		if (n < 4 || s[1] < lo || s[1] > hi ||
		    (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
			return 0;
		return 4;
	}
	return 0;
}

/*
 * Validate the string whose opening quote is at s[*pos]. On success *pos is
 * just past the closing quote, *escaped is set if it holds a backslash, and
 * NULL is returned; otherwise *pos is the offending byte and the message is
 * returned.
 */
static const char *
jscan_scan_string(const unsigned char *s, size_t len, size_t *pos,
    int *escaped)
{
	size_t	i = *pos + 1, n;
	long	cp, lo;

	for (;;) {
		while (len - i >= 8 && jscan_plain8(s + i))
			i += 8;
		while (i < len && !jscan_special[s[i]])
			i++;
		if (i >= len) {
			*pos = len;
			return "unterminated string";
		}
		*pos = i;
		if (s[i] == '"') {
			*pos = i + 1;
			return NULL;
		}
		if (s[i] < 0x20)
			return "control character in string";
		if (s[i] == '\\') {
			*escaped = 1;
			if (i + 1 >= len) {
				*pos = len;
				return "unterminated string";
			}
			switch (s[i + 1]) {
			case '"':
			case '\\':
			case '/':
			case 'b':
			case 'f':
			case 'n':
			case 'r':
			case 't':
				i += 2;
				continue;
			case 'u':
				break;
			default:
				return "invalid escape";
			}
			if ((cp = jscan_hex4(s, i + 2, len)) < 0)
				return "invalid \\u escape";
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return "unpaired surrogate";
			i += 6;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (len - i < 2 || s[i] != '\\' ||
				    s[i + 1] != 'u')
					return "unpaired surrogate";
				lo = jscan_hex4(s, i + 2, len);
				if (lo < 0) {
					*pos = i;
					return "invalid \\u escape";
				}
				if (lo < 0xdc00 || lo > 0xdfff)
					return "unpaired surrogate";
				i += 6;
			}
			continue;
		}
		if ((n = jscan_utf8_len(s + i, len - i)) == 0)
			return "invalid UTF-8";
		i += n;
	}
}

/* Validate the number at s[*pos]; as jscan_scan_string(). */
static const char *
jscan_scan_number(const unsigned char *s, size_t len, size_t *pos)
{
	size_t	i = *pos;

	if (s[i] == '-')
		i++;
	if (i >= len || !jscan_is_digit(s[i]))
		goto bad;
	if (s[i] == '0')
		i++;
	else {
		while (i < len && jscan_is_digit(s[i]))
			i++;
	}
	if (i < len && s[i] == '.') {
		i++;
		if (i >= len || !jscan_is_digit(s[i]))
			goto bad;
		while (i < len && jscan_is_digit(s[i]))
			i++;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= len || !jscan_is_digit(s[i]))
			goto bad;
		while (i < len && jscan_is_digit(s[i]))
			i++;
	}
	*pos = i;
	return NULL;
bad:
	*pos = i;
	return "invalid number";
}

static enum jscan_type
jscan_type_of(unsigned char c)
{
	switch (c) {
	case '{':
		return JSCAN_OBJECT;
	case '[':
		return JSCAN_ARRAY;
	case '"':
		return JSCAN_STRING;
	case 't':
		return JSCAN_TRUE;
	case 'f':
		return JSCAN_FALSE;
	case 'n':
		return JSCAN_NULL;
	default:
		return JSCAN_NUMBER;
	}
}

/* Index of the wanted key equal to the string s[start..end), or -1. */
static ssize_t
jscan_match(const char *buf, size_t start, size_t end, int escaped,
    struct jscan_want *want, size_t nwant)
{
	struct jscan_span	 key = { JSCAN_STRING, start, end, 1 };
	size_t			 k, n = end - start - 2;

	for (k = 0; k < nwant; k++) {
		if (!escaped) {
			/* A raw JSON string holds no NUL: strncmp is exact. */
			if (strncmp(want[k].key, buf + start + 1, n) == 0 &&
			    want[k].key[n] == '\0')
				return k;
		} else if (jscan_string_eq(buf, &key, want[k].key,
		    strlen(want[k].key)))
			return k;
	}
	return -1;
}

int
jscan_object(const char *buf, size_t len, int max_depth,
    struct jscan_want *want, size_t nwant, char *err, size_t errlen)
{
	const unsigned char	*s = (const unsigned char *)buf;
	uint64_t		 arrays[JSCAN_DEPTH_MAX / 64];
	int			 depth = 0, escaped;
	size_t			 i, k, kstart, vstart = 0;
	ssize_t			 cur = -1;
	const char		*what;
	struct jscan_span	*out;

	for (k = 0; k < nwant; k++)
		want[k].out->present = 0;
	if (max_depth > JSCAN_DEPTH_MAX)
		max_depth = JSCAN_DEPTH_MAX;

	i = jscan_skip_ws(s, 0, len);
	if (i >= len)
		return jscan_fail(err, errlen, i, "unexpected end of input");
	if (s[i] != '{') {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "JSON body is not an object");
		return -1;
	}

value:
	/* A value starts at s[i], whitespace already skipped. */
	if (i >= len)
		goto eof;
	if (depth == 1)
		vstart = i;
	switch (s[i]) {
	case '{':
	case '[':
		if (depth >= max_depth)
			goto deep;
		if (s[i] == '[')
			arrays[depth / 64] |= JSCAN_BIT(depth);
		else
			arrays[depth / 64] &= ~JSCAN_BIT(depth);
		depth++;
		i = jscan_skip_ws(s, i + 1, len);
		if (i >= len)
			goto eof;
		if (JSCAN_IN_ARRAY(arrays, depth)) {
			if (s[i] == ']') {
				i++;
				depth--;
				goto after;
			}
			goto value;
		}
		if (s[i] == '}') {
			i++;
			depth--;
			goto after;
		}
		goto key;
	case '"':
		escaped = 0;
		if ((what = jscan_scan_string(s, len, &i, &escaped)) != NULL)
			return jscan_fail(err, errlen, i, what);
		goto after;
	case 't':
		if (len - i < 4 || memcmp(s + i, "true", 4) != 0)
			return jscan_fail(err, errlen, i, "invalid literal");
		i += 4;
		goto after;
	case 'f':
		if (len - i < 5 || memcmp(s + i, "false", 5) != 0)
			return jscan_fail(err, errlen, i, "invalid literal");
		i += 5;
		goto after;
	case 'n':
		if (len - i < 4 || memcmp(s + i, "null", 4) != 0)
			return jscan_fail(err, errlen, i, "invalid literal");
		i += 4;
		goto after;
	case '-':
	case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		if ((what = jscan_scan_number(s, len, &i)) != NULL)
			return jscan_fail(err, errlen, i, what);
		goto after;
	default:
		return jscan_fail(err, errlen, i, "expected value");
	}

key:
	/* An object member's key starts at s[i], whitespace already skipped. */
	if (i >= len)
		goto eof;
	if (s[i] != '"')
		return jscan_fail(err, errlen, i, "expected string key");
	kstart = i;
	escaped = 0;
	if ((what = jscan_scan_string(s, len, &i, &escaped)) != NULL)
		return jscan_fail(err, errlen, i, what);
	if (depth == 1 && nwant > 0 &&
	    (cur = jscan_match(buf, kstart, i, escaped, want, nwant)) >= 0) {
		if (want[cur].out->present) {
			if (err != NULL && errlen > 0)
				snprintf(err, errlen, "duplicate key \"%s\"",
				    want[cur].key);
			return -1;
		}
		want[cur].out->present = 1;
	}
	i = jscan_skip_ws(s, i, len);
	if (i >= len)
		goto eof;
	if (s[i] != ':')
		return jscan_fail(err, errlen, i, "expected ':'");
	i = jscan_skip_ws(s, i + 1, len);
	goto value;

after:
	/* A value ended just before s[i], inside the container at depth. */
	if (depth == 1 && cur >= 0) {
		out = want[cur].out;
		out->type = jscan_type_of(s[vstart]);
		out->start = vstart;
		out->end = i;
		cur = -1;
	}
	i = jscan_skip_ws(s, i, len);
	if (depth == 0) {
		if (i != len)
			return jscan_fail(err, errlen, i,
			    "unexpected data after the object");
		return 0;
	}
	if (i >= len)
		goto eof;
	if (JSCAN_IN_ARRAY(arrays, depth)) {
		if (s[i] == ',') {
			i = jscan_skip_ws(s, i + 1, len);
			goto value;
		}
		if (s[i] != ']')
			return jscan_fail(err, errlen, i,
			    "expected ',' or ']'");
	} else {
		if (s[i] == ',') {
			i = jscan_skip_ws(s, i + 1, len);
			goto key;
		}
		if (s[i] != '}')
			return jscan_fail(err, errlen, i,
			    "expected ',' or '}'");
	}
	i++;
	depth--;
	goto after;

eof:
	return jscan_fail(err, errlen, len, "unexpected end of input");
deep:
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "JSON nested deeper than %d levels",
		    max_depth);
	return -1;
}

/*
 * End of the value starting at s[i] in a validated buffer, never beyond end.
 * No checking beyond what is needed to stay in bounds.
 */
static size_t
jscan_skip(const unsigned char *s, size_t i, size_t end)
{
	size_t	depth = 0;

	if (i >= end)
		return end;
	switch (s[i]) {
	case '"':
		for (i++; i < end; i++) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"')
				return i + 1;
		}
		return end;
	case '{':
	case '[':
		for (; i < end; i++) {
			switch (s[i]) {
			case '"':
				i = jscan_skip(s, i, end) - 1;
				break;
			case '{':
			case '[':
				depth++;
				break;
			case '}':
			case ']':
				if (--depth == 0)
					return i + 1;
				break;
			}
		}
		return end;
	default:
		while (i < end && !jscan_is_ws(s[i]) && s[i] != ',' &&
		    s[i] != ']' && s[i] != '}')
			i++;
		return i;
	}
}

int
jscan_array_next(const char *buf, const struct jscan_span *array,
    size_t *cursor, struct jscan_span *elem)
{
	const unsigned char	*s = (const unsigned char *)buf;
	size_t			 i, end;

	if (array->type != JSCAN_ARRAY || array->end < array->start + 2)
		return 0;
	end = array->end - 1;
	i = *cursor == 0 ? array->start + 1 : *cursor;
	if (i <= array->start || i >= end)
		return 0;
	i = jscan_skip_ws(s, i, end);
	if (i < end && s[i] == ',')
		i = jscan_skip_ws(s, i + 1, end);
	if (i >= end)
		return 0;
	elem->type = jscan_type_of(s[i]);
	elem->start = i;
	elem->end = jscan_skip(s, i, end);
	elem->present = 1;
	if (elem->end == elem->start)
		return 0;
	*cursor = elem->end;
	return 1;
}

int
jscan_object_get(const char *buf, const struct jscan_span *obj,
    const char *key, struct jscan_span *out)
{
	const unsigned char	*s = (const unsigned char *)buf;
	struct jscan_span	 k = { JSCAN_STRING, 0, 0, 1 };
	size_t			 i, end, vstart, keylen = strlen(key);
	int			 found = 0;

	if (obj->type != JSCAN_OBJECT || obj->end < obj->start + 2)
		return 0;
	end = obj->end - 1;
	i = obj->start + 1;
	for (;;) {
		i = jscan_skip_ws(s, i, end);
		if (i < end && s[i] == ',')
			i = jscan_skip_ws(s, i + 1, end);
		if (i >= end || s[i] != '"')
			break;
		k.start = i;
		k.end = i = jscan_skip(s, i, end);
		i = jscan_skip_ws(s, i, end);
		if (i >= end || s[i] != ':')
			break;
		i = jscan_skip_ws(s, i + 1, end);
		if (i >= end)
			break;
		vstart = i;
		i = jscan_skip(s, i, end);
		if (i == vstart)
			break;
		if (jscan_string_eq(buf, &k, key, keylen)) {
			out->type = jscan_type_of(s[vstart]);
			out->start = vstart;
			out->end = i;
			out->present = 1;
			found = 1;
		}
	}
	return found;
}

/*
 * Decode the escape at s[*i] == '\\' into UTF-8 in u[4], advancing *i past
 * it. Returns the number of bytes, or 0 if it is malformed.
 */
static size_t
jscan_unescape(const unsigned char *s, size_t *i, size_t end,
    unsigned char u[4])
{
	long	cp, lo;
	size_t	p = *i;

	if (end - p < 2)
		return 0;
	*i = p + 2;
	switch (s[p + 1]) {
	case '"':
	case '\\':
	case '/':
		u[0] = s[p + 1];
		return 1;
	case 'b':
		u[0] = '\b';
		return 1;
	case 'f':
		u[0] = '\f';
		return 1;
	case 'n':
		u[0] = '\n';
		return 1;
	case 'r':
		u[0] = '\r';
		return 1;
	case 't':
		u[0] = '\t';
		return 1;
	case 'u':
		break;
	default:
		return 0;
	}
	if ((cp = jscan_hex4(s, p + 2, end)) < 0)
		return 0;
	p += 6;
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (end - p < 6 || s[p] != '\\' || s[p + 1] != 'u')
			return 0;
		lo = jscan_hex4(s, p + 2, end);
		if (lo < 0xdc00 || lo > 0xdfff)
			return 0;
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		p += 6;
	} else if (cp >= 0xdc00 && cp <= 0xdfff)
		return 0;
	*i = p;
	if (cp < 0x80) {
		u[0] = cp;
		return 1;
	}
	if (cp < 0x800) {
		u[0] = 0xc0 | (cp >> 6);
		u[1] = 0x80 | (cp & 0x3f);
		return 2;
	}
	if (cp < 0x10000) {
		u[0] = 0xe0 | (cp >> 12);
		u[1] = 0x80 | ((cp >> 6) & 0x3f);
		u[2] = 0x80 | (cp & 0x3f);
		return 3;
	}
	u[0] = 0xf0 | (cp >> 18);
	u[1] = 0x80 | ((cp >> 12) & 0x3f);
	u[2] = 0x80 | ((cp >> 6) & 0x3f);
	u[3] = 0x80 | (cp & 0x3f);
	return 4;
}

ssize_t
jscan_string(const char *buf, const struct jscan_span *str, char *dst,
    size_t dstlen)
{
	const unsigned char	*s = (const unsigned char *)buf;
	unsigned char		 u[4];
	size_t			 i, end, n = 0, k, run;

	if (str->type != JSCAN_STRING || str->end < str->start + 2 ||
	    dstlen == 0)
		return -1;
	end = str->end - 1;
	for (i = str->start + 1; i < end;) {
		if (s[i] != '\\') {
			for (run = i; run < end && s[run] != '\\'; run++)
				;
			if (run - i >= dstlen - n)
				return -1;
			memcpy(dst + n, s + i, run - i);
			n += run - i;
			i = run;
			continue;
		}
		if ((k = jscan_unescape(s, &i, end, u)) == 0 ||
		    k >= dstlen - n)
			return -1;
		memcpy(dst + n, u, k);
		n += k;
	}
	dst[n] = '\0';
	return n;
}

int
jscan_string_eq(const char *buf, const struct jscan_span *str,
    const char *lit, size_t litlen)
{
	const unsigned char	*s = (const unsigned char *)buf;
	unsigned char		 u[4];
	size_t			 i, end, n = 0, k;

	if (str->type != JSCAN_STRING || str->end < str->start + 2)
		return 0;
	end = str->end - 1;
	for (i = str->start + 1; i < end;) {
		if (s[i] != '\\') {
			if (n == litlen || (unsigned char)lit[n] != s[i])
				return 0;
			n++;
			i++;
			continue;
		}
		if ((k = jscan_unescape(s, &i, end, u)) == 0 ||
		    k > litlen - n || memcmp(lit + n, u, k) != 0)
			return 0;
		n += k;
	}
	return n == litlen;
}

int
jscan_int64(const char *buf, const struct jscan_span *num, int64_t *v)
{
	const unsigned char	*s = (const unsigned char *)buf;
	size_t			 i = num->start;
	uint64_t		 acc = 0, limit = INT64_MAX;
	int			 neg = 0;

	if (num->type != JSCAN_NUMBER || num->end <= num->start)
		return -1;
	if (s[i] == '-') {
		neg = 1;
		limit = (uint64_t)INT64_MAX + 1;
		i++;
	}
	if (i >= num->end)
		return -1;
	for (; i < num->end; i++) {
		if (!jscan_is_digit(s[i]))
			return -1;
		if (acc > (limit - (s[i] - '0')) / 10)
			return -1;
		acc = acc * 10 + (s[i] - '0');
	}
	if (neg)
		*v = acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc;
	else
		*v = acc;
	return 0;
}

static inline void
jscan_put(char *dst, size_t dstlen, size_t *n, const char *src, size_t len)
{
	size_t	room;

	if (*n + 1 < dstlen) {
		room = dstlen - 1 - *n;
		memcpy(dst + *n, src, len < room ? len : room);
	}
	*n += len;
}

size_t
jscan_quote(char *dst, size_t dstlen, const char *src, size_t len)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*s = (const unsigned char *)src;
	size_t			 i = 0, n = 0, run, k;
	char			 esc[6];

	jscan_put(dst, dstlen, &n, "\"", 1);
	while (i < len) {
		for (run = i; run < len && !jscan_special[s[run]]; run++)
			;
		jscan_put(dst, dstlen, &n, src + i, run - i);
		i = run;
		if (i >= len)
			break;
		switch (s[i]) {
		case '"':
			jscan_put(dst, dstlen, &n, "\\\"", 2);
			break;
		case '\\':
			jscan_put(dst, dstlen, &n, "\\\\", 2);
			break;
		case '\b':
			jscan_put(dst, dstlen, &n, "\\b", 2);
			break;
		case '\f':
			jscan_put(dst, dstlen, &n, "\\f", 2);
			break;
		case '\n':
			jscan_put(dst, dstlen, &n, "\\n", 2);
			break;
		case '\r':
			jscan_put(dst, dstlen, &n, "\\r", 2);
			break;
		case '\t':
			jscan_put(dst, dstlen, &n, "\\t", 2);
			break;
		default:
			if (s[i] < 0x20) {
				memcpy(esc, "\\u00", 4);
				esc[4] = hex[s[i] >> 4];
				esc[5] = hex[s[i] & 0xf];
				jscan_put(dst, dstlen, &n, esc, 6);
				break;
			}
			if ((k = jscan_utf8_len(s + i, len - i)) == 0) {
				jscan_put(dst, dstlen, &n, "\\ufffd", 6);
				break;
			}
			jscan_put(dst, dstlen, &n, src + i, k);
			i += k;
			continue;
		}
		i++;
	}
	jscan_put(dst, dstlen, &n, "\"", 1);
	if (dstlen > 0)
		dst[n < dstlen ? n : dstlen - 1] = '\0';
	return n;
}
