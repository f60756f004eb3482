/*
 * libFuzzer target for agent/guard.c, guard-fold.c and guard-stream.c:
 * the first byte picks the chunk size and a disguise, the rest is an
 * answer's text. The disguise writes its ASCII in fullwidth forms, or
 * puts a zero-width space after each ASCII character: the guardrails,
 * which match on the normalised view, must find exactly what they find
 * in the plain text. However the text is split, the stream filter gives
 * what one pass over the whole text gives (no match lost), and
 * guard_text() leaves nothing to redact; never a crash, and the stream
 * never writes more than the input plus its markers. The view's map
 * stays inside the text and in order, and redaction keeps every byte no
 * match covers.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_MARKER_MAX	32	/* "[REDACTED:KEYWORD]" and then some */
#define FUZZ_NGUARDS	3

static struct guard	*fuzz_guards[FUZZ_NGUARDS];
static const struct guard *fuzz_gp[FUZZ_NGUARDS];
static struct guard_list fuzz_list = { fuzz_gp, FUZZ_NGUARDS };

static void
fuzz_init(void)
{
	static const char *const words[] = { "secret plan", "zürich",
	    "ｚｅｂｒａ", "cafe\xcc\x81" };
	static const char *const patterns[] = { "ACME-[0-9]{4}", "x+y",
	    "\xc3\xa9+" };
	struct guard_spec	 specs[FUZZ_NGUARDS] = {
		{ .key = "pii", .kind = GUARD_PII, .action = GUARD_REDACT },
		{ .key = "kw", .kind = GUARD_KEYWORDS, .action = GUARD_REDACT,
		  .words = words, .nwords = 4 },
		{ .key = "re", .kind = GUARD_REGEX, .action = GUARD_REDACT,
		  .patterns = patterns, .npatterns = 3 },
	};
	char			 err[256];
	size_t			 i;

	for (i = 0; i < FUZZ_NGUARDS; i++) {
		if ((fuzz_guards[i] = guard_new(&specs[i], err,
		    sizeof(err))) == NULL) {
			fprintf(stderr, "guard_new: %s\n", err);
			abort();
		}
		fuzz_gp[i] = fuzz_guards[i];
	}
}

/* The text in disguise: fullwidth ASCII (1), a ZWSP after ASCII (2). */
static char *
fuzz_disguise(const char *s, size_t len, int how, size_t *outlen)
{
	char	*out = malloc(3 * len + 3 * len + 1), *p = out;
	size_t	 i;

	for (i = 0; i < len; i++) {
		unsigned char	c = s[i];

		if (how == 1 && c >= 0x21 && c <= 0x7e) {
			unsigned	cp = 0xff01 + (c - 0x21);

			*p++ = 0xe0 | cp >> 12;
			*p++ = 0x80 | (cp >> 6 & 0x3f);
			*p++ = 0x80 | (cp & 0x3f);
		} else
			*p++ = c;
		if (how == 2 && c < 0x80) {
			memcpy(p, "\xe2\x80\x8b", 3);
			p += 3;
		}
	}
	*outlen = p - out;
	return out;
}

/* The view's map: inside the text, in order, every change recorded. */
static void
fuzz_check_map(const char *text, size_t len)
{
	struct guard_fold	 f;
	size_t			 v, a, b, prev_a = 0, prev_b = 0;

	memset(&f, 0, sizeof(f));
	if (guard_fold_build(&f, text, len, 0, 1)) {
		if (f.olen != len || f.len > 4 * len)
			abort();
		/*
		 * Each view byte v comes from text[start(v)..end(v + 1)),
		 * not empty; both ends only move forward.
		 */
		for (v = 0; v <= f.len; v++) {
			a = guard_fold_start(&f, v);
			b = guard_fold_end(&f, v);
			if (a > len || b > len || a < prev_a || b < prev_b ||
			    (v > 0 && b <= prev_a))
				abort();
			prev_a = a;
			prev_b = b;
		}
		if (guard_fold_start(&f, f.len) != len ||
		    guard_fold_end(&f, 0) != 0)
			abort();
	} else if (f.olen != len)
		abort();
	guard_fold_clear(&f);
}

/*
 * guard_text() scans what it redacted again until nothing more is found:
 * its output holds nothing a guardrail would still redact (none of these
 * matches its own marker, so it never gives up and blocks).
 */
