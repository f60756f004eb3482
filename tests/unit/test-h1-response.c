/*
 * Unit tests for agent/h1-response.c: a backend's HTTP/1.1 head and body,
 * strictly, whatever pieces the bytes come in.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent.h"

/* A head parsed the way upstream-h1.c does: measured, then parsed. */
static int
head(const char *s, size_t len, struct h1_head *h)
{
	ssize_t	n;

	n = h1_head_length(s, len);
	if (n <= 0)
		return -1;
	return h1_head_parse(s, n, h, NULL, NULL);
}

#define HEAD(s, h)	head(s, strlen(s), h)

/* The header lines a head hands over, each followed by '|'. */
struct lines {
	char	buf[1024];
	size_t	len;
};

static void
lines_add(void *arg, const char *line, size_t len)
{
	struct lines	*l = arg;

	assert_true(l->len + len + 1 < sizeof(l->buf));
	memcpy(l->buf + l->len, line, len);
	l->len += len;
	l->buf[l->len++] = '|';
	l->buf[l->len] = '\0';
}

static void
test_head_length(void **state)
{
	static const struct {
		const char	*in;
		ssize_t		 want;
	} t[] = {
		{ "HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody", 25 },
		{ "HTTP/1.1 200 OK\nA: b\n\nbody", 22 },
		{ "HTTP/1.1 200 OK\r\nA: b\r\n\nbody", 24 },
		{ "HTTP/1.1 200 OK\nA: b\n\r\nbody", 23 },
		{ "HTTP/1.1 200 OK\r\n\r\n", 19 },
		{ "HTTP/1.1 200 OK\r\nA: b\r\n\r", 0 },
		{ "HTTP/1.1 200 OK\r\nA: b\r\n", 0 },
		{ "HTTP/1.1 200 OK\r\r\n", 0 },
		{ "", 0 },
		/* A bare CR is no line end, but no matter for the length. */
		{ "HTTP/1.1 200 OK\rX\r\n\r\n", 21 },
		{ "\r\n", 2 },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_int_equal(h1_head_length(t[i].in, strlen(t[i].in)),
		    t[i].want);
}

static void
test_head_length_max(void **state)
{
	char	*buf;
	size_t	 size = H1_HEAD_MAX + 64;

	(void)state;
	buf = malloc(size);
	assert_non_null(buf);
	memset(buf, 'a', size);
	memcpy(buf, "HTTP/1.1 200 OK\r\nX: ", 20);
	assert_int_equal(h1_head_length(buf, H1_HEAD_MAX - 1), 0);
	assert_int_equal(h1_head_length(buf, H1_HEAD_MAX), -1);
	assert_int_equal(h1_head_length(buf, size), -1);

	/* Ending on the last byte allowed, and one past it. */
	memcpy(buf + H1_HEAD_MAX - 4, "\r\n\r\n", 4);
	assert_int_equal(h1_head_length(buf, size), H1_HEAD_MAX);
	memset(buf + H1_HEAD_MAX - 4, 'a', 4);
	memcpy(buf + H1_HEAD_MAX - 3, "\r\n\r\n", 4);
	assert_int_equal(h1_head_length(buf, H1_HEAD_MAX - 1), 0);
	assert_int_equal(h1_head_length(buf, size), -1);
	free(buf);
}

static void
test_head_parse(void **state)
{
	static const char	in[] = "HTTP/1.1 201 Created\r\n"
	    "Content-Type: text/plain\r\n"
	    "content-LENGTH:\t 42 \t\r\n"
	    "X-Empty:\r\n"
	    "X-Obs: caf\xc3\xa9 \x80\xff\tend\r\n"
	    "\r\n";
	struct h1_head	h;
	struct lines	l = { .len = 0 };

	(void)state;
	assert_int_equal(h1_head_parse(in, sizeof(in) - 1, &h, lines_add,
	    &l), 0);
	assert_int_equal(h.status, 201);
	assert_int_equal(h.keep_alive, 1);
	assert_int_equal(h.chunked, 0);
	assert_int_equal(h.has_length, 1);
	assert_int_equal(h.length, 42);
	assert_string_equal(l.buf, "Content-Type: text/plain|"
	    "content-LENGTH:\t 42 \t|X-Empty:|"
	    "X-Obs: caf\xc3\xa9 \x80\xff\tend|");

	/* Bare LF line ends, and no reason phrase at all. */
	assert_int_equal(HEAD("HTTP/1.1 200\nContent-Length: 0\n\n", &h), 0);
	assert_int_equal(h.status, 200);
	assert_int_equal(h.has_length, 1);
	assert_int_equal(h.length, 0);
	assert_int_equal(HEAD("HTTP/1.1 599 \r\nContent-Length: 1\r\n\r\n",
	    &h), 0);
	assert_int_equal(h.status, 599);
	assert_int_equal(HEAD("HTTP/1.1 100 Continue\r\n\r\n", &h), 0);
	assert_int_equal(h.status, 100);
	assert_int_equal(h.keep_alive, 1);

	/* The largest Content-Length, and a repeat of the same. */
	assert_int_equal(HEAD("HTTP/1.1 200 OK\r\n"
	    "Content-Length: 999999999999999999\r\n\r\n", &h), 0);
	assert_true(h.length == 999999999999999999ULL);
	assert_int_equal(HEAD("HTTP/1.1 200 OK\r\nContent-Length: 7\r\n"
	    "Content-Length: 007\r\n\r\n", &h), 0);
	assert_int_equal(h.length, 7);

	assert_int_equal(HEAD("HTTP/1.1 200 OK\r\n"
	    "Transfer-Encoding:  ChUnKeD \r\n\r\n", &h), 0);
	assert_int_equal(h.chunked, 1);
	assert_int_equal(h.has_length, 0);
	assert_int_equal(h.keep_alive, 1);
}

static void
test_head_keep_alive(void **state)
{
	static const struct {
		const char	*in;
		int		 keep_alive;
	} t[] = {
		{ "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n", 1 },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n"
		    "Connection: close\r\n\r\n", 0 },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n"
		    "Connection: Upgrade, CLOSE\r\n\r\n", 0 },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n"
		    "Connection: ,, close ,\r\n\r\n", 0 },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n"
		    "Connection: keep-alive\r\nConnection: close\r\n\r\n", 0 },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n"
		    "Connection: closed, x-close\r\n\r\n", 1 },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n"
		    "X-Connection: close\r\n\r\n", 1 },
		{ "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", 0 },
		{ "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n"
		    "Connection: Keep-Alive\r\n\r\n", 1 },
		{ "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n"
		    "Connection: keep-alive, close\r\n\r\n", 0 },
		/* The body ends with the connection. */
		{ "HTTP/1.1 200 OK\r\n\r\n", 0 },
		{ "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n", 0 },
		{ "HTTP/1.1 204 No Content\r\n\r\n", 1 },
		{ "HTTP/1.1 304 Not Modified\r\n\r\n", 1 },
		/* Both framings: chunked, and never reused (RFC 9112 6.1). */
		{ "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n", 0 },
	};
	struct h1_head	h;
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(HEAD(t[i].in, &h), 0);
		assert_int_equal(h.keep_alive, t[i].keep_alive);
	}
	assert_int_equal(HEAD("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", &h), 0);
	assert_int_equal(h.chunked, 1);
	assert_int_equal(h.has_length, 0);
	assert_int_equal(HEAD("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked"
	    "\r\nContent-Length: 5\r\n\r\n", &h), 0);
	assert_int_equal(h.chunked, 1);
	assert_int_equal(h.has_length, 0);
	assert_int_equal(h.keep_alive, 0);
}

