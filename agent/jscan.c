/* Validating JSON scanner: one pass over a body, spans instead of a tree. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* qsort_r */
#endif
#include <sys/types.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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

/* --- duplicate keys ------------------------------------------------------- */

#define JSCAN_KEY_ESCAPED	UINT32_C(0x80000000)
#define JSCAN_PAIRWISE_MAX	16	/* more keys than this: sort them */

/* Reads a validated string's content unescaped, a byte at a time. */
struct jscan_reader {
	const unsigned char	*s;
	size_t			 i;
	size_t			 end;
	unsigned char		 u[4];
	size_t			 un;
	size_t			 uk;
};

static size_t	jscan_unescape(const unsigned char *, size_t *, size_t,
		    unsigned char[4]);

static void
jscan_reader_init(struct jscan_reader *r, const char *buf, size_t start,
    size_t end)
{
	r->s = (const unsigned char *)buf;
	r->i = start + 1;
	r->end = end - 1;
	r->un = r->uk = 0;
}

/* The next byte, or -1 at the end (or at an escape that is malformed). */
static int
jscan_reader_next(struct jscan_reader *r)
{
	if (r->uk < r->un)
		return r->u[r->uk++];
	if (r->i >= r->end)
		return -1;
	if (r->s[r->i] != '\\')
		return r->s[r->i++];
	if ((r->un = jscan_unescape(r->s, &r->i, r->end, r->u)) == 0)
		return -1;
	r->uk = 1;
	return r->u[0];
}

/* Two keys of a validated buffer compared once unescaped, as memcmp. */
static int
jscan_key_cmp(const struct jscan_key *a, const struct jscan_key *b,
    const char *buf)
{
	struct jscan_reader	ra, rb;
	size_t			la = a->end - a->start - 2;
	size_t			lb = b->end - b->start - 2;
	int			ca, cb, d;

	/*
	 * The contents, not the quotes: a closing quote compared with a
	 * byte below it would order "ab" after "ab!", where the escaped
	 * path puts it before, and a sort by an inconsistent order can
	 * keep a key and its escaped twin apart.
	 */
	if (((a->depth | b->depth) & JSCAN_KEY_ESCAPED) == 0) {
		d = memcmp(buf + a->start + 1, buf + b->start + 1,
		    la < lb ? la : lb);
		return d != 0 ? d : (la > lb) - (la < lb);
	}
	jscan_reader_init(&ra, buf, a->start, a->end);
	jscan_reader_init(&rb, buf, b->start, b->end);
	do {
		ca = jscan_reader_next(&ra);
		cb = jscan_reader_next(&rb);
	} while (ca == cb && ca != -1);
	return ca - cb;
}

/*
 * Are two keys the same once unescaped? Without escapes, keys of unequal
 * length never are: most pairs of an object's keys differ there, and so
 * take no compare of their bytes.
 */
static inline int
jscan_key_same(const struct jscan_key *a, const struct jscan_key *b,
    const char *buf)
{
	if (((a->depth | b->depth) & JSCAN_KEY_ESCAPED) == 0)
		return a->end - a->start == b->end - b->start &&
		    memcmp(buf + a->start + 1, buf + b->start + 1,
		    a->end - a->start - 2) == 0;
	return jscan_key_cmp(a, b, buf) == 0;
}

static int
jscan_key_sort(const void *a, const void *b, void *buf)
{
	return jscan_key_cmp(a, b, buf);
}

static void *
jscan_grow(void *p, size_t *cap, size_t need, size_t size)
{
	size_t	 n = *cap > 0 ? *cap : 16;
	void	*q;

	while (n < need)
		n *= 2;
	if (n > SIZE_MAX / size || (q = realloc(p, n * size)) == NULL)
		return NULL;
	*cap = n;
	return q;
}

void
jscan_keys_free(struct jscan_keys *k)
{
	free(k->heap);
	memset(k, 0, sizeof(*k));
}

static struct jscan_key *
jscan_keys_array(struct jscan_keys *k)
{
	return k->heap != NULL ? k->heap : k->inline_keys;
}

