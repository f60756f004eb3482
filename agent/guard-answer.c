/*
 * The output hook: a model's answer through its output guardrails, on
 * the worker thread of the request. A buffered answer is rewritten whole;
 * a stream event by event, each choice's text, its reasoning and refusal
 * (reasoning_content as vLLM and DeepSeek send it, reasoning as Ollama
 * and OpenRouter do: the model wrote them too) and each of its tool
 * calls' arguments through its own stream filter, so only the little a
 * match may still need is held back. A block
 * ends the stream with finish_reason "content_filter" and nothing of the
 * match sent. An answer the guardrails cannot read (not strict JSON, a
 * key twice, no choices, text that is no string) fails closed: a buffered
 * one is not delivered, a stream ends with an error event.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "guard.h"
#include "sse.h"
#include "textbuf.h"
#include "xmalloc.h"

#define GUARD_ANSWER_CALLS	16	/* tool calls a choice, likewise */

/* A chat choice's other texts besides content, each its own filter. */
static const char *const guard_answer_sides[] = {
	"reasoning_content", "reasoning", "refusal",
};
#define GUARD_ANSWER_SIDES	3
/* Side k's filter is "call" GUARD_SIDE_CALL(k): -2, -3, -4. */
#define GUARD_SIDE_CALL(k)	(-2 - (int)(k))
#define GUARD_SIDE_OF(call)	((size_t)(-2 - (call)))
#define GUARD_ANSWER_PIECES	8	/* texts of a choice in one event */
#define GUARD_ANSWER_DEPTH	64