static void
test_head_invalid(void **state)
{
	static const char *const bad[] = {
		/* Status lines. */
		"HTTP/2.0 200 OK\r\n\r\n",
		"HTTP/1.2 200 OK\r\n\r\n",
		"http/1.1 200 OK\r\n\r\n",
		"HTTP/1.1  200 OK\r\n\r\n",
		"HTTP/1.1 20 OK\r\n\r\n",
		"HTTP/1.1 2000 OK\r\n\r\n",
		"HTTP/1.1 2000\r\n\r\n",
		"HTTP/1.1 099 OK\r\n\r\n",
		"HTTP/1.1 600 OK\r\n\r\n",
		"HTTP/1.1 20x OK\r\n\r\n",
		"HTTP/1.1 200\tOK\r\n\r\n",
		"HTTP/1.1 200 O\x01K\r\n\r\n",
		"HTTP/1.1 200 O\x7fK\r\n\r\n",
		"HTTP/1.1 200 O\rK\r\n\r\n",
		"HTTP/1.1\r\n\r\n",
		" HTTP/1.1 200 OK\r\n\r\n",
		"\r\nHTTP/1.1 200 OK\r\n\r\n",
		/* Field lines. */
		"HTTP/1.1 200 OK\r\nNo colon\r\n\r\n",
		"HTTP/1.1 200 OK\r\nName : v\r\n\r\n",
		"HTTP/1.1 200 OK\r\nName\t: v\r\n\r\n",
		"HTTP/1.1 200 OK\r\n: v\r\n\r\n",
		"HTTP/1.1 200 OK\r\nNa(me: v\r\n\r\n",
		"HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n",
		"HTTP/1.1 200 OK\r\nA: b\r\n\tfolded\r\n\r\n",
		"HTTP/1.1 200 OK\r\n folded: first\r\n\r\n",
		"HTTP/1.1 200 OK\r\nA: b\rc\r\n\r\n",
		"HTTP/1.1 200 OK\r\nA: b\r\r\n\r\n",
		"HTTP/1.1 200 OK\r\nA: b\x01\r\n\r\n",
		"HTTP/1.1 200 OK\r\nA: b\x1b[31m\r\n\r\n",
		"HTTP/1.1 200 OK\r\nA: \x7f\r\n\r\n",
		/* Content-Length. */
		"HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5,6\r\n\r\n",
		"HTTP/1.1 200 OK\r\n"
		    "Content-Length: 1000000000000000000\r\n\r\n",
		"HTTP/1.1 200 OK\r\n"
		    "Content-Length: 99999999999999999999999999\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
		    "Content-Length: 6\r\n\r\n",
		/* Transfer-Encoding. */
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
		"HTTP/1.1 200 OK\r\n"
		    "Transfer-Encoding: gzip, chunked\r\n\r\n",
		"HTTP/1.1 200 OK\r\n"
		    "Transfer-Encoding: chunked, chunked\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n",
		"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
	};
	static const char	nul[] = "HTTP/1.1 200 OK\r\nA: b\0c\r\n\r\n";
	static const char	nul_name[] = "HTTP/1.1 200 OK\r\nA\0: b\r\n"
	    "\r\n";
	static const char	nul_reason[] = "HTTP/1.1 200 O\0K\r\n\r\n";
	struct h1_head		h;
	size_t			i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (HEAD(bad[i], &h) != -1)
			fail_msg("accepted %zu: %s", i, bad[i]);
	}
	assert_int_equal(head(nul, sizeof(nul) - 1, &h), -1);
	assert_int_equal(head(nul_name, sizeof(nul_name) - 1, &h), -1);
	assert_int_equal(head(nul_reason, sizeof(nul_reason) - 1, &h), -1);
}

