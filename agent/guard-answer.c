/*
 * The output hook: a model's answer through its output guardrails, on
 * the worker thread of the request. A buffered answer is rewritten whole;
 * a stream event by event, each choice's text through its own stream
 * filter, so only the little a match may still need is held back. A block
 * ends the stream with finish_reason "content_filter" and nothing of the
 * match sent. An answer the guardrails cannot read (not strict JSON, a
 * key twice, no choices, text that is no string) fails closed: a buffered
 * one is not delivered, a stream ends with an error event.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "agent.h"
#include "guard.h"
#include "sse.h"
#include "xmalloc.h"

#define GUARD_ANSWER_CHOICES	16	/* n beyond this fails closed */
#define GUARD_ANSWER_DEPTH	64

struct guard_answer {
	const struct guard_list	*list;
	struct guard_report	*report;
	enum route_kind		 route;
	struct guard_stream	*choice[GUARD_ANSWER_CHOICES];
	char			*id;		/* raw JSON values of the last */
	char			*model;		/* event, for the ones we make */
	char			*created;
	struct guard_out	 out;		/* what to send for an event */
	char			*data;		/* an event's data */
	size_t			 datacap;
	char			*text;		/* a choice's text, unescaped */
	size_t			 textcap;
	struct jscan_keys	 keys;		/* an event's, for duplicates */
	int			 blocked;
};

struct guard_answer *
guard_answer_new(const struct guard_list *list, struct guard_report *report,
    enum route_kind route)
{
	struct guard_answer	*ga;

	ga = xcalloc(1, sizeof(*ga));
	ga->list = list;
	ga->report = report;
	ga->route = route;
	return ga;
}

void
guard_answer_free(struct guard_answer *ga)
{
	size_t	i;

	if (ga == NULL)
		return;
	for (i = 0; i < GUARD_ANSWER_CHOICES; i++)
		guard_stream_free(ga->choice[i]);
	free(ga->id);
	free(ga->model);
	free(ga->created);
	guard_out_clear(&ga->out);
	free(ga->data);
	free(ga->text);
	jscan_keys_free(&ga->keys);
	free(ga);
}

/*
 * An event of our own for choice index: its text, or (text NULL) the end
 * with finish_reason "content_filter".
 */
static void
guard_answer_make(struct guard_answer *ga, size_t index, const char *text,
    size_t len)
{
	int	chat = ga->route == ROUTE_CHAT;
	char	n[32];

	guard_out_puts(&ga->out, "data: {\"id\":");
	guard_out_puts(&ga->out, ga->id != NULL ? ga->id : "\"guardrail\"");
	guard_out_puts(&ga->out, chat ? ",\"object\":\"chat.completion.chunk\"" :
	    ",\"object\":\"text_completion\"");
	guard_out_puts(&ga->out, ",\"created\":");
	guard_out_puts(&ga->out, ga->created != NULL ? ga->created : "0");
	guard_out_puts(&ga->out, ",\"model\":");
	guard_out_puts(&ga->out, ga->model != NULL ? ga->model : "\"\"");
	snprintf(n, sizeof(n), ",\"choices\":[{\"index\":%zu,", index);
	guard_out_puts(&ga->out, n);
	if (text == NULL)
		guard_out_puts(&ga->out, chat ? "\"delta\":{}" : "\"text\":\"\"");
	else {
		guard_out_puts(&ga->out, chat ? "\"delta\":{\"content\":" :
		    "\"text\":");
		guard_out_quote(&ga->out, text, len);
		if (chat)
			guard_out_puts(&ga->out, "}");
	}
	guard_out_puts(&ga->out, text == NULL ?
	    ",\"finish_reason\":\"content_filter\"}]}\n\n" :
	    ",\"finish_reason\":null}]}\n\n");
}

/* The end of a blocked stream: content_filter, then [DONE]. */
static enum guard_result
guard_answer_block(struct guard_answer *ga, size_t index)
{
	guard_answer_make(ga, index, NULL, 0);
	guard_out_puts(&ga->out, "data: [DONE]\n\n");
	ga->blocked = 1;
	return GUARD_BLOCKED;
}

/*
 * An event that cannot be checked ends the stream, with an error event of
 * its own (API_UPSTREAM_ERROR's shape) and nothing of what was held.
 */
