/*
 * libFuzzer target for agent/h1-response.c: the first byte picks a piece
 * size, the rest is a backend's answer. Its head is measured and parsed,
 * then its body read whole, in pieces of that size and byte by byte: the
 * three must agree on the bytes, the result and where the body ended.
 * Every piece sits in a buffer of its own size, for ASan to watch.
 */
#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The head's bytes, and where the last line handed over ended. */
struct fuzz_head {
	const char	*buf;
	size_t		 len;
	const char	*last;
};

/* One reading of a body. */
struct fuzz_read {
	char		*out;
	size_t		 outlen;
	ssize_t		 consumed;	/* or -1 */
	int		 done;
	int		 eof;
};

static void *
fuzz_copy(const void *p, size_t len)
{
	void	*q;

	if ((q = malloc(len > 0 ? len : 1)) == NULL)
		abort();
	memcpy(q, p, len);
	return q;
}

/* A line handed over lies in the head, after the one before, and is clean. */
static void
fuzz_line(void *arg, const char *line, size_t len)
{
	struct fuzz_head	*fh = arg;
	size_t			 i;

	if (len == 0 || line < fh->last || line + len > fh->buf + fh->len)
		abort();
	for (i = 0; i < len; i++)
		if (line[i] == '\0' || line[i] == '\r' || line[i] == '\n')
			abort();
	if (memchr(line, ':', len) == NULL)
		abort();
	fh->last = line + len;
}

static void
fuzz_check_head(const struct h1_head *h)
{
	if (h->status < 100 || h->status > 599 ||
	    (h->keep_alive != 0 && h->keep_alive != 1) ||
	    (h->chunked && h->has_length) ||
	    (!h->has_length && h->length != 0) ||
	    h->length >= 1000000000000000000ULL)
		abort();
}

/* Read the body in pieces of step bytes (0: all at once), as a caller. */
static void
fuzz_body(const struct h1_head *h, const char *in, size_t len, size_t step,
    struct fuzz_read *r)
{
	struct h1_body	 b;
	const char	*data;
	char		*piece;
	size_t		 off = 0, plen, used, dlen;
	ssize_t		 n;

	memset(r, 0, sizeof(*r));
	r->out = fuzz_copy("", len);
	h1_body_init(&b, h);
	while (off < len && !b.done) {
		plen = step == 0 || len - off < step ? len - off : step;
		piece = fuzz_copy(in + off, plen);
		for (used = 0; used < plen && !b.done; used += n) {
			n = h1_body_read(&b, piece + used, plen - used, &data,
			    &dlen);
			if (n == -1) {
				free(piece);
				r->consumed = -1;
				return;
			}
			/* Progress, and a span within what was consumed. */
			if (n <= 0 || (size_t)n > plen - used)
				abort();
			if (dlen > 0) {
				if (data < piece + used ||
				    data + dlen > piece + used + n ||
				    r->outlen + dlen > len)
					abort();
				memcpy(r->out + r->outlen, data, dlen);
				r->outlen += dlen;
			}
		}
		free(piece);
		off += used;
	}
	/* Once whole, nothing more is the body's. */
	if (b.done && (h1_body_read(&b, "x", 1, &data, &dlen) != 0 ||
	    dlen != 0))
		abort();
	r->consumed = off;
	r->done = b.done;
	r->eof = h1_body_eof(&b);
	if (b.mode == H1_BODY_CLOSE && (r->outlen != len || !r->eof))
		abort();
	if (b.mode == H1_BODY_LENGTH &&
	    r->outlen != (len < h->length ? len : h->length))
		abort();
}

static void
fuzz_same(const struct fuzz_read *a, const struct fuzz_read *b)
{
	/* The data before a framing error arrives however it is cut. */
	if (a->consumed != b->consumed || a->outlen != b->outlen ||
	    memcmp(a->out, b->out, a->outlen) != 0)
		abort();
	if (a->consumed != -1 && (a->done != b->done || a->eof != b->eof))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct h1_head	 chunked = {
		.status = 200, .keep_alive = 1, .chunked = 1
	};
	struct fuzz_head		 fh;
	struct fuzz_read		 whole, split, bytes;
	struct h1_head			 h;
	const struct h1_head		*hp;
	const char			*in;
	char				*copy;
	size_t				 len, step;
	ssize_t				 n;
	int				 ok;

	if (size < 1)
		return 0;
	step = data[0] == 0 ? 1 : data[0];
	in = (const char *)data + 1;
	len = size - 1;

	/* The whole input as a head: only one that ends right at len. */
	copy = fuzz_copy(in, len);
	memset(&fh, 0, sizeof(fh));
	fh.buf = copy;
	fh.len = len;
	fh.last = copy;
	if (h1_head_parse(copy, len, &h, fuzz_line, &fh) == 0) {
		fuzz_check_head(&h);
		if (len <= H1_HEAD_MAX && h1_head_length(copy, len) !=
		    (ssize_t)len)
			abort();
	}
	n = h1_head_length(copy, len);
	free(copy);
	if (n == 0 && len >= H1_HEAD_MAX)
		abort();
	if (n == -1 && len < H1_HEAD_MAX)
		abort();

	ok = 0;
	if (n > 0) {
		if ((size_t)n > len || n > H1_HEAD_MAX || in[n - 1] != '\n' ||
		    h1_head_length(in, n - 1) != 0 ||
		    h1_head_length(in, n) != n)
			abort();
		copy = fuzz_copy(in, n);
		fh.buf = copy;
		fh.len = n;
		fh.last = copy;
		ok = h1_head_parse(copy, n, &h, fuzz_line, &fh) == 0;
		free(copy);
		in += n;
		len -= n;
	}
	/* No head: the rest as a chunked body, for the framing's sake. */
	if (ok) {
		fuzz_check_head(&h);
		hp = &h;
	} else
		hp = &chunked;

	fuzz_body(hp, in, len, 0, &whole);
	fuzz_body(hp, in, len, step, &split);
	fuzz_body(hp, in, len, 1, &bytes);
	fuzz_same(&whole, &split);
	fuzz_same(&whole, &bytes);
	free(whole.out);
	free(split.out);
	free(bytes.out);
	return 0;
}
