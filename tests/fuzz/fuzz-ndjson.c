/*
 * libFuzzer target for agent/ndjson.c: a stream fed in pieces whose sizes
 * the input picks. Whatever the bytes: every line ends with "\n" (the
 * last one from ndjson_finish() may not), none is longer than the limit,
 * and the lines put back together are the stream, byte for byte.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ndjson.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct fuzz_out {
	char	*buf;
	size_t	 len;
	size_t	 max;
	int	 finishing;
	size_t	 stop_at;	/* lines to take before saying stop; 0: never */
	size_t	 lines;
};

static int
fuzz_line(void *arg, const char *line, size_t len)
{
	struct fuzz_out	*o = arg;

	if (len == 0 && !o->finishing)
		abort();
	if (len > o->max || (!o->finishing && line[len - 1] != '\n') ||
	    (o->finishing && memchr(line, '\n', len) != NULL))
		abort();
	if (memchr(line, '\n', len) != line + len - 1 && !o->finishing)
		abort();
	memcpy(o->buf + o->len, line, len);
	o->len += len;
	return o->stop_at != 0 && ++o->lines == o->stop_at;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct fuzz_out	 o;
	struct ndjson	*nd;
	size_t		 i = 0, piece, fed = 0;
	int		 rc = 0;

	if (len < 3)
		return 0;
	memset(&o, 0, sizeof(o));
	o.max = 1 + data[0] * 4;
	o.stop_at = data[1] % 8;
	data += 2;
	len -= 2;
	o.buf = malloc(len + 1);
	nd = ndjson_new(o.max);
	while (i < len && rc == 0) {
		/* A piece of 1 to 16 bytes, the size taken from the data. */
		piece = 1 + (data[i] & 15);
		if (piece > len - i)
			piece = len - i;
		rc = ndjson_feed(nd, (const char *)data + i, piece, fuzz_line,
		    &o);
		i += piece;
		if (rc == 0)
			fed = i;
	}
	if (rc == 0) {
		o.finishing = 1;
		rc = ndjson_finish(nd, fuzz_line, &o);
		if (rc == 0 && (o.len != len || memcmp(o.buf, data, len) != 0))
			abort();
	}
	/* What was delivered is always a prefix of what was fed. */
	if (o.len > (rc == 0 ? fed : len) || memcmp(o.buf, data, o.len) != 0)
		abort();
	/* Spent: every later call fails. */
	if (rc != 0 && ndjson_feed(nd, "x\n", 2, fuzz_line, &o) != -1)
		abort();
	ndjson_free(nd);
	free(o.buf);
	return 0;
}