/* A head that is cut, runs past its blank line, or has none. */
static void
test_head_bounds(void **state)
{
	static const char	in[] = "HTTP/1.1 200 OK\r\nA: b\r\n\r\nXYZ";
	struct h1_head		h;
	char			*copy;
	size_t			n = sizeof(in) - 4, i;

	(void)state;
	assert_int_equal(h1_head_length(in, sizeof(in) - 1), (ssize_t)n);
	assert_int_equal(h1_head_parse(in, n, &h, NULL, NULL), 0);
	assert_int_equal(h1_head_parse(in, n + 1, &h, NULL, NULL), -1);
	assert_int_equal(h1_head_parse(in, n + 3, &h, NULL, NULL), -1);
	/* Every cut, on a copy of just that many bytes for ASan to watch. */
	for (i = 0; i < n; i++) {
		copy = malloc(i > 0 ? i : 1);
		assert_non_null(copy);
		memcpy(copy, in, i);
		assert_int_equal(h1_head_parse(copy, i, &h, NULL, NULL), -1);
		free(copy);
	}
}

static void
test_head_fields_max(void **state)
{
	static char	buf[16384];
	struct h1_head	h;
	size_t		len;
	int		i;

	(void)state;
	/* 1,000 lines pass (a 429 may carry hundreds of rate-limit ones). */
	len = snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\n");
	for (i = 0; i < 1000; i++)
		len += snprintf(buf + len, sizeof(buf) - len, "X-%d: v\r\n", i);
	len += snprintf(buf + len, sizeof(buf) - len, "\r\n");
	assert_true(len < sizeof(buf));
	assert_int_equal(head(buf, len, &h), 0);

	len -= 2;
	len += snprintf(buf + len, sizeof(buf) - len, "X-1000: v\r\n\r\n");
	assert_true(len < sizeof(buf));
	assert_int_equal(head(buf, len, &h), -1);
}