static enum guard_result
guard_answer_fail(struct guard_answer *ga)
{
	ga->out.len = 0;
	guard_out_puts(&ga->out, "data: {\"error\":{\"message\":\""
	    GUARD_UNCHECKED "\",\"type\":\"api_error\",\"param\":null,"
	    "\"code\":\"upstream_error\"}}\n\n");
	ga->blocked = 1;
	return GUARD_BLOCKED;
}

/* Release what every choice still holds, in events of our own. */
static enum guard_result
guard_answer_flush(struct guard_answer *ga)
{
	const char	*out;
	size_t		 i, outlen;

	for (i = 0; i < GUARD_ANSWER_CHOICES; i++) {
		if (ga->choice[i] == NULL)
			continue;
		if (guard_stream_finish(ga->choice[i], &out, &outlen) ==
		    GUARD_BLOCKED) {
			if (outlen > 0)
				guard_answer_make(ga, i, out, outlen);
			return guard_answer_block(ga, i);
		}
		if (outlen > 0)
			guard_answer_make(ga, i, out, outlen);
		guard_stream_free(ga->choice[i]);
		ga->choice[i] = NULL;
	}
	return GUARD_PASS;
}

/* Keep the raw JSON of id, model and created for the events we make. */
static void
guard_answer_remember(char **field, const char *data,
    const struct jscan_span *v)
{
	if (!v->present)
		return;
	free(*field);
	*field = xstrndup(data + v->start, v->end - v->start);
}

/*
 * The choice's text span: delta.content for chat, text for completions.
 * Returns 1, 0 when it has none (absent or null), or -1 when what stands
 * there cannot be read as text.
 */
static int
guard_answer_text_span(const struct guard_answer *ga, const char *data,
    const struct jscan_span *choice, struct jscan_span *text)
{
	struct jscan_span	delta;

	if (ga->route != ROUTE_CHAT) {
		if (!jscan_object_get(data, choice, "text", text))
			return 0;
	} else {
		if (!jscan_object_get(data, choice, "delta", &delta) ||
		    delta.type == JSCAN_NULL)
			return 0;
		if (delta.type != JSCAN_OBJECT)
			return -1;
		if (!jscan_object_get(data, &delta, "content", text))
			return 0;
	}
	if (text->type == JSCAN_NULL)
		return 0;
	return text->type == JSCAN_STRING ? 1 : -1;
}

/* A choice's filter, made on first use; NULL past GUARD_ANSWER_CHOICES. */
static struct guard_stream *
guard_answer_choice(struct guard_answer *ga, const char *data,
    const struct jscan_span *c, size_t *index)
{
	struct jscan_span	ix;
	int64_t			i = 0;

	if (jscan_object_get(data, c, "index", &ix) &&
	    jscan_int64(data, &ix, &i) == -1)
		return NULL;
	if (i < 0 || i >= GUARD_ANSWER_CHOICES)
		return NULL;
	*index = (size_t)i;
	if (ga->choice[i] == NULL)
		ga->choice[i] = guard_stream_new(ga->list, ga->report);
	return ga->choice[i];
}

/*
 * The choice's text through its filter (and, when the choice finishes
 * here, what the filter still holds), appended to ga->out. Returns
 * what the filter says; *same when the text goes out as it came.
 */
static enum guard_result
guard_answer_feed(struct guard_answer *ga, struct guard_stream *gs,
    const char *text, size_t len, int finishing, int *same)
{
	enum guard_result	 res;
	const char		*rel;
	size_t			 rellen, start = ga->out.len;

	res = guard_stream_feed(gs, text, len, &rel, &rellen);
	guard_out_put(&ga->out, rel, rellen);
	if (res != GUARD_BLOCKED && finishing) {
		res = guard_stream_finish(gs, &rel, &rellen);
		guard_out_put(&ga->out, rel, rellen);
	}
	*same = ga->out.len - start == len &&
	    memcmp(ga->out.buf + start, text, len) == 0;
	return res;
}

/*
 * One SSE event, its data already decoded (data, dlen as sse_event_data()
 * returned them), so that the meter and the guardrails decode it once.
 */