/* Remember a key of the object at depth. Returns -1 out of memory. */
static int
jscan_keys_push(struct jscan_keys *k, size_t start, size_t end, int depth,
    int escaped)
{
	struct jscan_key	*a, *grown;
	size_t			 cap;

	if (k->cap == 0)
		k->cap = JSCAN_KEYS_INLINE;
	if (k->n == k->cap) {
		cap = k->cap;
		if ((grown = jscan_grow(k->heap, &cap, k->n + 1,
		    sizeof(*grown))) == NULL)
			return -1;
		if (k->heap == NULL)
			memcpy(grown, k->inline_keys, sizeof(k->inline_keys));
		k->heap = grown;
		k->cap = cap;
	}
	a = jscan_keys_array(k);
	a[k->n].start = start;
	a[k->n].end = end;
	a[k->n].depth = (uint32_t)depth | (escaped ? JSCAN_KEY_ESCAPED : 0);
	k->n++;
	return 0;
}

static int
jscan_dup_fail(const char *buf, const struct jscan_key *key, char *err,
    size_t errlen)
{
	const char	*name = buf + key->start + 1;
	size_t		 n = key->end - key->start - 2;

	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "duplicate key \"%.*s\"",
		    (int)jscan_utf8_cut(name, n, 64), name);
	return -1;
}

/*
 * The object at depth closes: refuse a key it holds twice, and forget its
 * keys. A few are compared pairwise; more are sorted (in place: they are
 * forgotten next), so no input makes the check quadratic.
 */
static int
jscan_keys_close(struct jscan_keys *k, const char *buf, int depth,
    char *err, size_t errlen)
{
	struct jscan_key	*a = jscan_keys_array(k);
	size_t			 b = k->n, cnt, i, j;

	while (b > 0 && (a[b - 1].depth & ~JSCAN_KEY_ESCAPED) ==
	    (uint32_t)depth)
		b--;
	cnt = k->n - b;
	k->n = b;
	a += b;
	if (cnt <= JSCAN_PAIRWISE_MAX) {
		for (i = 1; i < cnt; i++)
			for (j = 0; j < i; j++)
				if (jscan_key_same(&a[i], &a[j], buf))
					return jscan_dup_fail(buf, &a[i], err,
					    errlen);
		return 0;
	}
	qsort_r(a, cnt, sizeof(*a), jscan_key_sort, (void *)buf);
	for (i = 1; i < cnt; i++)
		if (jscan_key_same(&a[i], &a[i - 1], buf))
			return jscan_dup_fail(buf, &a[i], err, errlen);
	return 0;
}

/* --- the walk ------------------------------------------------------------- */

static inline int
jscan_emit(int (*cb)(void *, const struct jscan_token *), void *arg,
    enum jscan_step step, enum jscan_type type, size_t start, size_t end,
    int depth, int escaped)
{
	struct jscan_token	t;

	if (cb == NULL)
		return 0;
	t.step = step;
	t.span.type = type;
	t.span.start = start;
	t.span.end = end;
	t.span.present = 1;
	t.depth = depth;
	t.escaped = escaped;
	return cb(arg, &t);
}