/*
 * Feed in to b step bytes at a time (0: all at once) as a caller does,
 * each piece in a buffer of its own size; the body's bytes go to out.
 * The bytes consumed, or -1.
 */
static ssize_t
feed(struct h1_body *b, const char *in, size_t len, size_t step,
    char *out, size_t outsize, size_t *outlen)
{
	const char	*data;
	char		*piece;
	size_t		 off = 0, plen, dlen, used;
	ssize_t		 n;

	*outlen = 0;
	while (off < len && !b->done) {
		plen = step == 0 || len - off < step ? len - off : step;
		piece = malloc(plen);
		assert_non_null(piece);
		memcpy(piece, in + off, plen);
		used = 0;
		while (used < plen && !b->done) {
			n = h1_body_read(b, piece + used, plen - used, &data,
			    &dlen);
			if (n == -1) {
				free(piece);
				return -1;
			}
			/* Progress, and a span inside what was consumed. */
			assert_true(n > 0);
			assert_true((size_t)n <= plen - used);
			if (dlen > 0) {
				assert_true(data >= piece + used);
				assert_true(data + dlen <= piece + used + n);
				assert_true(*outlen + dlen <= outsize);
				memcpy(out + *outlen, data, dlen);
				*outlen += dlen;
			}
			used += n;
		}
		free(piece);
		off += used;
	}
	return off;
}

static struct h1_body
body_of(const char *head_text)
{
	struct h1_head	h;
	struct h1_body	b;

	assert_int_equal(HEAD(head_text, &h), 0);
	h1_body_init(&b, &h);
	return b;
}

#define CHUNKED	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"

/* A chunked body read whole and byte by byte: the same bytes, all done. */
static void
chunked_ok(const char *in, size_t len, const char *want, size_t consumed)
{
	struct h1_body	b;
	char		out[1024];
	size_t		outlen, steps[] = { 0, 1, 2, 3, 7 }, i;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		b = body_of(CHUNKED);
		assert_int_equal(b.mode, H1_BODY_CHUNKED);
		assert_int_equal(feed(&b, in, len, steps[i], out, sizeof(out),
		    &outlen), (ssize_t)consumed);
		assert_int_equal(b.done, 1);
		assert_int_equal(outlen, strlen(want));
		assert_memory_equal(out, want, outlen);
		assert_int_equal(h1_body_eof(&b), 1);
	}
}