enum guard_result
guard_answer_event_data(struct guard_answer *ga, const char *ev, size_t len,
    const char *data, ssize_t dlen, const char **out, size_t *outlen)
{
	struct jscan_span	 choices, id, model, created, c, text, fr;
	struct jscan_want	 want[] = {
		{ "choices", &choices },
		{ "id", &id },
		{ "model", &model },
		{ "created", &created },
	};
	struct guard_stream	*gs;
	const char		*rel;
	size_t			 cursor, pos = 0, rellen, index = 0, event;
	size_t			 mark;
	ssize_t			 tlen;
	enum guard_result	 res = GUARD_PASS;
	int			 changed = 0, finishing, same, pass, has;

	ga->out.len = 0;
	*out = ev;
	*outlen = len;
	if (ga->blocked) {
		*outlen = 0;
		return GUARD_BLOCKED;
	}
	if (dlen <= 0)
		return GUARD_PASS;
	if (sse_event_is_done(ev, len)) {
		if ((res = guard_answer_flush(ga)) != GUARD_BLOCKED)
			guard_out_put(&ga->out, ev, len);
		goto done;
	}
	if (jscan_object_strict(data, dlen, GUARD_ANSWER_DEPTH, want,
	    sizeof(want) / sizeof(want[0]), &ga->keys, NULL, 0) == -1 ||
	    !choices.present || choices.type != JSCAN_ARRAY) {
		res = guard_answer_fail(ga);
		goto done;
	}
	guard_answer_remember(&ga->id, data, &id);
	guard_answer_remember(&ga->model, data, &model);
	guard_answer_remember(&ga->created, data, &created);

	/*
	 * Pass 0: a choice that finishes without text releases what it held
	 * in an event of our own, first. Pass 1: the event, rebuilt as one
	 * data line with each choice's text replaced by what its filter lets
	 * out now.
	 */
	for (pass = 0, event = 0; pass < 2; pass++) {
		if (pass == 1) {
			event = ga->out.len;
			guard_out_puts(&ga->out, "data: ");
		}
		for (cursor = 0; jscan_array_next(data, &choices, &cursor,
		    &c);) {
			if (c.type != JSCAN_OBJECT ||
			    (has = guard_answer_text_span(ga, data, &c,
			    &text)) == -1) {
				res = guard_answer_fail(ga);
				goto done;
			}
			finishing = jscan_object_get(data, &c,
			    "finish_reason", &fr) && fr.type == JSCAN_STRING;
			if ((!has && !finishing) || (pass == 0) == has)
				continue;
			if ((gs = guard_answer_choice(ga, data, &c,
			    &index)) == NULL) {
				/* More choices than filters: fail closed. */
				ga->out.len = event;
				res = guard_answer_block(ga, 0);
				goto done;
			}
			if (pass == 0) {
				res = guard_stream_finish(gs, &rel, &rellen);
				if (rellen > 0)
					guard_answer_make(ga, index, rel,
					    rellen);
				if (res == GUARD_BLOCKED) {
					res = guard_answer_block(ga, index);
					goto done;
				}
				changed |= rellen > 0;
				continue;
			}
			if (text.end - text.start > ga->textcap) {
				ga->textcap = text.end - text.start;
				ga->text = xreallocarray(ga->text, 1,
				    ga->textcap);
			}
			if ((tlen = jscan_string(data, &text, ga->text,
			    ga->textcap)) < 0) {
				res = guard_answer_fail(ga);	/* cannot be */
				goto done;
			}
			guard_out_put(&ga->out, data + pos, text.start - pos);
			pos = text.end;
			/* The released text lands after the event, then moves. */
			mark = ga->out.len;
			res = guard_answer_feed(ga, gs, ga->text, tlen,
			    finishing, &same);
			if (res == GUARD_BLOCKED) {
				/* The rest of this event goes with the match. */
				ga->out.len = event;
				res = guard_answer_block(ga, index);
				goto done;
			}
			changed |= !same;
			guard_out_quote_from(&ga->out, mark);
		}
	}
	if (!changed) {
		ga->out.len = 0;
		return GUARD_PASS;
	}
	guard_out_put(&ga->out, data + pos, dlen - pos);
	guard_out_puts(&ga->out, "\n\n");
	res = GUARD_REDACTED;
done:
	*out = ga->out.buf != NULL ? ga->out.buf : "";
	*outlen = ga->out.len;
	return res;
}