int
jscan_walk(const char *buf, size_t len, int max_depth,
    struct jscan_keys *dups, int (*cb)(void *, const struct jscan_token *),
    void *arg, char *err, size_t errlen)
{
	const unsigned char	*s = (const unsigned char *)buf;
	uint64_t		 arrays[JSCAN_DEPTH_MAX / 64];
	size_t			 starts[JSCAN_DEPTH_MAX];
	int			 depth = 0, escaped;
	size_t			 i, start;
	enum jscan_type		 type;
	const char		*what;

	if (max_depth > JSCAN_DEPTH_MAX)
		max_depth = JSCAN_DEPTH_MAX;
	if (dups != NULL) {
		dups->n = 0;
		if (len > UINT32_MAX) {
			if (err != NULL && errlen > 0)
				snprintf(err, errlen, "JSON body too large");
			return -1;
		}
	}

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
	start = i;
	escaped = 0;
	switch (s[i]) {
	case '{':
	case '[':
		if (depth >= max_depth)
			goto deep;
		if (s[i] == '[')
			arrays[depth / 64] |= JSCAN_BIT(depth);
		else
			arrays[depth / 64] &= ~JSCAN_BIT(depth);
		starts[depth] = i;
		depth++;
		if (jscan_emit(cb, arg, JSCAN_OPEN, jscan_type_of(s[i]), i, 0,
		    depth, 0) == -1)
			return -1;
		i = jscan_skip_ws(s, i + 1, len);
		if (i >= len)
			goto eof;
		if (JSCAN_IN_ARRAY(arrays, depth)) {
			if (s[i] == ']') {
				i++;
				goto close;
			}
			goto value;
		}
		if (s[i] == '}') {
			i++;
			goto close;
		}
		goto key;
	case '"':
		if ((what = jscan_scan_string(s, len, &i, &escaped)) != NULL)
			return jscan_fail(err, errlen, i, what);
		break;
	case 't':
		if (len - i < 4 || memcmp(s + i, "true", 4) != 0)
			return jscan_fail(err, errlen, i, "invalid literal");
		i += 4;
		break;
	case 'f':
		if (len - i < 5 || memcmp(s + i, "false", 5) != 0)
			return jscan_fail(err, errlen, i, "invalid literal");
		i += 5;
		break;
	case 'n':
		if (len - i < 4 || memcmp(s + i, "null", 4) != 0)
			return jscan_fail(err, errlen, i, "invalid literal");
		i += 4;
		break;
	case '-':
	case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		if ((what = jscan_scan_number(s, len, &i)) != NULL)
			return jscan_fail(err, errlen, i, what);
		break;
	default:
		return jscan_fail(err, errlen, i, "expected value");
	}
	if (jscan_emit(cb, arg, JSCAN_VALUE, jscan_type_of(s[start]), start, i,
	    depth, escaped) == -1)
		return -1;
	goto after;

key:
	/* An object member's key starts at s[i], whitespace already skipped. */
	if (i >= len)
		goto eof;
	if (s[i] != '"')
		return jscan_fail(err, errlen, i, "expected string key");
	start = i;
	escaped = 0;
	if ((what = jscan_scan_string(s, len, &i, &escaped)) != NULL)
		return jscan_fail(err, errlen, i, what);
	if (dups != NULL && jscan_keys_push(dups, start, i, depth,
	    escaped) == -1) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "out of memory checking the keys");
		return -1;
	}
	if (jscan_emit(cb, arg, JSCAN_KEY, JSCAN_STRING, start, i, depth,
	    escaped) == -1)
		return -1;
	i = jscan_skip_ws(s, i, len);
	if (i >= len)
		goto eof;
	if (s[i] != ':')
		return jscan_fail(err, errlen, i, "expected ':'");
	i = jscan_skip_ws(s, i + 1, len);
	goto value;

close:
	/* The container at depth ended just before s[i]. */
	type = JSCAN_IN_ARRAY(arrays, depth) ? JSCAN_ARRAY : JSCAN_OBJECT;
	if (dups != NULL && type == JSCAN_OBJECT &&
	    jscan_keys_close(dups, buf, depth, err, errlen) == -1)
		return -1;
	if (jscan_emit(cb, arg, JSCAN_CLOSE, type, starts[depth - 1], i, depth,
	    0) == -1)
		return -1;
	depth--;

after:
	/* A value ended just before s[i], inside the container at depth. */
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
	goto close;

eof:
	return jscan_fail(err, errlen, len, "unexpected end of input");
deep:
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "JSON nested deeper than %d levels",
		    max_depth);
	return -1;
}

/* jscan_object()'s walk: the wanted keys' values at top level. */
struct jscan_fields {
	const char		*buf;
	struct jscan_want	*want;
	size_t			 nwant;
	ssize_t			 cur;
	char			*err;
	size_t			 errlen;
};

static int
jscan_fields_step(void *arg, const struct jscan_token *t)
{
	struct jscan_fields	*f = arg;
	struct jscan_span	*out;

	if (t->step == JSCAN_KEY && t->depth == 1) {
		f->cur = jscan_match(f->buf, t->span.start, t->span.end,
		    t->escaped, f->want, f->nwant);
		if (f->cur < 0)
			return 0;
		if (f->want[f->cur].out->present) {
			if (f->err != NULL && f->errlen > 0)
				snprintf(f->err, f->errlen,
				    "duplicate key \"%s\"", f->want[f->cur].key);
			return -1;
		}
		f->want[f->cur].out->present = 1;
		return 0;
	}
	/* A top-level value: a scalar there, or what closes at depth 2. */
	if (f->cur >= 0 && ((t->step == JSCAN_VALUE && t->depth == 1) ||
	    (t->step == JSCAN_CLOSE && t->depth == 2))) {
		out = f->want[f->cur].out;
		out->type = t->span.type;
		out->start = t->span.start;
		out->end = t->span.end;
		f->cur = -1;
	}
	return 0;
}