#define CHUNKED_OK(s, want)	chunked_ok(s, sizeof(s) - 1, want, \
				    sizeof(s) - 1)

/* A chunked body that fails however it is cut. */
static void
chunked_bad(const char *in, size_t len)
{
	struct h1_body	b;
	char		out[1024];
	size_t		outlen, steps[] = { 0, 1, 2, 3, 7 }, i;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		b = body_of(CHUNKED);
		if (feed(&b, in, len, steps[i], out, sizeof(out),
		    &outlen) != -1)
			fail_msg("accepted (step %zu): %.*s", steps[i],
			    (int)len, in);
	}
}

#define CHUNKED_BAD(s)	chunked_bad(s, sizeof(s) - 1)

static void
test_chunked(void **state)
{
	(void)state;
	CHUNKED_OK("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world");
	CHUNKED_OK("5\nhello\n6\n world\n0\n\n", "hello world");
	CHUNKED_OK("5\r\nhello\n0\n\r\n", "hello");
	CHUNKED_OK("0\r\n\r\n", "");
	CHUNKED_OK("A\r\n0123456789\r\na\r\nabcdefghij\r\n0\r\n\r\n",
	    "0123456789abcdefghij");
	CHUNKED_OK("000000000000000000000000000005\r\nhello\r\n0000\r\n\r\n",
	    "hello");
	/* Extensions, with whitespace before them, are read past. */
	CHUNKED_OK("5;name=value\r\nhello\r\n0;last\r\n\r\n", "hello");
	CHUNKED_OK("5 ;a=\"b c\"\t;d\r\nhello\r\n0\t; x\r\n\r\n", "hello");
	CHUNKED_OK("5;\xc3\xa9\r\nhello\r\n0\r\n\r\n", "hello");
	/* Trailers are skipped. */
	CHUNKED_OK("5\r\nhello\r\n0\r\nX-Sum: 1\r\nY: \xff\r\n\r\n", "hello");
	CHUNKED_OK("5\r\nhello\r\n0\nX-Sum: 1\n\n", "hello");
	CHUNKED_OK("2\r\n\r\n\r\n0\r\n\r\n", "\r\n");
}

static void
test_chunked_rest(void **state)
{
	static const char	in[] = "3\r\nabc\r\n0\r\nT: 1\r\n\r\n"
	    "HTTP/1.1 200 OK\r\n";
	struct h1_body		b;
	const char		*data;
	size_t			dlen;

	(void)state;
	/* What follows the body is the next answer's, not consumed. */
	chunked_ok(in, sizeof(in) - 1, "abc", sizeof(in) - 1 - 17);
	b = body_of(CHUNKED);
	assert_int_equal(h1_body_read(&b, in, sizeof(in) - 1, &data, &dlen),
	    6);
	assert_int_equal(dlen, 3);
	assert_memory_equal(data, "abc", 3);
	assert_int_equal(h1_body_read(&b, in + 6, sizeof(in) - 7, &data,
	    &dlen), sizeof(in) - 1 - 17 - 6);
	assert_int_equal(dlen, 0);
	assert_int_equal(b.done, 1);
	assert_int_equal(h1_body_read(&b, "x", 1, &data, &dlen), 0);
	assert_int_equal(dlen, 0);
}

