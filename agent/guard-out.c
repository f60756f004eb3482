/*
 * What an output hook sends for a piece of a stream or an answer: a
 * growing buffer, reused from one event (or line) to the next; and a
 * buffered answer's texts through the list, the answer changed in place.
 */
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "guard.h"
#include "jscan.h"
#include "xmalloc.h"

static void
guard_out_room(struct guard_out *o, size_t n)
{
	if (o->len + n + 1 > o->cap) {
		o->cap = (o->len + n + 1) * 2;
		o->buf = xreallocarray(o->buf, 1, o->cap);
	}
}

void
guard_out_put(struct guard_out *o, const char *s, size_t n)
{
	guard_out_room(o, n);
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

void
guard_out_puts(struct guard_out *o, const char *s)
{
	guard_out_put(o, s, strlen(s));
}

/* s[0..n) as a JSON string literal. */
void
guard_out_quote(struct guard_out *o, const char *s, size_t n)
{
	size_t	need = 6 * n + 3;

	guard_out_room(o, need);
	o->len += jscan_quote(o->buf + o->len, need, s, n);
}

/* Text at buf[mark..len), put there raw, made a JSON string in place. */
void
guard_out_quote_from(struct guard_out *o, size_t mark)
{
	char	*plain = xstrndup(o->buf + mark, o->len - mark);
	size_t	 plainlen = o->len - mark;

	o->len = mark;
	guard_out_quote(o, plain, plainlen);
	free(plain);
}

void
guard_out_clear(struct guard_out *o)
{
	free(o->buf);
	memset(o, 0, sizeof(*o));
}

enum guard_result
guard_out_text(struct guard_edits *ed, const struct guard_list *list,
    const char *body, const struct jscan_span *text,
    const struct jscan_span *reason, size_t insert_at, const char *insert,
    struct guard_report *report)
{
	struct guard_edit	 a, b;
	enum guard_result	 res;
	char			*r = NULL;
	size_t			 rlen = 0, need = text->end - text->start;
	ssize_t			 tlen;

	if (need > ed->plaincap) {
		ed->plaincap = need;
		ed->plain = xreallocarray(ed->plain, 1, ed->plaincap);
	}
	if ((tlen = jscan_string(body, text, ed->plain, ed->plaincap)) < 0 ||
	    memchr(ed->plain, '\0', tlen) != NULL)
		return GUARD_FAILED;
	res = guard_text(list, ed->plain, tlen, &r, &rlen, report);
	if (res != GUARD_BLOCKED && guard_length(list,
	    guard_utf8_chars(ed->plain, tlen), 0, report) == GUARD_BLOCKED)
		res = GUARD_BLOCKED;
	if (res != GUARD_PASS && (ed->n + 2 > GUARD_EDITS_MAX ||
	    ed->ntext == GUARD_EDITS_MAX))
		res = GUARD_FAILED;
	if (res != GUARD_REDACTED) {
		free(r);
		if (res != GUARD_BLOCKED)
			return res;
		a = (struct guard_edit){ text->start, text->end, "\"\"" };
		b = reason != NULL ? (struct guard_edit){ reason->start,
		    reason->end, "\"content_filter\"" } :
		    (struct guard_edit){ insert_at, insert_at, insert };
		ed->e[ed->n++] = b.start < a.start ? b : a;
		ed->e[ed->n++] = b.start < a.start ? a : b;
		return res;
	}
	ed->e[ed->n++] = (struct guard_edit){ text->start, text->end, NULL };
	ed->text[ed->ntext] = r;
	ed->textlen[ed->ntext++] = rlen;
	return res;
}

char *
guard_out_apply(struct guard_edits *ed, const char *body, size_t len,
    size_t *outlen)
{
	struct guard_out	o;
	size_t			i, j = 0, pos = 0;

	*outlen = 0;
	if (ed->n == 0)
		return NULL;
	memset(&o, 0, sizeof(o));
	for (i = 0; i < ed->n; i++) {
		guard_out_put(&o, body + pos, ed->e[i].start - pos);
		if (ed->e[i].with != NULL)
			guard_out_puts(&o, ed->e[i].with);
		else {
			guard_out_quote(&o, ed->text[j], ed->textlen[j]);
			j++;
		}
		pos = ed->e[i].end;
	}
	guard_out_put(&o, body + pos, len - pos);
	*outlen = o.len;
	return o.buf;
}

void
guard_out_edits_free(struct guard_edits *ed)
{
	size_t	i;

	for (i = 0; i < ed->ntext; i++)
		free(ed->text[i]);
	free(ed->plain);
	ed->ntext = ed->n = 0;
	ed->plain = NULL;
	ed->plaincap = 0;
}
