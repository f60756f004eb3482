/* libFuzzer target for agent/sse.c: any split gives the same events. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sse.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The events seen so far, each followed by its length, to compare runs. */
struct fuzz_log {
	char	*buf;
	size_t	 len;
	char	*cat;		/* the events back to back */
	size_t	 total;
};

static int
fuzz_collect(void *arg, const char *event, size_t len)
{
	struct fuzz_log	*log = arg;
	char		*dst;
	ssize_t		 n;

	if (len == 0)
		abort();
	log->buf = realloc(log->buf, log->len + len + sizeof len);
	if (log->buf == NULL)
		abort();
	memcpy(log->buf + log->len, event, len);
	memcpy(log->buf + log->len + len, &len, sizeof len);
	log->len += len + sizeof len;
	log->cat = realloc(log->cat, log->total + len);
	if (log->cat == NULL)
		abort();
	memcpy(log->cat + log->total, event, len);
	log->total += len;

	/* Helpers: the data always fits in the event's size plus a NUL. */
	if ((dst = malloc(len + 1)) == NULL)
		abort();
	n = sse_event_data(event, len, dst, len + 1);
	if (n < 0 || (size_t)n > len || dst[n] != '\0')
		abort();
	if (sse_event_is_done(event, len) &&
	    (n != 6 || memcmp(dst, "[DONE]", 6) != 0))
		abort();
	if (n > 0 && sse_event_data(event, len, dst, n) != -1)
		abort();
	free(dst);
	return 0;
}

/* Feed data in pieces cut at the given points; returns sse_feed's result. */
static int
fuzz_run(const char *data, size_t len, size_t max, const size_t *cut,
    size_t ncut, struct fuzz_log *log, size_t *pending)
{
	struct sse	*sse;
	char		*piece;
	size_t		 i, from = 0, to;
	int		 rc = 0;

	sse = sse_new(max);
	for (i = 0; i <= ncut && rc == 0; i++) {
		to = i < ncut ? cut[i] : len;
		/* Exact-size copies, so ASan catches reads beyond a piece. */
		if ((piece = malloc(to - from + 1)) == NULL)
			abort();
		memcpy(piece, data + from, to - from);
		rc = sse_feed(sse, piece, to - from, fuzz_collect, log);
		free(piece);
		from = to;
	}
	if (rc == 0)
		rc = sse_finish(sse, fuzz_collect, log);
	*pending = sse_pending(sse);
	sse_free(sse);
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct fuzz_log	 one = { 0 }, split = { 0 }, bytes = { 0 };
	size_t		 cut[3], max, i, p1, p2, p3;
	int		 rc1, rc2, rc3;

	if (len < 4)
		return 0;
	max = 1 + data[0] * 4;
	cut[0] = data[1];
	cut[1] = data[2];
	cut[2] = data[3];
	data += 4;
	len -= 4;
	for (i = 0; i < 3; i++)
		if (cut[i] > len)
			cut[i] = len;
	if (cut[1] < cut[0])
		cut[1] = cut[0];
	if (cut[2] < cut[1])
		cut[2] = cut[1];

	rc1 = fuzz_run((const char *)data, len, max, NULL, 0, &one, &p1);
	rc2 = fuzz_run((const char *)data, len, max, cut, 3, &split, &p2);
	if (rc1 != rc2)
		abort();
	if (one.len != split.len ||
	    (one.len > 0 && memcmp(one.buf, split.buf, one.len) != 0))
		abort();
	if (rc1 == 0) {
		/* Nothing lost, nothing added. */
		if (one.total + p1 != len || p1 != p2)
			abort();
		if (one.total > 0 && memcmp(one.cat, data, one.total) != 0)
			abort();
	}

	/* Byte by byte, for short inputs. */
	if (len <= 256) {
		size_t	cuts[256];

		for (i = 0; i + 1 < len; i++)
			cuts[i] = i + 1;
		rc3 = fuzz_run((const char *)data, len, max, cuts,
		    len ? len - 1 : 0, &bytes, &p3);
		if (rc3 != rc1 || bytes.len != one.len || (one.len > 0 &&
		    memcmp(one.buf, bytes.buf, one.len) != 0))
			abort();
	}
	free(one.buf);
	free(one.cat);
	free(split.buf);
	free(split.cat);
	free(bytes.buf);
	free(bytes.cat);
	return 0;
}