static void
test_chunked_invalid(void **state)
{
	char	line[H1_CHUNK_LINE_MAX + 16];
	size_t	n;

	(void)state;
	CHUNKED_BAD("\r\n");
	CHUNKED_BAD(";x\r\n");
	CHUNKED_BAD("g\r\n");
	CHUNKED_BAD("+5\r\nhello\r\n");
	CHUNKED_BAD("-5\r\nhello\r\n");
	CHUNKED_BAD("0x5\r\nhello\r\n");
	CHUNKED_BAD(" 5\r\nhello\r\n");
	CHUNKED_BAD("5 \r\nhello\r\n");
	CHUNKED_BAD("5 x\r\nhello\r\n");
	CHUNKED_BAD("5\r\r\nhello\r\n");
	CHUNKED_BAD("5\rx\nhello\r\n");
	CHUNKED_BAD("5;a\x01\r\nhello\r\n");
	CHUNKED_BAD("5;a\x7f\r\nhello\r\n");
	CHUNKED_BAD("5;a\0\r\nhello\r\n");
	/* The data's line end. */
	CHUNKED_BAD("5\r\nhelloX\r\n");
	CHUNKED_BAD("5\r\nhello\rX");
	CHUNKED_BAD("5\r\nhello\r\r\n");
	CHUNKED_BAD("3\r\nhello\r\n0\r\n\r\n");
	/* Sizes past 15 significant digits, however they would wrap. */
	CHUNKED_BAD("1000000000000000\r\n");
	CHUNKED_BAD("ffffffffffffffff\r\n");
	CHUNKED_BAD("10000000000000001\r\nx\r\n");
	/* Trailers. */
	CHUNKED_BAD("0\r\nA: b\0\r\n\r\n");
	CHUNKED_BAD("0\r\nA: b\rc\r\n\r\n");
	CHUNKED_BAD("0\r\n\rX");

	/* A size line of H1_CHUNK_LINE_MAX bytes, CR in, is the longest. */
	n = H1_CHUNK_LINE_MAX - 1;
	memset(line, '0', n);
	memcpy(line + n, "\r\n\r\n", 4);
	chunked_ok(line, n + 4, "", n + 4);
	memset(line, '0', n + 1);
	memcpy(line + n + 1, "\r\n\r\n", 4);
	chunked_bad(line, n + 5);
	memcpy(line, "0;", 2);
	memset(line + 2, 'x', n - 2);
	memcpy(line + n, "\r\n\r\n", 4);
	chunked_ok(line, n + 4, "", n + 4);
	memset(line + 2, 'x', n - 1);
	memcpy(line + n + 1, "\r\n\r\n", 4);
	chunked_bad(line, n + 5);
	/* Without a line end at all. */
	memset(line, '0', sizeof(line));
	chunked_bad(line, sizeof(line));
}

static void
test_chunked_large(void **state)
{
	struct h1_body	b;
	const char	*data;
	size_t		dlen, i;
	char		out[16];

	(void)state;
	/* 15 significant digits: a size near 2^60, read as it comes. */
	b = body_of(CHUNKED);
	assert_int_equal(h1_body_read(&b, "fffffffffffffff\r\nabc", 20, &data,
	    &dlen), 20);
	assert_int_equal(dlen, 3);
	assert_true(b.left == 0xfffffffffffffffULL - 3);
	assert_int_equal(b.done, 0);
	assert_int_equal(h1_body_eof(&b), 0);

	/* Trailers past H1_HEAD_MAX bytes. */
	b = body_of(CHUNKED);
	assert_int_equal(feed(&b, "0\r\n", 3, 0, out, sizeof(out), &dlen), 3);
	for (i = 0; i + 10 <= H1_HEAD_MAX; i += 10)
		assert_int_equal(h1_body_read(&b, "X: 123456\n", 10, &data,
		    &dlen), 10);
	assert_int_equal(h1_body_read(&b, "X: 123456\n", 10, &data, &dlen),
	    -1);
}

