/*
 * libFuzzer target for agent/guard.c, guard-fold.c and guard-stream.c:
 * the first byte picks the chunk size and a disguise, the rest is an
 * answer's text. The disguise writes its ASCII in fullwidth forms, puts
 * a zero-width space after each ASCII character, or writes the ASCII
 * letters that have one as their Cyrillic look-alikes: the guardrails,
 * which match on the normalised and look-alike views, must find exactly
 * what they find in the plain text. However the text is split, the stream filter gives
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
#define FUZZ_NGUARDS	4

static struct guard	*fuzz_guards[FUZZ_NGUARDS];
static const struct guard *fuzz_gp[3], *fuzz_gp_ascii[3];
static struct guard_list fuzz_list = { fuzz_gp, 3 };
/*
 * For the look-alike disguise: patterns of ASCII only. A pattern's "é"
 * cannot match a Cyrillic 'е' with an accent, which looks the same.
 */
static struct guard_list fuzz_list_ascii = { fuzz_gp_ascii, 3 };

static void
fuzz_init(void)
{
	static const char *const words[] = { "secret plan", "zürich",
	    "ｚｅｂｒａ", "cafe\xcc\x81" };
	static const char *const patterns[] = { "ACME-[0-9]{4}", "x+y",
	    "\xc3\xa9+" };
	static const char *const ascii[] = { "ACME-[0-9]{4}", "x+y" };
	struct guard_spec	 specs[FUZZ_NGUARDS] = {
		{ .key = "pii", .kind = GUARD_PII, .action = GUARD_REDACT },
		{ .key = "kw", .kind = GUARD_KEYWORDS, .action = GUARD_REDACT,
		  .words = words, .nwords = 4 },
		{ .key = "re", .kind = GUARD_REGEX, .action = GUARD_REDACT,
		  .patterns = patterns, .npatterns = 3 },
		{ .key = "re", .kind = GUARD_REGEX, .action = GUARD_REDACT,
		  .patterns = ascii, .npatterns = 2 },
	};
	char			 err[256];
	size_t			 i;

	for (i = 0; i < FUZZ_NGUARDS; i++) {
		if ((fuzz_guards[i] = guard_new(&specs[i], err,
		    sizeof(err))) == NULL) {
			fprintf(stderr, "guard_new: %s\n", err);
			abort();
		}
	}
	fuzz_gp[0] = fuzz_gp_ascii[0] = fuzz_guards[0];
	fuzz_gp[1] = fuzz_gp_ascii[1] = fuzz_guards[1];
	fuzz_gp[2] = fuzz_guards[2];
	fuzz_gp_ascii[2] = fuzz_guards[3];
}

/* ASCII letters and their Cyrillic look-alikes (lookalike.h has them). */
static const struct {
	char		c;
	unsigned	cp;
} fuzz_cyrillic[] = {
	{ 'a', 0x430 }, { 'c', 0x441 }, { 'e', 0x435 }, { 'i', 0x456 },
	{ 'j', 0x458 }, { 'o', 0x43e }, { 'p', 0x440 }, { 's', 0x455 },
	{ 'x', 0x445 }, { 'y', 0x443 }, { 'A', 0x410 }, { 'B', 0x412 },
	{ 'C', 0x421 }, { 'E', 0x415 }, { 'H', 0x41d }, { 'K', 0x41a },
	{ 'M', 0x41c }, { 'O', 0x41e }, { 'P', 0x420 }, { 'T', 0x422 },
	{ 'X', 0x425 },
};

/*
 * The text in disguise: fullwidth ASCII (1), a ZWSP after ASCII (2),
 * Cyrillic look-alikes (3).
 */
