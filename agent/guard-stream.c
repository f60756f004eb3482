/*
 * The stream filter: an answer's text runs through the output guardrails
 * as it arrives. Only what an unfinished match may still need is held
 * back, so a key split over many chunks is caught whole while the rest
 * of the text flows on at once.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"
#include "xmalloc.h"

/* Text already sent that stays in front of the held text as context. */
#define GUARD_STREAM_CTX	64

struct guard_stream {
	const struct guard_list	*list;
	struct guard_report	*report;
	struct guard_scan	 sc;
	char			*buf;		/* context, then held text */
	size_t			 len;
	size_t			 cap;
	size_t			 ctx;
	char			*out;
	size_t			 outlen;
	size_t			 outcap;
	uint64_t		 chars;		/* released, for length limits */
	uint64_t		 logged;	/* length guardrails reported */
	int			 spent;
};

struct guard_stream *
guard_stream_new(const struct guard_list *list, struct guard_report *report)
{
	struct guard_stream	*gs;

	gs = xcalloc(1, sizeof(*gs));
	gs->list = list;
	gs->report = report;
	gs->cap = 256;
	gs->buf = xmalloc(gs->cap);
	return gs;
}

void
guard_stream_free(struct guard_stream *gs)
{
	if (gs == NULL)
		return;
	guard_scan_clear(&gs->sc);
	free(gs->buf);
	free(gs->out);
	free(gs);
}

size_t
guard_stream_held(const struct guard_stream *gs)
{
	return gs->len - gs->ctx;
}

/* Move p back to the start of any match it would cut in two. */
static size_t
guard_stream_settle(const struct guard_scan *sc, size_t p)
{
	size_t	i;
	int	moved;

	do {
		moved = 0;
		for (i = 0; i < sc->nm && sc->m[i].start < p; i++) {
			if (sc->m[i].end > p) {
				p = sc->m[i].start;
				moved = 1;
			}
		}
	} while (moved);
	return p;
}

/*
 * Length limits on what would be released, buf[ctx..p): a blocking one
 * cuts p where its limit is reached; a logging one is reported once.
 */
static size_t
guard_stream_length(struct guard_stream *gs, size_t p, int *blocked)
{
	const struct guard	*g;
	uint64_t		 n, limit;
	size_t			 i, cut;

	n = gs->chars + guard_utf8_chars(gs->buf + gs->ctx, p - gs->ctx);
	for (i = 0; gs->list != NULL && i < gs->list->n; i++) {
		g = gs->list->guards[i];
		if (guard_kind(g) != GUARD_LENGTH || guard_max_chars(g) <= 0 ||
		    n <= (limit = (uint64_t)guard_max_chars(g)))
			continue;
		if (guard_action(g) != GUARD_BLOCK) {
			if (i < 64 && !(gs->logged & (1ull << i))) {
				gs->logged |= 1ull << i;
				guard_report_add(gs->report, g, GUARD_TOO_LONG,
				    1);
			}
			continue;
		}
		/* Release up to the limit's character, not past it. */
		for (cut = gs->ctx, n = gs->chars; cut < p; cut++) {
			if (((unsigned char)gs->buf[cut] & 0xc0) != 0x80 &&
			    ++n > limit)
				break;
		}
		if (!*blocked) {
			guard_report_add(gs->report, g, GUARD_TOO_LONG, 1);
			gs->report->blocked_by = guard_key(g);
		}
		*blocked = 1;
		p = guard_stream_settle(&gs->sc, cut);
		n = gs->chars + guard_utf8_chars(gs->buf + gs->ctx,
		    p - gs->ctx);
	}
	return p;
}

/*
 * Where a UTF-8 character that has not fully arrived starts at the end of
 * buf[0..len), or len. The patterns see invalid UTF-8 there, not the
 * start of a match, so that character waits for the rest of its bytes.
 */
static size_t
guard_stream_complete(const char *buf, size_t len)
{
	size_t		i, need;
	unsigned char	c;

	for (i = len; i > 0 && len - i < 4; i--) {
		c = (unsigned char)buf[i - 1];
		if ((c & 0xc0) == 0x80)
			continue;
		need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
		return len - (i - 1) < need ? i - 1 : len;
	}
	return len;
}

static enum guard_result
guard_stream_run(struct guard_stream *gs, int final, const char **out,
    size_t *outlen)
{
	struct guard_scan		*sc = &gs->sc;
	const struct guard_match	*b;
	size_t				 p, keep, nred;
	int				 blocked = 0;

	gs->outlen = 0;
	sc->s = gs->buf;
	sc->len = final ? gs->len : guard_stream_complete(gs->buf, gs->len);
	if (sc->len < gs->ctx)
		sc->len = gs->ctx;
	sc->from = gs->ctx;
	sc->final = final;
	guard_list_scan(gs->list, sc);
	if (!final && gs->len - sc->hold > GUARD_STREAM_MAX_HOLD) {
		/* Held too long: judge what there is as if it were all. */
		sc->final = final = 1;
		guard_list_scan(gs->list, sc);
	}
	p = guard_stream_settle(sc, final ? gs->len : sc->hold);
	if (p > sc->len)
		p = sc->len;
	/* Never split a UTF-8 character between two releases. */
	while (!final && p > gs->ctx && p < gs->len &&
	    ((unsigned char)gs->buf[p] & 0xc0) == 0x80)
		p--;
	if ((b = guard_list_blocked(sc, gs->len)) != NULL) {
		guard_report_add(gs->report, b->guard, b->type, 1);
		gs->report->blocked_by = guard_key(b->guard);
		blocked = 1;
		if (b->start < p)
			p = guard_stream_settle(sc, b->start);
	}
	p = guard_stream_length(gs, p, &blocked);
	nred = guard_list_apply(sc, gs->ctx, p, gs->report, &gs->out,
	    &gs->outlen, &gs->outcap);
	gs->chars += guard_utf8_chars(gs->buf + gs->ctx, p - gs->ctx);

	/* Keep a little of what went out as the next scan's context. */
	keep = p > GUARD_STREAM_CTX ? p - GUARD_STREAM_CTX : 0;
	memmove(gs->buf, gs->buf + keep, gs->len - keep);
	gs->len -= keep;
	gs->ctx = p - keep;

	*out = gs->out != NULL ? gs->out : "";
	*outlen = gs->outlen;
	if (blocked) {
		gs->spent = 1;
		return GUARD_BLOCKED;
	}
	return nred > 0 ? GUARD_REDACTED : GUARD_PASS;
}

enum guard_result
guard_stream_feed(struct guard_stream *gs, const char *data, size_t len,
    const char **out, size_t *outlen)
{
	*out = "";
	*outlen = 0;
	if (gs->spent)
		return GUARD_BLOCKED;
	if (len == 0)
		return GUARD_PASS;
	if (gs->len + len > gs->cap) {
		gs->cap = (gs->len + len) * 2;
		gs->buf = xreallocarray(gs->buf, 1, gs->cap);
	}
	memcpy(gs->buf + gs->len, data, len);
	gs->len += len;
	return guard_stream_run(gs, 0, out, outlen);
}

enum guard_result
guard_stream_finish(struct guard_stream *gs, const char **out,
    size_t *outlen)
{
	*out = "";
	*outlen = 0;
	if (gs->spent)
		return GUARD_BLOCKED;
	return guard_stream_run(gs, 1, out, outlen);
}