static void
test_length(void **state)
{
	static const char	in[] = "hello world";
	struct h1_body		b;
	const char		*data;
	char			out[64];
	size_t			outlen, step;

	(void)state;
	for (step = 0; step < 4; step++) {
		b = body_of("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
		assert_int_equal(b.mode, H1_BODY_LENGTH);
		assert_int_equal(feed(&b, in, sizeof(in) - 1, step, out,
		    sizeof(out), &outlen), 5);
		assert_int_equal(outlen, 5);
		assert_memory_equal(out, "hello", 5);
		assert_int_equal(b.done, 1);
		assert_int_equal(h1_body_read(&b, in + 5, 6, &data, &outlen),
		    0);
		assert_int_equal(outlen, 0);
	}

	/* Cut short: the close leaves it unfinished. */
	b = body_of("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
	assert_int_equal(h1_body_read(&b, "hel", 3, &data, &outlen), 3);
	assert_int_equal(outlen, 3);
	assert_int_equal(b.done, 0);
	assert_int_equal(h1_body_eof(&b), 0);

	b = body_of("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(b.mode, H1_BODY_LENGTH);
	assert_int_equal(b.done, 1);
	assert_int_equal(h1_body_read(&b, in, 3, &data, &outlen), 0);
	assert_int_equal(h1_body_eof(&b), 1);
}

static void
test_close(void **state)
{
	static const char	in[] = "everything\r\n0\r\n\r\nis body";
	struct h1_body		b;
	char			out[64];
	size_t			outlen, step;

	(void)state;
	for (step = 0; step < 4; step++) {
		b = body_of("HTTP/1.0 200 OK\r\n\r\n");
		assert_int_equal(b.mode, H1_BODY_CLOSE);
		assert_int_equal(feed(&b, in, sizeof(in) - 1, step, out,
		    sizeof(out), &outlen), sizeof(in) - 1);
		assert_int_equal(outlen, sizeof(in) - 1);
		assert_memory_equal(out, in, outlen);
		assert_int_equal(b.done, 0);
		assert_int_equal(h1_body_eof(&b), 1);
		assert_int_equal(b.done, 1);
	}
}

static void
test_none(void **state)
{
	static const char *const heads[] = {
		"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
		"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n",
		"HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n",
		"HTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 101 Switching Protocols\r\n\r\n",
	};
	struct h1_body	b;
	const char	*data;
	size_t		dlen, i;

	(void)state;
	for (i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		b = body_of(heads[i]);
		assert_int_equal(b.mode, H1_BODY_NONE);
		assert_int_equal(b.done, 1);
		assert_int_equal(h1_body_read(&b, "hello", 5, &data, &dlen),
		    0);
		assert_int_equal(dlen, 0);
		assert_int_equal(h1_body_eof(&b), 1);
	}
}

static void
test_eof(void **state)
{
	struct h1_body	b;
	const char	*data;
	size_t		dlen;

	(void)state;
	/* A chunked body cut anywhere is cut. */
	b = body_of(CHUNKED);
	assert_int_equal(h1_body_eof(&b), 0);
	assert_int_equal(h1_body_read(&b, "5\r\nhel", 6, &data, &dlen), 6);
	assert_int_equal(h1_body_eof(&b), 0);
	assert_int_equal(h1_body_read(&b, "lo\r\n0\r\n", 7, &data, &dlen), 2);
	assert_int_equal(h1_body_read(&b, "\r\n0\r\n", 5, &data, &dlen), 5);
	assert_int_equal(h1_body_eof(&b), 0);
	assert_int_equal(h1_body_read(&b, "\r\n", 2, &data, &dlen), 2);
	assert_int_equal(h1_body_eof(&b), 1);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_head_length),
		cmocka_unit_test(test_head_length_max),
		cmocka_unit_test(test_head_parse),
		cmocka_unit_test(test_head_keep_alive),
		cmocka_unit_test(test_head_invalid),
		cmocka_unit_test(test_head_bounds),
		cmocka_unit_test(test_head_fields_max),
		cmocka_unit_test(test_chunked),
		cmocka_unit_test(test_chunked_rest),
		cmocka_unit_test(test_chunked_invalid),
		cmocka_unit_test(test_chunked_large),
		cmocka_unit_test(test_length),
		cmocka_unit_test(test_close),
		cmocka_unit_test(test_none),
		cmocka_unit_test(test_eof),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
