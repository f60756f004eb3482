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
guard_out_check(struct guard_edits *ed, const struct guard_list *list,
    const char *body, const struct jscan_span *text, char **r, size_t *rlen,
    struct guard_report *report)
{
	enum guard_result	 res;
	size_t			 need = text->end - text->start;
	ssize_t			 tlen;

	*r = NULL;
	*rlen = 0;
	if (need > ed->plaincap) {
		ed->plaincap = need;
		ed->plain = xreallocarray(ed->plain, 1, ed->plaincap);
	}
	if ((tlen = jscan_string(body, text, ed->plain, ed->plaincap)) < 0 ||
	    memchr(ed->plain, '\0', tlen) != NULL)
		return GUARD_FAILED;
	res = guard_text(list, ed->plain, tlen, r, rlen, report);
	if (res != GUARD_BLOCKED && guard_length(list,
	    guard_utf8_chars(ed->plain, tlen), 0, report) == GUARD_BLOCKED)
		res = GUARD_BLOCKED;
	if (res != GUARD_REDACTED) {
		free(*r);
		*r = NULL;
		*rlen = 0;
	}
	return res;
}

enum guard_result
guard_out_edit(struct guard_edits *ed, size_t start, size_t end,
    const char *with, char *text, size_t textlen)
{
	if (ed->n == GUARD_EDITS_MAX) {
		free(text);
		return GUARD_FAILED;
	}
	ed->e[ed->n++] = (struct guard_edit){ start, end, with, text,
	    textlen };
	return GUARD_PASS;
}

void
guard_out_sort(struct guard_edits *ed, size_t from)
{
	struct guard_edit	t;
	size_t			i, j;

	for (i = from + 1; i < ed->n; i++) {
		t = ed->e[i];
		for (j = i; j > from && ed->e[j - 1].start > t.start; j--)
			ed->e[j] = ed->e[j - 1];
		ed->e[j] = t;
	}
}

int
guard_out_check_edit(struct guard_edits *ed, const struct guard_list *list,
    const char *body, const struct jscan_span *text,
    struct guard_report *report, enum guard_result *res)
{
	char	*r;
	size_t	 rlen;

	*res = guard_out_check(ed, list, body, text, &r, &rlen, report);
	if (*res == GUARD_FAILED || (*res == GUARD_REDACTED &&
	    guard_out_edit(ed, text->start, text->end, NULL, r, rlen) ==
	    GUARD_FAILED))
		return -1;
	return 0;
}

enum guard_result
guard_out_text(struct guard_edits *ed, const struct guard_list *list,
    const char *body, const struct jscan_span *text,
    const struct jscan_span *reason, size_t insert_at, const char *insert,
    struct guard_report *report)
{
	enum guard_result	 res;
	size_t			 from = ed->n;

	if (guard_out_check_edit(ed, list, body, text, report, &res) == -1)
		return GUARD_FAILED;
	if (res != GUARD_BLOCKED)
		return res;
	if (guard_out_edit(ed, text->start, text->end, "\"\"", NULL, 0) ==
	    GUARD_FAILED || (reason != NULL ? guard_out_edit(ed,
	    reason->start, reason->end, "\"content_filter\"", NULL, 0) :
	    guard_out_edit(ed, insert_at, insert_at, insert, NULL, 0)) ==
	    GUARD_FAILED)
		return GUARD_FAILED;
	guard_out_sort(ed, from);
	return res;
}

char *
guard_out_apply(struct guard_edits *ed, const char *body, size_t len,
    size_t *outlen)
{
	struct guard_out	o;
	size_t			i, pos = 0;

	*outlen = 0;
	if (ed->n == 0)
		return NULL;
	memset(&o, 0, sizeof(o));
	for (i = 0; i < ed->n; i++) {
		guard_out_put(&o, body + pos, ed->e[i].start - pos);
		if (ed->e[i].with != NULL)
			guard_out_puts(&o, ed->e[i].with);
		else
			guard_out_quote(&o, ed->e[i].text, ed->e[i].textlen);
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

	for (i = 0; i < ed->n; i++)
		free(ed->e[i].text);
	free(ed->plain);
	ed->n = 0;
	ed->plain = NULL;
	ed->plaincap = 0;
}