int
jscan_object_strict(const char *buf, size_t len, int max_depth,
    struct jscan_want *want, size_t nwant, struct jscan_keys *dups,
    char *err, size_t errlen)
{
	struct jscan_fields	f = { buf, want, nwant, -1, err, errlen };
	size_t			k;

	for (k = 0; k < nwant; k++)
		want[k].out->present = 0;
	return jscan_walk(buf, len, max_depth, dups, nwant > 0 ?
	    jscan_fields_step : NULL, &f, err, errlen);
}

int
jscan_object(const char *buf, size_t len, int max_depth,
    struct jscan_want *want, size_t nwant, char *err, size_t errlen)
{
	return jscan_object_strict(buf, len, max_depth, want, nwant, NULL, err,
	    errlen);
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

/* Is the key span want's key? Lengths first: most keys differ there. */
static int
jscan_key_is(const char *buf, const struct jscan_span *k, int escaped,
    const char *key, size_t keylen)
{
	if (!escaped && k->end - k->start - 2 != keylen)
		return 0;
	return jscan_string_eq(buf, k, key, keylen);
}

int
jscan_object_fields(const char *buf, const struct jscan_span *obj,
    struct jscan_want *want, size_t nwant)
{
	const unsigned char	*s = (const unsigned char *)buf;
	struct jscan_span	 k = { JSCAN_STRING, 0, 0, 1 };
	size_t			 i, end, vstart, w, keylen[JSCAN_FIELDS_MAX];
	int			 found = 0, escaped;

	if (nwant > JSCAN_FIELDS_MAX)
		nwant = JSCAN_FIELDS_MAX;
	for (w = 0; w < nwant; w++) {
		want[w].out->present = 0;
		keylen[w] = strlen(want[w].key);
	}
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
		escaped = memchr(s + k.start, '\\', k.end - k.start) != NULL;
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
		for (w = 0; w < nwant; w++) {
			if (!jscan_key_is(buf, &k, escaped, want[w].key,
			    keylen[w]))
				continue;
			if (!want[w].out->present)
				found++;
			want[w].out->type = jscan_type_of(s[vstart]);
			want[w].out->start = vstart;
			want[w].out->end = i;
			want[w].out->present = 1;
		}
	}
	return found;
}

