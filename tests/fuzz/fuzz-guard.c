/*
 * libFuzzer target for agent/guard-stream.c: the first byte picks the
 * chunk size, the rest is an answer's text. However it is split, the
 * stream filter gives what the whole text gives at once (no match lost),
 * never crashes, and never writes more than the input plus its markers.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_MARKER_MAX	32	/* "[REDACTED:KEYWORD]" and then some */

static struct guard	*fuzz_guards[3];
static const struct guard *fuzz_gp[3];
static struct guard_list fuzz_list = { fuzz_gp, 3 };

static void
fuzz_init(void)
{
	static const char *const words[] = { "secret plan", "zürich" };
	static const char *const patterns[] = { "ACME-[0-9]{4}", "x+y" };
	struct guard_spec	 specs[3] = {
		{ .key = "pii", .kind = GUARD_PII, .action = GUARD_REDACT },
		{ .key = "kw", .kind = GUARD_KEYWORDS, .action = GUARD_REDACT,
		  .words = words, .nwords = 2 },
		{ .key = "re", .kind = GUARD_REGEX, .action = GUARD_REDACT,
		  .patterns = patterns, .npatterns = 2 },
	};
	char			 err[256];
	size_t			 i;

	for (i = 0; i < 3; i++) {
		if ((fuzz_guards[i] = guard_new(&specs[i], err,
		    sizeof(err))) == NULL) {
			fprintf(stderr, "guard_new: %s\n", err);
			abort();
		}
		fuzz_gp[i] = fuzz_guards[i];
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guard_report	 r, rs;
	struct guard_stream	*gs;
	const char		*text, *out;
	char			*want, *got;
	size_t			 len, wantlen, outlen, total = 0, pos, n, chunk;
	size_t			 markers = 0, i;
	enum guard_result	 res;

	if (fuzz_guards[0] == NULL)
		fuzz_init();
	if (size < 1)
		return 0;
	chunk = (data[0] % 17) + 1;
	text = (const char *)data + 1;
	len = size - 1;

	memset(&r, 0, sizeof(r));
	res = guard_text(&fuzz_list, text, len, &want, &wantlen, &r);
	if (res == GUARD_BLOCKED)
		abort();
	if (res == GUARD_PASS) {
		want = malloc(len + 1);
		memcpy(want, text, len);
		wantlen = len;
	}

	memset(&rs, 0, sizeof(rs));
	got = malloc(len * 2 + 64 * (len + 1));
	gs = guard_stream_new(&fuzz_list, &rs);
	for (pos = 0; pos < len; pos += n) {
		n = len - pos < chunk ? len - pos : chunk;
		if (guard_stream_feed(gs, text + pos, n, &out, &outlen) ==
		    GUARD_BLOCKED)
			abort();
		memcpy(got + total, out, outlen);
		total += outlen;
		if (guard_stream_held(gs) > len)
			abort();
	}
	if (guard_stream_finish(gs, &out, &outlen) == GUARD_BLOCKED)
		abort();
	memcpy(got + total, out, outlen);
	total += outlen;
	guard_stream_free(gs);

	/* Never longer than the input plus the markers put in. */
	for (i = 0; i < rs.nhits; i++)
		markers += rs.hits[i].count;
	if (total > len + markers * FUZZ_MARKER_MAX)
		abort();
	/* The same redactions as the whole text at once. */
	if (total != wantlen || memcmp(got, want, total) != 0) {
		fprintf(stderr, "stream (chunks of %zu): \"", chunk);
		fwrite(got, 1, total, stderr);
		fprintf(stderr, "\"\nwhole: \"");
		fwrite(want, 1, wantlen, stderr);
		fprintf(stderr, "\"\n");
		abort();
	}
	free(want);
	free(got);
	return 0;
}
