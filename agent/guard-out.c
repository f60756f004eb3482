/*
 * What an output hook sends for a piece of a stream or an answer: a
 * growing buffer, reused from one event (or line) to the next.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "agent.h"
#include "guard.h"
#include "jscan.h"
#include "log.h"
#include "xmalloc.h"

#define GUARD_OUT_DEPTH		64

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

/*
 * A whole answer's text (a cJSON string) through the list: redacted in
 * place, or emptied when blocked, with holder's reason_key (finish_reason,
 * done_reason) made "content_filter".
 */
enum guard_result
guard_out_json_text(const struct guard_list *list, struct cJSON *text,
    struct cJSON *holder, const char *reason_key, struct guard_report *report)
{
	enum guard_result	 res;
	char			*redacted = NULL;
	size_t			 rlen, len = strlen(text->valuestring);

	res = guard_text(list, text->valuestring, len, &redacted, &rlen,
	    report);
	if (res != GUARD_BLOCKED && guard_length(list,
	    guard_utf8_chars(text->valuestring, len), 0, report) ==
	    GUARD_BLOCKED)
		res = GUARD_BLOCKED;
	if (res == GUARD_REDACTED)
		cJSON_SetValuestring(text, redacted);
	else if (res == GUARD_BLOCKED) {
		cJSON_SetValuestring(text, "");
		cJSON_DeleteItemFromObjectCaseSensitive(holder, reason_key);
		cJSON_AddStringToObject(holder, reason_key, "content_filter");
	}
	free(redacted);
	return res;
}

/* A string holding "\u0000": cJSON would cut it there, unchecked. */
static int
guard_out_nul(void *arg, const struct jscan_token *t)
{
	return t->escaped && t->span.type == JSCAN_STRING &&
	    jscan_span_has_nul(arg, &t->span) ? -1 : 0;
}

/*
 * Is a whole answer strict JSON that cJSON reads as any client would: no
 * key twice in an object, no NUL in a string? Returns 0 or -1.
 */
int
guard_out_strict(const char *body, size_t len)
{
	struct jscan_keys	keys;
	int			rc;

	memset(&keys, 0, sizeof(keys));
	rc = jscan_walk(body, len, GUARD_OUT_DEPTH, &keys, guard_out_nul,
	    (void *)body, NULL, 0);
	jscan_keys_free(&keys);
	return rc;
}

/* The rewritten answer, unless nothing changed; frees doc. */
enum guard_result
guard_out_json_done(struct cJSON *doc, enum guard_result res, char **out,
    size_t *outlen)
{
	if (res != GUARD_PASS) {
		if ((*out = cJSON_PrintUnformatted(doc)) == NULL)
			fatalx("%s: out of memory", __func__);
		*outlen = strlen(*out);
	}
	cJSON_Delete(doc);
	return res;
}