/* One raw SSE event: decoded here, then as guard_answer_event_data(). */
enum guard_result
guard_answer_event(struct guard_answer *ga, const char *ev, size_t len,
    const char **out, size_t *outlen)
{
	ssize_t	dlen = 0;

	if (!ga->blocked) {
		if (len + 1 > ga->datacap) {
			ga->datacap = len + 1;
			ga->data = xreallocarray(ga->data, 1, ga->datacap);
		}
		dlen = sse_event_data(ev, len, ga->data, ga->datacap);
	}
	return guard_answer_event_data(ga, ev, len, ga->data, dlen, out,
	    outlen);
}

enum guard_result
guard_answer_finish(struct guard_answer *ga, const char **out,
    size_t *outlen)
{
	enum guard_result	res;

	ga->out.len = 0;
	res = ga->blocked ? GUARD_BLOCKED : guard_answer_flush(ga);
	*out = ga->out.buf != NULL ? ga->out.buf : "";
	*outlen = ga->out.len;
	return res;
}

/*
 * A buffered answer: each choice's text through the list. A redaction
 * rewrites it, a block empties it with finish_reason "content_filter".
 * GUARD_PASS leaves *out NULL: send the answer as it came. GUARD_FAILED:
 * it cannot be checked, do not send it.
 *
 * One strict pass of jscan (a key twice anywhere fails: a lenient client
 * might show the other one), then the choices' spans, as a stream's
 * events are read: an answer that passes costs the unescaped text's
 * buffer and nothing else; a changed one is the backend's bytes with its
 * texts (and finish_reason) changed (guard_out_text), at most
 * GUARD_EDITS_MAX edits, else it fails closed.
 */
enum guard_result
guard_answer_body(const struct guard_list *list, enum route_kind route,
    const char *body, size_t len, char **out, size_t *outlen,
    struct guard_report *report)
{
	static const char	 insert[] =
	    ",\"finish_reason\":\"content_filter\"";
	struct jscan_span	 choices, c, holder, text, fr;
	struct jscan_want	 want[] = { { "choices", &choices } };
	struct jscan_keys	 keys;
	struct guard_edits	 ed;
	enum guard_result	 res, worst = GUARD_PASS;
	size_t			 cursor;
	int			 chat = route == ROUTE_CHAT, ok;

	*out = NULL;
	*outlen = 0;
	if (guard_list_empty(list) || route == ROUTE_EMBEDDINGS)
		return GUARD_PASS;
	memset(&keys, 0, sizeof(keys));
	ok = jscan_object_strict(body, len, GUARD_ANSWER_DEPTH, want,
	    sizeof(want) / sizeof(want[0]), &keys, NULL, 0) == 0 &&
	    choices.present && choices.type == JSCAN_ARRAY;
	jscan_keys_free(&keys);
	if (!ok)
		return GUARD_FAILED;
	memset(&ed, 0, sizeof(ed));
	for (cursor = 0; jscan_array_next(body, &choices, &cursor, &c);) {
		if (c.type != JSCAN_OBJECT)
			goto fail;
		if (!chat)
			holder = c;
		else if (!jscan_object_get(body, &c, "message", &holder) ||
		    holder.type != JSCAN_OBJECT)
			goto fail;
		if (!jscan_object_get(body, &holder, chat ? "content" : "text",
		    &text) || text.type == JSCAN_NULL)
			continue;	/* no text: tool calls, say */
		if (text.type != JSCAN_STRING)
			goto fail;
		res = guard_out_text(&ed, list, body, &text,
		    jscan_object_get(body, &c, "finish_reason", &fr) ? &fr :
		    NULL, c.end - 1, insert, report);
		if (res == GUARD_FAILED)
			goto fail;
		if (res != GUARD_PASS && worst != GUARD_BLOCKED)
			worst = res;
	}
	*out = guard_out_apply(&ed, body, len, outlen);
	guard_out_edits_free(&ed);
	return worst;
fail:
	guard_out_edits_free(&ed);
	return GUARD_FAILED;
}