struct guard_answer {
	const struct guard_list	*list;
	struct guard_report	*report;
	enum route_kind		 route;
	struct guard_stream	*choice[GUARD_ANSWER_CHOICES];
	struct guard_stream	**calls[GUARD_ANSWER_CHOICES];	/* [CALLS] */
	struct guard_stream	**sides[GUARD_ANSWER_CHOICES];	/* [SIDES] */
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

/*
 * A text of a choice in one event, and its filter: the content (call -1),
 * a side text (GUARD_SIDE_CALL) or a tool call's arguments (call its
 * index).
 */
struct guard_piece {
	struct jscan_span	 span;
	int			 call;
	struct guard_stream	*gs;
	int			 last;		/* of its filter in the event */
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

/* Forget choice i's filters: they are spent. */
static void
guard_answer_drop(struct guard_answer *ga, size_t i)
{
	size_t	k;

	guard_stream_free(ga->choice[i]);
	ga->choice[i] = NULL;
	if (ga->sides[i] != NULL) {
		for (k = 0; k < GUARD_ANSWER_SIDES; k++)
			guard_stream_free(ga->sides[i][k]);
		free(ga->sides[i]);
		ga->sides[i] = NULL;
	}
	if (ga->calls[i] == NULL)
		return;
	for (k = 0; k < GUARD_ANSWER_CALLS; k++)
		guard_stream_free(ga->calls[i][k]);
	free(ga->calls[i]);
	ga->calls[i] = NULL;
}

void
guard_answer_free(struct guard_answer *ga)
{
	size_t	i;

	if (ga == NULL)
		return;
	for (i = 0; i < GUARD_ANSWER_CHOICES; i++)
		guard_answer_drop(ga, i);
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
 * An event of our own for choice index: text (of its content, of a side
 * text, or with call >= 0 of that tool call's arguments), or (text NULL)
 * the end with finish_reason "content_filter".
 */
static void
guard_answer_make(struct guard_answer *ga, size_t index, int call,
    const char *text, size_t len)
{
	int		chat = ga->route == ROUTE_CHAT;
	char		n[TEXTBUF_U64_MAX + 1];
	struct textbuf	b;

	guard_out_puts(&ga->out, "data: {\"id\":");
	guard_out_puts(&ga->out, ga->id != NULL ? ga->id : "\"guardrail\"");
	guard_out_puts(&ga->out, chat ? ",\"object\":\"chat.completion.chunk\"" :
	    ",\"object\":\"text_completion\"");
	guard_out_puts(&ga->out, ",\"created\":");
	guard_out_puts(&ga->out, ga->created != NULL ? ga->created : "0");
	guard_out_puts(&ga->out, ",\"model\":");
	guard_out_puts(&ga->out, ga->model != NULL ? ga->model : "\"\"");
	guard_out_puts(&ga->out, ",\"choices\":[{\"index\":");
	textbuf_init(&b, n, sizeof(n));
	textbuf_u64(&b, index);
	guard_out_puts(&ga->out, n);
	guard_out_puts(&ga->out, ",");
	if (text == NULL)
		guard_out_puts(&ga->out, chat ? "\"delta\":{}" : "\"text\":\"\"");
	else if (call >= 0) {
		guard_out_puts(&ga->out, "\"delta\":{\"tool_calls\":[{"
		    "\"index\":");
		textbuf_init(&b, n, sizeof(n));
		textbuf_u64(&b, (uint64_t)call);
		guard_out_puts(&ga->out, n);
		guard_out_puts(&ga->out, ",\"function\":{\"arguments\":");
		guard_out_quote(&ga->out, text, len);
		guard_out_puts(&ga->out, "}}]}");
	} else if (call < -1) {
		guard_out_puts(&ga->out, "\"delta\":{\"");
		guard_out_puts(&ga->out,
		    guard_answer_sides[GUARD_SIDE_OF(call)]);
		guard_out_puts(&ga->out, "\":");
		guard_out_quote(&ga->out, text, len);
		guard_out_puts(&ga->out, "}");
	} else {
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
	guard_answer_make(ga, index, -1, NULL, 0);
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

/* A filter's end: what it held, in an event of our own; or the block. */
static enum guard_result
guard_answer_release(struct guard_answer *ga, size_t index, int call,
    struct guard_stream *gs)
{
	enum guard_result	 res;
	const char		*out;
	size_t			 outlen;

	if (gs == NULL)
		return GUARD_PASS;
	res = guard_stream_finish(gs, &out, &outlen);
	if (outlen > 0)
		guard_answer_make(ga, index, call, out, outlen);
	if (res == GUARD_BLOCKED)
		return guard_answer_block(ga, index);
	return outlen > 0 ? GUARD_REDACTED : GUARD_PASS;
}

/*
 * Release what choice i's filters hold, except those fed in this event
 * (fed[]: the pieces), and forget them all. GUARD_REDACTED when an event
 * was made.
 */
static enum guard_result
guard_answer_end_choice(struct guard_answer *ga, size_t i,
    const struct guard_piece *fed, size_t nfed)
{
	enum guard_result	 res, worst = GUARD_PASS;
	struct guard_stream	*gs;
	size_t			 p;
	int			 call;

	for (call = GUARD_SIDE_CALL(GUARD_ANSWER_SIDES - 1);
	    call < GUARD_ANSWER_CALLS; call++) {
		if (call >= 0 && ga->calls[i] == NULL)
			break;
		if (call < -1 && ga->sides[i] == NULL)
			continue;
		gs = call >= 0 ? ga->calls[i][call] : call == -1 ?
		    ga->choice[i] : ga->sides[i][GUARD_SIDE_OF(call)];
		for (p = 0; p < nfed && fed[p].gs != gs; p++)
			;
		if (gs == NULL || p < nfed)
			continue;
		if ((res = guard_answer_release(ga, i, call, gs)) ==
		    GUARD_BLOCKED)
			return res;
		if (res == GUARD_REDACTED)
			worst = res;
	}
	return worst;
}

/* Release what every choice still holds, in events of our own. */
static enum guard_result
guard_answer_flush(struct guard_answer *ga)
{
	size_t	i;

	for (i = 0; i < GUARD_ANSWER_CHOICES; i++) {
		if (guard_answer_end_choice(ga, i, NULL, 0) == GUARD_BLOCKED)
			return GUARD_BLOCKED;
		guard_answer_drop(ga, i);
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

/* An index member in [0, max), or -1; 0 when there is none. */
static int
guard_answer_index(const char *data, const struct jscan_span *obj, int max)
{
	struct jscan_span	ix;
	int64_t			i = 0;

	if (jscan_object_get(data, obj, "index", &ix) &&
	    jscan_int64(data, &ix, &i) == -1)
		return -1;
	return i >= 0 && i < max ? (int)i : -1;
}

/* Choice index's filter for call (-1: its content), made on first use. */
static struct guard_stream *
guard_answer_filter(struct guard_answer *ga, size_t index, int call)
{
	struct guard_stream	**gs;

	if (call == -1)
		gs = &ga->choice[index];
	else if (call < -1) {
		if (ga->sides[index] == NULL)
			ga->sides[index] = xcalloc(GUARD_ANSWER_SIDES,
			    sizeof(*ga->sides[index]));
		gs = &ga->sides[index][GUARD_SIDE_OF(call)];
	} else {
		if (ga->calls[index] == NULL)
			ga->calls[index] = xcalloc(GUARD_ANSWER_CALLS,
			    sizeof(*ga->calls[index]));
		gs = &ga->calls[index][call];
	}
	if (*gs == NULL)
		*gs = guard_stream_new(ga->list, ga->report);
	return *gs;
}

/*
 * The texts of a choice in this event, in the order they stand: its
 * delta.content (text for completions), its side texts, and each tool
 * call's function.arguments. Returns how many, -1 when what stands there
 * cannot be read as text (fail), -2 when there are more texts or tool
 * calls than filters (block).
 */
static int
guard_answer_pieces(struct guard_answer *ga, const char *data,
    const struct jscan_span *c, size_t index,
    struct guard_piece p[GUARD_ANSWER_PIECES])
{
	struct jscan_span	 delta, text, calls, tc, fn, args;
	struct jscan_span	 side[GUARD_ANSWER_SIDES];
	struct jscan_want	 want[] = {
		{ "content", &text },
		{ "tool_calls", &calls },
		{ "reasoning_content", &side[0] },
		{ "reasoning", &side[1] },
		{ "refusal", &side[2] },
	};
	struct guard_piece	 t;
	size_t			 cursor, n = 0, i, j, k;
	int			 call;

	for (k = 0; k < GUARD_ANSWER_SIDES; k++)
		side[k].present = 0;
	if (ga->route != ROUTE_CHAT) {
		if (!jscan_object_get(data, c, "text", &text))
			return 0;
		calls.present = 0;
	} else {
		if (!jscan_object_get(data, c, "delta", &delta) ||
		    delta.type == JSCAN_NULL)
			return 0;
		if (delta.type != JSCAN_OBJECT)
			return -1;
		jscan_object_fields(data, &delta, want,
		    sizeof(want) / sizeof(want[0]));
	}
	if (text.present && text.type != JSCAN_NULL) {
		if (text.type != JSCAN_STRING)
			return -1;
		p[n++] = (struct guard_piece){ text, -1,
		    guard_answer_filter(ga, index, -1), 0 };
	}
	for (k = 0; k < GUARD_ANSWER_SIDES; k++) {
		if (!side[k].present || side[k].type == JSCAN_NULL)
			continue;
		if (side[k].type != JSCAN_STRING)
			return -1;
		p[n++] = (struct guard_piece){ side[k], GUARD_SIDE_CALL(k),
		    guard_answer_filter(ga, index, GUARD_SIDE_CALL(k)), 0 };
	}
	if (calls.present && calls.type != JSCAN_NULL) {
		if (calls.type != JSCAN_ARRAY)
			return -1;
		for (cursor = 0; jscan_array_next(data, &calls, &cursor,
		    &tc);) {
			if (tc.type != JSCAN_OBJECT)
				return -1;
			if ((call = guard_answer_index(data, &tc,
			    GUARD_ANSWER_CALLS)) < 0)
				return -2;
			if (!jscan_object_get(data, &tc, "function", &fn) ||
			    fn.type == JSCAN_NULL)
				continue;
			if (fn.type != JSCAN_OBJECT)
				return -1;
			if (!jscan_object_get(data, &fn, "arguments", &args) ||
			    args.type == JSCAN_NULL)
				continue;
			if (args.type != JSCAN_STRING)
				return -1;
			if (n == GUARD_ANSWER_PIECES)
				return -2;
			p[n++] = (struct guard_piece){ args, call,
			    guard_answer_filter(ga, index, call), 0 };
		}
	}
	/* In the order they stand; each filter's last piece finishes it. */
	for (i = 1; i < n; i++) {
		t = p[i];
		for (j = i; j > 0 && p[j - 1].span.start > t.span.start; j--)
			p[j] = p[j - 1];
		p[j] = t;
	}
	for (i = 0; i < n; i++) {
		for (j = i + 1; j < n && p[j].gs != p[i].gs; j++)
			;
		p[i].last = j == n;
	}
	return (int)n;
}

/*
 * A text through its filter (and, when the choice finishes here and
 * this is the filter's last text, what the filter still holds),
 * appended to ga->out. Returns what the filter says; *same when the text
 * goes out as it came.
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
	struct jscan_span	 choices, id, model, created, c, fr;
	struct jscan_want	 want[] = {
		{ "choices", &choices },
		{ "id", &id },
		{ "model", &model },
		{ "created", &created },
	};
	struct guard_piece	 piece[GUARD_ANSWER_PIECES];
	size_t			 cursor, pos = 0, event, mark, k;
	ssize_t			 tlen;
	enum guard_result	 res = GUARD_PASS;
	int			 changed = 0, finishing, same, pass, n, index;

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
	 * Pass 0: a choice that finishes releases what its filters without
	 * a text in this event held, in events of our own, first. Pass 1:
	 * the event, rebuilt as one data line with each text replaced by
	 * what its filter lets out now.
	 */
	for (pass = 0, event = 0; pass < 2; pass++) {
		if (pass == 1) {
			event = ga->out.len;
			guard_out_puts(&ga->out, "data: ");
		}
		for (cursor = 0; jscan_array_next(data, &choices, &cursor,
		    &c);) {
			if (c.type != JSCAN_OBJECT) {
				res = guard_answer_fail(ga);
				goto done;
			}
			finishing = jscan_object_get(data, &c,
			    "finish_reason", &fr) && fr.type == JSCAN_STRING;
			if ((index = guard_answer_index(data, &c,
			    GUARD_ANSWER_CHOICES)) < 0) {
				/* More choices than filters: fail closed. */
				ga->out.len = event;
				res = guard_answer_block(ga, 0);
				goto done;
			}
			/* Pass 0 reads only the choices that finish here. */
			if (pass == 0 && !finishing)
				continue;
			n = guard_answer_pieces(ga, data, &c, index, piece);
			if (n == -1) {
				res = guard_answer_fail(ga);
				goto done;
			}
			if (n == -2) {
				ga->out.len = event;
				res = guard_answer_block(ga, index);
				goto done;
			}
			if (pass == 0) {
				res = guard_answer_end_choice(ga, index,
				    piece, n);
				if (res == GUARD_BLOCKED)
					goto done;
				changed |= res == GUARD_REDACTED;
				continue;
			}
			for (k = 0; k < (size_t)n; k++) {
				if (piece[k].span.end - piece[k].span.start >
				    ga->textcap) {
					ga->textcap = piece[k].span.end -
					    piece[k].span.start;
					ga->text = xreallocarray(ga->text, 1,
					    ga->textcap);
				}
				if ((tlen = jscan_string(data, &piece[k].span,
				    ga->text, ga->textcap)) < 0) {
					res = guard_answer_fail(ga);
					goto done;
				}
				guard_out_put(&ga->out, data + pos,
				    piece[k].span.start - pos);
				pos = piece[k].span.end;
				/* The released text lands after, then moves. */
				mark = ga->out.len;
				res = guard_answer_feed(ga, piece[k].gs,
				    ga->text, tlen, finishing &&
				    piece[k].last, &same);
				if (res == GUARD_BLOCKED) {
					/* The rest goes with the match. */
					ga->out.len = event;
					res = guard_answer_block(ga, index);
					goto done;
				}
				changed |= !same;
				guard_out_quote_from(&ga->out, mark);
			}
			if (finishing)
				guard_answer_drop(ga, index);
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
 * A buffered answer, read in its one strict walk (a key twice anywhere
 * fails: a lenient client might show the other one). Where the walk is
 * matters at these places only; everything else passes as it came.
 */
enum guard_place {
	GP_OTHER,
	GP_ROOT,		/* the answer */
	GP_CHOICES,		/* its choices array */
	GP_CHOICE,
	GP_MESSAGE,		/* a chat choice's message */
	GP_TOOL_CALLS,		/* the message's tool_calls array */
	GP_TOOL_CALL,
	GP_FUNCTION,		/* a tool call's function */
	GP_USAGE,		/* the answer's usage, for the meter */
};
#define GP_DEPTH	7	/* a function's depth: nothing deeper is read */

/* What the last key names, at the place that holds it. */
enum guard_key {
	GK_NONE,
	GK_CHOICES,
	GK_MESSAGE,
	GK_TEXT,		/* content (chat), text (completions) */
	GK_SIDE,		/* reasoning_content, reasoning, refusal */
	GK_REASON,		/* finish_reason */
	GK_TOOL_CALLS,
	GK_FUNCTION,
	GK_ARGUMENTS,
	GK_USAGE,
};

struct guard_body {
	const struct guard_list	*list;
	struct guard_report	*report;
	const char		*body;
	int			 chat;
	enum guard_place	 place[GP_DEPTH + 1];	/* by depth */
	enum guard_key		 key;
	struct guard_edits	 ed;
	enum guard_result	 worst;
	int			 saw_choices;
	struct jscan_span	 usage;		/* its span, once it closed */
	/* The choice being read. */
	size_t			 first;		/* its first edit */
	struct jscan_span	 text, reason, calls;
	struct jscan_span	 side[GUARD_ANSWER_SIDES];
	size_t			 nside;
	int			 saw_message;
	int			 blocked;
};

/* What the key at place names, if it is one the guardrails read. */
static enum guard_key
guard_body_key(const struct guard_body *gb, enum guard_place place,
    const struct jscan_token *t)
{
	static const struct {
		enum guard_place	 place;
		const char		*key;
		size_t			 len;
		enum guard_key		 is;
		int			 chat;	/* -1: either route */
	} keys[] = {
#define GUARD_KEY(place, key, is, chat)	\
		{ place, key, sizeof(key) - 1, is, chat }
		GUARD_KEY(GP_ROOT, "choices", GK_CHOICES, -1),
		GUARD_KEY(GP_ROOT, "usage", GK_USAGE, -1),
		GUARD_KEY(GP_CHOICE, "message", GK_MESSAGE, 1),
		GUARD_KEY(GP_CHOICE, "text", GK_TEXT, 0),
		GUARD_KEY(GP_CHOICE, "finish_reason", GK_REASON, -1),
		GUARD_KEY(GP_MESSAGE, "content", GK_TEXT, 1),
		GUARD_KEY(GP_MESSAGE, "reasoning_content", GK_SIDE, 1),
		GUARD_KEY(GP_MESSAGE, "reasoning", GK_SIDE, 1),
		GUARD_KEY(GP_MESSAGE, "refusal", GK_SIDE, 1),
		GUARD_KEY(GP_MESSAGE, "tool_calls", GK_TOOL_CALLS, 1),
		GUARD_KEY(GP_TOOL_CALL, "function", GK_FUNCTION, 1),
		GUARD_KEY(GP_FUNCTION, "arguments", GK_ARGUMENTS, 1),
#undef GUARD_KEY
	};
	size_t	i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (keys[i].place == place && (keys[i].chat == -1 ||
		    keys[i].chat == gb->chat) && jscan_string_eq(gb->body,
		    &t->span, keys[i].key, keys[i].len))
			return keys[i].is;
	return GK_NONE;
}

/* The place a container opens at: from its parent, and the key to it. */
static int
guard_body_open(struct guard_body *gb, const struct jscan_token *t)
{
	enum guard_place	parent, place = GP_OTHER;
	int			array = t->span.type == JSCAN_ARRAY;

	parent = t->depth == 1 ? GP_OTHER : t->depth - 1 <= GP_DEPTH ?
	    gb->place[t->depth - 1] : GP_OTHER;
	if (t->depth == 1)
		place = GP_ROOT;
	else if (parent == GP_CHOICES || parent == GP_TOOL_CALLS) {
		/* An element: a choice or a tool call is an object. */
		if (array)
			return -1;
		place = parent == GP_CHOICES ? GP_CHOICE : GP_TOOL_CALL;
	} else {
		switch (gb->key) {
		case GK_CHOICES:
			place = GP_CHOICES;
			gb->saw_choices = 1;
			break;
		case GK_MESSAGE:
			place = GP_MESSAGE;
			gb->saw_message = 1;
			break;
		case GK_TOOL_CALLS:
			place = GP_TOOL_CALLS;
			break;
		case GK_FUNCTION:
			place = GP_FUNCTION;
			break;
		case GK_USAGE:
			if (!array)
				place = GP_USAGE;
			break;
		case GK_TEXT:
		case GK_SIDE:
		case GK_ARGUMENTS:
		case GK_REASON:
			return -1;	/* text that is no string */
		case GK_NONE:
			break;
		}
		/* The array places are arrays, the others objects. */
		if (place != GP_OTHER && array != (place == GP_CHOICES ||
		    place == GP_TOOL_CALLS))
			return -1;
	}
	gb->key = GK_NONE;
	if (place == GP_CHOICE) {
		gb->first = gb->ed.n;
		gb->text.present = gb->reason.present = 0;
		gb->calls.present = 0;
		gb->nside = 0;
		gb->saw_message = gb->blocked = 0;
	}
	if (t->depth <= GP_DEPTH)
		gb->place[t->depth] = place;
	return 0;
}

/* A text of the choice through the list: a block marks the choice. */
static int
guard_body_check(struct guard_body *gb, const struct jscan_span *text)
{
	enum guard_result	res;

	if (gb->blocked)
		return 0;	/* the whole choice goes */
	if (guard_out_check_edit(&gb->ed, gb->list, gb->body, text,
	    gb->report, &res) == -1)
		return -1;
	if (res == GUARD_BLOCKED)
		gb->blocked = 1;
	else if (res == GUARD_REDACTED && gb->worst == GUARD_PASS)
		gb->worst = GUARD_REDACTED;
	return 0;
}

/* A scalar where a key the guardrails read stood. */
static int
guard_body_value(struct guard_body *gb, const struct jscan_token *t)
{
	enum guard_key		 key = gb->key;
	int			 null = t->span.type == JSCAN_NULL;

	gb->key = GK_NONE;
	switch (key) {
	case GK_NONE:
	case GK_USAGE:
		return 0;
	case GK_CHOICES:
	case GK_MESSAGE:
		return -1;	/* no array, no object */
	case GK_TOOL_CALLS:
	case GK_FUNCTION:
		return null ? 0 : -1;
	case GK_REASON:
		gb->reason = t->span;
		return 0;
	case GK_TEXT:
		if (!null && t->span.type != JSCAN_STRING)
			return -1;
		gb->text = t->span;
		gb->text.present = !null;
		return 0;
	case GK_SIDE:
		if (null)
			return 0;
		/* Kept to be emptied on a block; a key twice fails anyway. */
		if (t->span.type != JSCAN_STRING ||
		    gb->nside == GUARD_ANSWER_SIDES)
			return -1;
		gb->side[gb->nside++] = t->span;
		return guard_body_check(gb, &t->span);
	case GK_ARGUMENTS:
		break;
	}
	/* A tool call's arguments, JSON in a string: checked as text. */
	if (null)
		return 0;
	if (t->span.type != JSCAN_STRING)
		return -1;
	return guard_body_check(gb, &t->span);
}

/*
 * A choice ends: its text through the list too. A block anywhere in it
 * (text, reasoning, refusal or a tool call's arguments) empties its
 * texts, empties its tool calls and makes its reason "content_filter",
 * and drops its redactions.
 */
static int
guard_body_choice(struct guard_body *gb, const struct jscan_token *t)
{
	static const char	 insert[] =
	    ",\"finish_reason\":\"content_filter\"";
	size_t			 i;

	if ((gb->chat && !gb->saw_message) || (gb->text.present &&
	    guard_body_check(gb, &gb->text) == -1))
		return -1;
	if (gb->blocked) {
		for (i = gb->first; i < gb->ed.n; i++)
			free(gb->ed.e[i].text);
		gb->ed.n = gb->first;
		gb->worst = GUARD_BLOCKED;
		if ((gb->text.present && guard_out_edit(&gb->ed,
		    gb->text.start, gb->text.end, "\"\"", NULL, 0) ==
		    GUARD_FAILED) || (gb->calls.present &&
		    guard_out_edit(&gb->ed, gb->calls.start, gb->calls.end,
		    "[]", NULL, 0) == GUARD_FAILED) || (gb->reason.present ?
		    guard_out_edit(&gb->ed, gb->reason.start, gb->reason.end,
		    "\"content_filter\"", NULL, 0) : guard_out_edit(&gb->ed,
		    t->span.end - 1, t->span.end - 1, insert, NULL, 0)) ==
		    GUARD_FAILED)
			return -1;
		for (i = 0; i < gb->nside; i++)
			if (guard_out_edit(&gb->ed, gb->side[i].start,
			    gb->side[i].end, "\"\"", NULL, 0) == GUARD_FAILED)
				return -1;
	}
	guard_out_sort(&gb->ed, gb->first);
	return 0;
}

static int
guard_body_step(void *arg, const struct jscan_token *t)
{
	struct guard_body	*gb = arg;
	enum guard_place	 place;

	switch (t->step) {
	case JSCAN_KEY:
		place = t->depth <= GP_DEPTH ? gb->place[t->depth] : GP_OTHER;
		gb->key = place == GP_OTHER ? GK_NONE :
		    guard_body_key(gb, place, t);
		return 0;
	case JSCAN_OPEN:
		return guard_body_open(gb, t);
	case JSCAN_VALUE:
		place = t->depth <= GP_DEPTH ? gb->place[t->depth] : GP_OTHER;
		if (place == GP_CHOICES || place == GP_TOOL_CALLS)
			return -1;	/* an element that is no object */
		return guard_body_value(gb, t);
	case JSCAN_CLOSE:
		if (t->depth > GP_DEPTH)
			return 0;
		if (gb->place[t->depth] == GP_TOOL_CALLS)
			gb->calls = t->span;
		else if (gb->place[t->depth] == GP_USAGE)
			gb->usage = t->span;
		else if (gb->place[t->depth] == GP_CHOICE)
			return guard_body_choice(gb, t);
		return 0;
	}
	return 0;
}

/*
 * A buffered answer: each choice's text, and each of its tool calls'
 * arguments, through the list. A redaction rewrites them; a block
 * empties the choice (text "", tool_calls []) with finish_reason
 * "content_filter". GUARD_PASS leaves *out NULL: send the answer as it
 * came. GUARD_FAILED: it cannot be checked, do not send it.
 *
 * One strict walk of jscan finds the spans and checks them as it goes:
 * an answer that passes costs the unescaped texts' buffer and nothing
 * else; a changed one is the backend's bytes with those spans (and
 * finish_reason) changed, at most GUARD_EDITS_MAX edits, else it fails
 * closed.
 */
enum guard_result
guard_answer_body(const struct guard_list *list, enum route_kind route,
    const char *body, size_t len, char **out, size_t *outlen,
    struct guard_report *report)
{
	return guard_answer_body_usage(list, route, body, len, out, outlen,
	    report, NULL);
}

enum guard_result
guard_answer_body_usage(const struct guard_list *list, enum route_kind route,
    const char *body, size_t len, char **out, size_t *outlen,
    struct guard_report *report, struct jscan_span *usage)
{
	struct guard_body	 gb;
	struct jscan_keys	 keys;
	int			 rc;

	*out = NULL;
	*outlen = 0;
	if (usage != NULL)
		usage->present = 0;
	if (guard_list_empty(list) || route == ROUTE_EMBEDDINGS)
		return GUARD_PASS;
	memset(&gb, 0, sizeof(gb));
	gb.list = list;
	gb.report = report;
	gb.body = body;
	gb.chat = route == ROUTE_CHAT;
	memset(&keys, 0, sizeof(keys));
	rc = jscan_walk(body, len, GUARD_ANSWER_DEPTH, &keys, guard_body_step,
	    &gb, NULL, 0);
	jscan_keys_free(&keys);
	if (rc == -1 || !gb.saw_choices) {
		guard_out_edits_free(&gb.ed);
		return GUARD_FAILED;
	}
	if (usage != NULL)
		*usage = gb.usage;
	*out = guard_out_apply(&gb.ed, body, len, outlen);
	guard_out_edits_free(&gb.ed);
	return gb.worst;
}