int
jscan_object_get(const char *buf, const struct jscan_span *obj,
    const char *key, struct jscan_span *out)
{
	struct jscan_want	want = { key, out };

	return jscan_object_fields(buf, obj, &want, 1) > 0;
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

/*
 * Unescape a string span into dst[0..dstlen - 1) and NUL-terminate it:
 * whole, or with cut as much as fits in whole characters. Returns the
 * length, or -1 if it is not a string or (without cut) does not fit.
 */
static ssize_t
jscan_unescape_span(const char *buf, const struct jscan_span *str,
    char *dst, size_t dstlen, int cut)
{
	const unsigned char	*s = (const unsigned char *)buf;
	unsigned char		 u[4];
	size_t			 i, end, n = 0, k, run, take;

	if (str->type != JSCAN_STRING || str->end < str->start + 2 ||
	    dstlen == 0)
		return -1;
	end = str->end - 1;
	for (i = str->start + 1; i < end;) {
		if (s[i] != '\\') {
			for (run = i; run < end && s[run] != '\\'; run++)
				;
			take = jscan_utf8_cut((const char *)s + i, run - i,
			    dstlen - 1 - n);
			if (take < run - i && !cut)
				return -1;
			memcpy(dst + n, s + i, take);
			n += take;
			if (take < run - i)
				break;
			i = run;
			continue;
		}
		if ((k = jscan_unescape(s, &i, end, u)) == 0)
			return -1;
		if (k > dstlen - 1 - n) {
			if (!cut)
				return -1;
			break;
		}
		memcpy(dst + n, u, k);
		n += k;
	}
	dst[n] = '\0';
	return n;
}

ssize_t
jscan_string(const char *buf, const struct jscan_span *str, char *dst,
    size_t dstlen)
{
	return jscan_unescape_span(buf, str, dst, dstlen, 0);
}

int
jscan_string_eq(const char *buf, const struct jscan_span *str,
    const char *lit, size_t litlen)
{
	const unsigned char	*s = (const unsigned char *)buf;
	unsigned char		 u[4];
	size_t			 i, end, n = 0, k, raw;

	if (str->type != JSCAN_STRING || str->end < str->start + 2)
		return 0;
	/*
	 * Unescaping only shortens: a span shorter than lit never equals
	 * it, and one as long does only with no escape in it, so byte for
	 * byte (a backslash in lit would read as one in the span).
	 */
	raw = str->end - str->start - 2;
	if (raw < litlen)
		return 0;
	if (raw == litlen)
		return memcmp(s + str->start + 1, lit, litlen) == 0 &&
		    memchr(lit, '\\', litlen) == NULL;
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
	size_t	i;

	/* Plain digits only: no fraction, no exponent. */
	if (num->type != JSCAN_NUMBER || num->end <= num->start)
		return -1;
	for (i = num->start + (buf[num->start] == '-'); i < num->end; i++)
		if (!jscan_is_digit(buf[i]))
			return -1;
	return jscan_integer(buf, num, v) == 0 ? 0 : -1;
}

int
jscan_integer(const char *buf, const struct jscan_span *num, int64_t *v)
{
	const unsigned char	*s = (const unsigned char *)buf;
	size_t			 i = num->start, k = 0, intlen, mend;
	size_t			 first = SIZE_MAX, last = 0, sig;
	int64_t			 exp = 0, e;
	uint64_t		 acc = 0, limit = INT64_MAX;
	int			 neg = 0, eneg = 0;

	if (num->type != JSCAN_NUMBER || num->end <= num->start)
		return -1;
	if (s[i] == '-') {
		neg = 1;
		limit = (uint64_t)INT64_MAX + 1;
		i++;
	}
	/* The mantissa's digits, the fraction's after the integer's. */
	for (mend = i; mend < num->end && s[mend] != 'e' && s[mend] != 'E';
	    mend++)
		;
	for (intlen = 0; i + intlen < mend && jscan_is_digit(s[i + intlen]);
	    intlen++)
		;
	if (intlen == 0)
		return -1;
	for (; i < mend; i++) {
		if (s[i] == '.')
			continue;
		if (!jscan_is_digit(s[i]))
			return -1;
		if (s[i] != '0') {
			if (first == SIZE_MAX)
				first = k;
			last = k;
		}
		k++;
	}
	if (i < num->end) {
		i++;
		if (i < num->end && (s[i] == '+' || s[i] == '-'))
			eneg = s[i++] == '-';
		if (i >= num->end)
			return -1;
		for (; i < num->end; i++) {
			if (!jscan_is_digit(s[i]))
				return -1;
			if (exp < INT64_C(1000000000000000))
				exp = exp * 10 + (s[i] - '0');
		}
		if (eneg)
			exp = -exp;
	}
	if (first == SIZE_MAX) {
		*v = 0;
		return 0;
	}
	/* digits[first..last] times 10^e, with no trailing zero left. */
	e = exp + (int64_t)intlen - 1 - (int64_t)last;
	if (e < 0)
		return JSCAN_NOT_INTEGER;
	sig = last - first + 1;
	if (sig > 19 || e > 19 - (int64_t)sig)
		return JSCAN_OUT_OF_RANGE;
	for (i = num->start + neg, k = 0; k <= last; i++) {
		if (s[i] == '.')
			continue;
		if (k >= first)
			acc = acc * 10 + (s[i] - '0');
		k++;
	}
	for (; e > 0; e--) {
		if (acc > limit / 10)
			return JSCAN_OUT_OF_RANGE;
		acc *= 10;
	}
	if (acc > limit)
		return JSCAN_OUT_OF_RANGE;
	if (neg)
		*v = acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc;
	else
		*v = acc;
	return 0;
}

size_t
jscan_utf8_cut(const char *s, size_t len, size_t max)
{
	size_t	n, k;

	if (len <= max)
		return len;
	/* A character is at most four bytes: three to step back over. */
	for (n = max, k = 0; k < 3 && n > 0 &&
	    ((unsigned char)s[n] & 0xc0) == 0x80; k++)
		n--;
	return n;
}

ssize_t
jscan_string_cut(const char *buf, const struct jscan_span *str, char *dst,
    size_t dstlen)
{
	return jscan_unescape_span(buf, str, dst, dstlen, 1);
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

int
jscan_span_has_nul(const char *buf, const struct jscan_span *s)
{
	size_t	i;

	/* Validated: every escape is whole inside the quotes. */
	for (i = s->start + 1; i + 1 < s->end; i++) {
		if (buf[i] != '\\')
			continue;
		i++;
		if (buf[i] == 'u' && i + 4 < s->end &&
		    memcmp(buf + i + 1, "0000", 4) == 0)
			return 1;
	}
	return 0;
}