static char *
fuzz_disguise(const char *s, size_t len, int how, size_t *outlen)
{
	char	*out = malloc(3 * len + 3 * len + 1), *p = out;
	size_t	 i, k;

	for (i = 0; i < len; i++) {
		unsigned char	c = s[i];

		for (k = 0; how == 3 && k < sizeof(fuzz_cyrillic) /
		    sizeof(fuzz_cyrillic[0]); k++)
			if (fuzz_cyrillic[k].c == (char)c)
				break;
		if (how == 3 && k < sizeof(fuzz_cyrillic) /
		    sizeof(fuzz_cyrillic[0])) {
			*p++ = 0xc0 | fuzz_cyrillic[k].cp >> 6;
			*p++ = 0x80 | (fuzz_cyrillic[k].cp & 0x3f);
		} else if (how == 1 && c >= 0x21 && c <= 0x7e) {
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

/*
 * A view's map: each view byte v comes from text[start(v)..end(v + 1)),
 * not empty; both ends only move forward, and stay inside the text.
 */
static void
fuzz_check_view(const struct guard_fold *f, size_t len)
{
	size_t	v, a, b, prev_a = 0, prev_b = 0;

	if (f->olen != len || f->len > 4 * len)
		abort();
	for (v = 0; v <= f->len; v++) {
		a = guard_fold_start(f, v);
		b = guard_fold_end(f, v);
		if (a > len || b > len || a < prev_a || b < prev_b ||
		    (v > 0 && b <= prev_a))
			abort();
		prev_a = a;
		prev_b = b;
	}
	if (guard_fold_start(f, f->len) != len || guard_fold_end(f, 0) != 0)
		abort();
}

/* Both views' maps: inside the text, in order, every change recorded. */
static void
fuzz_check_map(const char *text, size_t len)
{
	struct guard_fold	 f;

	memset(&f, 0, sizeof(f));
	f.looks = 1;
	if (guard_fold_build(&f, text, len, 0, 1))
		fuzz_check_view(&f, len);
	else if (f.olen != len)
		abort();
	if (f.look != NULL && f.look->active)
		fuzz_check_view(f.look, len);
	guard_fold_clear(&f);
}

/*
 * guard_text() scans what it redacted again until nothing more is found:
 * its output holds nothing a guardrail would still redact (none of these
 * matches its own marker, so it never gives up and blocks).
 */
static void
fuzz_settled(const struct guard_list *l, const char *text, size_t len)
{
	struct guard_report	 r;
	struct guard_scan	 sc;
	char			*out;
	size_t			 outlen;
	enum guard_result	 res;

	memset(&r, 0, sizeof(r));
	res = guard_text(l, text, len, &out, &outlen, &r);
	if (res == GUARD_BLOCKED || (res == GUARD_REDACTED) != (out != NULL))
		abort();
	if (res == GUARD_PASS)
		return;
	memset(&sc, 0, sizeof(sc));
	sc.s = out;
	sc.len = outlen;
	sc.final = 1;
	guard_list_scan(l, &sc);
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
fuzz_whole(const struct guard_list *l, const char *text, size_t len,
    size_t *outlen, struct guard_report *r)
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
	guard_list_scan(l, &sc);
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
	fuzz_settled(l, text, len);
	return out;
}

/* However it is split, the stream gives what the whole text gives. */
static void
fuzz_stream(const struct guard_list *l, const char *text, size_t len,
    size_t chunk, const char *want, size_t wantlen)
{
	struct guard_report	 rs;
	struct guard_stream	*gs;
	const char		*out;
	char			*got;
	size_t			 outlen, total = 0, pos, n, markers = 0, i;

	memset(&rs, 0, sizeof(rs));
	got = malloc(len * 2 + 64 * (len + 1));
	gs = guard_stream_new(l, &rs);
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

/*
 * Look-alikes hide no keyword and no pattern: each such hit of the plain
 * text is found as often in disguise (there may be more). Not so for the
 * PII detectors, whose boundaries differ between the views: in the NFKC
 * view a letter not ASCII ends a number or an address ("рDE89..."
 * holds an IBAN), in the look-alike view its look-alike does not
 * ("pDE89...", as in plain ASCII). The unit and scenario tests check
 * addresses written in look-alikes.
 */
static void
fuzz_no_less(const struct guard_report *r, const struct guard_report *rd)
{
	size_t	i, k;

	if (r->dropped != 0 || rd->dropped != 0)
		return;
	for (i = 0; i < r->nhits; i++) {
		if (r->hits[i].type != GUARD_KEYWORD &&
		    r->hits[i].type != GUARD_PATTERN)
			continue;
		for (k = 0; k < rd->nhits; k++)
			if (rd->hits[k].key == r->hits[i].key &&
			    rd->hits[k].type == r->hits[i].type)
				break;
		if (k == rd->nhits || rd->hits[k].count < r->hits[i].count)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guard_report	 r, rd;
	const struct guard_list	*l;
	const char		*text;
	char			*want, *dis, *dwant;
	size_t			 len, wantlen, dlen, dwantlen, chunk, i;
	int			 how;

	if (fuzz_guards[0] == NULL)
		fuzz_init();
	if (size < 1)
		return 0;
	chunk = (data[0] & 0x1f) % 17 + 1;
	how = (data[0] >> 5) % 4;
	text = (const char *)data + 1;
	len = size - 1;

	l = how == 3 ? &fuzz_list_ascii : &fuzz_list;
	fuzz_check_map(text, len);
	want = fuzz_whole(l, text, len, &wantlen, &r);
	fuzz_stream(l, text, len, chunk, want, wantlen);
	if (how != 0) {
		/* In disguise: the same hits, found in the disguised text. */
		dis = fuzz_disguise(text, len, how, &dlen);
		fuzz_check_map(dis, dlen);
		dwant = fuzz_whole(l, dis, dlen, &dwantlen, &rd);
		if (how == 3)
			fuzz_no_less(&r, &rd);
		else if (rd.nhits != r.nhits || rd.dropped != r.dropped)
			abort();
		for (i = 0; how != 3 && i < r.nhits; i++)
			if (rd.hits[i].key != r.hits[i].key ||
			    rd.hits[i].type != r.hits[i].type ||
			    rd.hits[i].count != r.hits[i].count)
				abort();
		fuzz_stream(l, dis, dlen, chunk, dwant, dwantlen);
		free(dwant);
		free(dis);
	}
	free(want);
	return 0;
}