static void
fuzz_settled(const char *text, size_t len)
{
	struct guard_report	 r;
	struct guard_scan	 sc;
	char			*out;
	size_t			 outlen;
	enum guard_result	 res;

	memset(&r, 0, sizeof(r));
	res = guard_text(&fuzz_list, text, len, &out, &outlen, &r);
	if (res == GUARD_BLOCKED || (res == GUARD_REDACTED) != (out != NULL))
		abort();
	if (res == GUARD_PASS)
		return;
	memset(&sc, 0, sizeof(sc));
	sc.s = out;
	sc.len = outlen;
	sc.final = 1;
	guard_list_scan(&fuzz_list, &sc);
	if (sc.nm != 0)
		abort();
	guard_scan_clear(&sc);
	free(out);
}

/*
 * The whole text at once, one pass (as the stream filter does): the
 * redacted text keeps every byte outside the matches, in order, each run
 * of matches one marker. Returns the output (caller frees) and fills
 * report.
 */
static char *
fuzz_whole(const char *text, size_t len, size_t *outlen,
    struct guard_report *r)
{
	struct guard_scan	 sc;
	char			*out = NULL;
	const char		*p, *end;
	size_t			 i, pos = 0, s, e, cap = 0;

	memset(r, 0, sizeof(*r));
	*outlen = 0;
	memset(&sc, 0, sizeof(sc));
	sc.s = text;
	sc.len = len;
	sc.final = 1;
	guard_list_scan(&fuzz_list, &sc);
	if (guard_list_blocked(&sc, len) != NULL)
		abort();
	guard_list_apply(&sc, 0, len, r, &out, outlen, &cap);
	p = out;
	end = out + *outlen;
	for (i = 0; i < sc.nm;) {
		s = sc.m[i].start;
		e = sc.m[i].end;
		if (s >= e || e > len || s < pos)
			abort();
		for (i++; i < sc.nm && sc.m[i].start < e; i++)
			if (sc.m[i].end > e)
				e = sc.m[i].end;
		if ((size_t)(end - p) < s - pos ||
		    memcmp(p, text + pos, s - pos) != 0)
			abort();
		p += s - pos;
		if ((size_t)(end - p) < 10 || memcmp(p, "[REDACTED:", 10) != 0)
			abort();
		while (p < end && *p != ']')
			p++;
		if (p++ == end)
			abort();
		pos = e;
	}
	if ((size_t)(end - p) != len - pos || memcmp(p, text + pos,
	    len - pos) != 0)
		abort();
	guard_scan_clear(&sc);
	fuzz_settled(text, len);
	return out;
}

/* However it is split, the stream gives what the whole text gives. */
static void
fuzz_stream(const char *text, size_t len, size_t chunk, const char *want,
    size_t wantlen)
{
	struct guard_report	 rs;
	struct guard_stream	*gs;
	const char		*out;
	char			*got;
	size_t			 outlen, total = 0, pos, n, markers = 0, i;

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
	if (total != wantlen || memcmp(got, want, total) != 0) {
		fprintf(stderr, "stream (chunks of %zu): \"", chunk);
		fwrite(got, 1, total, stderr);
		fprintf(stderr, "\"\nwhole: \"");
		fwrite(want, 1, wantlen, stderr);
		fprintf(stderr, "\"\n");
		abort();
	}
	free(got);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guard_report	 r, rd;
	const char		*text;
	char			*want, *dis, *dwant;
	size_t			 len, wantlen, dlen, dwantlen, chunk, i;
	int			 how;

	if (fuzz_guards[0] == NULL)
		fuzz_init();
	if (size < 1)
		return 0;
	chunk = (data[0] & 0x1f) % 17 + 1;
	how = (data[0] >> 5) % 3;
	text = (const char *)data + 1;
	len = size - 1;

	fuzz_check_map(text, len);
	want = fuzz_whole(text, len, &wantlen, &r);
	fuzz_stream(text, len, chunk, want, wantlen);
	if (how != 0) {
		/* In disguise: the same hits, found in the disguised text. */
		dis = fuzz_disguise(text, len, how, &dlen);
		fuzz_check_map(dis, dlen);
		dwant = fuzz_whole(dis, dlen, &dwantlen, &rd);
		if (rd.nhits != r.nhits || rd.dropped != r.dropped)
			abort();
		for (i = 0; i < r.nhits; i++)
			if (rd.hits[i].key != r.hits[i].key ||
			    rd.hits[i].type != r.hits[i].type ||
			    rd.hits[i].count != r.hits[i].count)
				abort();
		fuzz_stream(dis, dlen, chunk, dwant, dwantlen);
		free(dwant);
		free(dis);
	}
	free(want);
	return 0;
}
