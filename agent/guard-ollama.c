/*
 * The output hook for Ollama's wire format: a buffered answer rewritten
 * whole, a stream line by line with its text (message.content for chat,
 * response for generate) through one stream filter and its thinking
 * (message.thinking, thinking: the model wrote it too) through another,
 * so only what a match may still need is held back; a chat's tool calls,
 * which Ollama sends whole in one line, with every string of their
 * arguments (keys too) read whole; generate's context, the answer as
 * token ids no guardrail reads, emptied. A block ends the stream with a
 * last line of our own, done_reason "content_filter", nothing of the
 * match sent. A line or an answer the guardrails cannot read fails closed: the
 * stream ends with an error line, a buffered answer is not delivered.
 * Worker threads.
 */
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "guard.h"
#include "jscan.h"
#include "xmalloc.h"

#define GUARD_OLLAMA_DEPTH	64	/* nesting read in a line or a body */

struct guard_ollama {
	const struct guard_list	*list;
	struct guard_report	*report;
	enum route_kind		 route;
	struct guard_stream	*gs;
	struct guard_stream	*think;		/* the thinking's filter */
	char			*model;		/* raw JSON, for lines we make */
	struct guard_out	 out;
	char			*text;		/* a line's text, unescaped */
	size_t			 textcap;
	struct jscan_keys	 keys;		/* a line's, for duplicates */
	int			 blocked;
};

struct guard_ollama *
guard_ollama_new(const struct guard_list *list, struct guard_report *report,
    enum route_kind route)
{
	struct guard_ollama	*go;

	go = xcalloc(1, sizeof(*go));
	go->list = list;
	go->report = report;
	go->route = route;
	go->gs = guard_stream_new(list, report);
	go->think = guard_stream_new(list, report);
	return go;
}

void
guard_ollama_free(struct guard_ollama *go)
{
	if (go == NULL)
		return;
	guard_stream_free(go->gs);
	guard_stream_free(go->think);
	free(go->model);
	guard_out_clear(&go->out);
	free(go->text);
	jscan_keys_free(&go->keys);
	free(go);
}

/*
 * A line of our own: text (or with thinking, thinking) not yet done, or
 * (text NULL) the blocked end.
 */
static void
guard_ollama_make(struct guard_ollama *go, const char *text, size_t len,
    int thinking)
{
	guard_out_puts(&go->out, "{\"model\":");
	guard_out_puts(&go->out, go->model != NULL ? go->model : "\"\"");
	guard_out_puts(&go->out, ",\"created_at\":\"1970-01-01T00:00:00Z\",");
	guard_out_puts(&go->out, go->route == ROUTE_COMPLETIONS ?
	    "\"response\":" : "\"message\":{\"role\":\"assistant\","
	    "\"content\":");
	if (thinking && text != NULL)
		guard_out_puts(&go->out, "\"\",\"thinking\":");
	guard_out_quote(&go->out, text != NULL ? text : "", len);
	if (go->route != ROUTE_COMPLETIONS)
		guard_out_puts(&go->out, "}");
	guard_out_puts(&go->out, text != NULL ? ",\"done\":false}\n" :
	    ",\"done\":true,\"done_reason\":\"content_filter\"}\n");
}

static enum guard_result
guard_ollama_block(struct guard_ollama *go)
{
	guard_ollama_make(go, NULL, 0, 0);
	go->blocked = 1;
	return GUARD_BLOCKED;
}

/* A line that cannot be checked: an error line ends the stream. */
static enum guard_result
guard_ollama_fail(struct guard_ollama *go)
{
	char	line[512];
	size_t	n;

	n = ollama_error_body(line, sizeof(line) - 1, GUARD_UNCHECKED);
	line[n++] = '\n';
	go->out.len = 0;
	guard_out_put(&go->out, line, n);
	go->blocked = 1;
	return GUARD_BLOCKED;
}

/* Release what a filter holds, in a line of our own. */
static enum guard_result
guard_ollama_release(struct guard_ollama *go, struct guard_stream *gs,
    int thinking)
{
	enum guard_result	 res;
	const char		*rel;
	size_t			 rellen;

	res = guard_stream_finish(gs, &rel, &rellen);
	if (rellen > 0)
		guard_ollama_make(go, rel, rellen, thinking);
	if (res == GUARD_BLOCKED)
		return guard_ollama_block(go);
	return GUARD_PASS;
}

/* Both filters' held text: the thinking came first. */
static enum guard_result
guard_ollama_flush(struct guard_ollama *go)
{
	if (guard_ollama_release(go, go->think, 1) == GUARD_BLOCKED)
		return GUARD_BLOCKED;
	return guard_ollama_release(go, go->gs, 0);
}

static void
guard_ollama_remember(struct guard_ollama *go, const char *line, size_t len)
{
	struct jscan_span	model;
	struct jscan_want	want[] = { { "model", &model } };

	if (jscan_object(line, len, GUARD_OLLAMA_DEPTH, want, 1, NULL,
	    0) == -1 || !model.present || model.type != JSCAN_STRING)
		return;
	free(go->model);
	go->model = xstrndup(line + model.start, model.end - model.start);
}

/* Every string in a tool call's arguments: a walk's steps. */
struct guard_ollama_args {
	const struct guard_list	*list;
	struct guard_report	*report;
	struct guard_edits	*ed;
	const char		*buf;	/* the answer, or the line */
	size_t			 base;	/* where the walked arguments start */
	int			 blocked;
	int			 key_redacted;	/* in the arguments walked */
};

/* One string of the arguments (base moves span into buf) through the list. */
static int
guard_ollama_arg(struct guard_ollama_args *a, const struct jscan_span *span)
{
	struct jscan_span	s = *span;
	enum guard_result	res;

	if (a->blocked)
		return 0;
	s.start += a->base;
	s.end += a->base;
	if (guard_out_check_edit(a->ed, a->list, a->buf, &s, a->report,
	    &res) == -1)
		return -1;
	a->blocked = res == GUARD_BLOCKED;
	return 0;
}

/* Keys too: a model can name a member with the text it should not say. */
static int
guard_ollama_arg_step(void *arg, const struct jscan_token *t)
{
	struct guard_ollama_args	*a = arg;
	size_t				 n = a->ed->n;

	if ((t->step != JSCAN_VALUE && t->step != JSCAN_KEY) ||
	    t->span.type != JSCAN_STRING)
		return 0;
	if (guard_ollama_arg(a, &t->span) == -1)
		return -1;
	if (t->step == JSCAN_KEY && a->ed->n > n)
		a->key_redacted = 1;
	return 0;
}

/*
 * Redacted keys may now equal another of their object: then the call is
 * blocked, as the input side refuses such a request, rather than sent
 * with a member a client would silently lose. args: the arguments' span
 * in a->buf, whose edits are a->ed's from first on.
 */
static void
guard_ollama_keys_unique(struct guard_ollama_args *a,
    const struct jscan_span *args, size_t first)
{
	struct guard_edits	 sub;
	struct jscan_keys	 dups;
	char			*text;
	size_t			 i, len;

	/* The arguments alone, as their edits leave them. */
	memset(&sub, 0, sizeof(sub));
	for (i = first; i < a->ed->n; i++) {
		sub.e[sub.n] = a->ed->e[i];
		sub.e[sub.n].start -= args->start;
		sub.e[sub.n].end -= args->start;
		sub.n++;
	}
	if ((text = guard_out_apply(&sub, a->buf + args->start, args->end -
	    args->start, &len)) == NULL) {
		a->blocked = 1;		/* not checked: fail closed */
		return;
	}
	memset(&dups, 0, sizeof(dups));
	if (jscan_walk(text, len, GUARD_OLLAMA_DEPTH, &dups, NULL, NULL, NULL,
	    0) == -1)
		a->blocked = 1;
	jscan_keys_free(&dups);
	free(text);
}

/*
 * A chat message's tool calls (calls: its tool_calls span): every string,
 * key or value, in each call's function.arguments (an object, as Ollama writes
 * them, or a string) through the list, whole: Ollama sends a call whole
 * in one line. Redactions become edits in a->ed, a block sets
 * a->blocked. Returns -1 when they cannot be read: fail closed.
 */
static int
guard_ollama_calls(struct guard_ollama_args *a, const struct jscan_span *calls)
{
	struct jscan_span	tc, fn, args;
	size_t			cursor, first;

	if (!calls->present || calls->type == JSCAN_NULL)
		return 0;
	if (calls->type != JSCAN_ARRAY)
		return -1;
	for (cursor = 0; jscan_array_next(a->buf, calls, &cursor, &tc);) {
		if (tc.type != JSCAN_OBJECT)
			return -1;
		if (!jscan_object_get(a->buf, &tc, "function", &fn) ||
		    fn.type == JSCAN_NULL)
			continue;
		if (fn.type != JSCAN_OBJECT)
			return -1;
		if (!jscan_object_get(a->buf, &fn, "arguments", &args))
			continue;
		a->base = 0;
		a->key_redacted = 0;
		first = a->ed->n;
		switch (args.type) {
		case JSCAN_OBJECT:
			a->base = args.start;
			if (jscan_walk(a->buf + args.start, args.end -
			    args.start, 64, NULL, guard_ollama_arg_step, a,
			    NULL, 0) == -1)
				return -1;
			if (a->key_redacted && !a->blocked)
				guard_ollama_keys_unique(a, &args, first);
			break;
		case JSCAN_STRING:
			if (guard_ollama_arg(a, &args) == -1)
				return -1;
			break;
		case JSCAN_ARRAY:
			return -1;	/* text in it, where none belongs */
		default:
			break;		/* a number or a null holds no text */
		}
	}
	return 0;
}

/*
 * A line's tool calls through the list: NULL when nothing changes, else
 * the line with their redactions (*fixedlen bytes, freed by the caller).
 * -1 in *res: fail; GUARD_BLOCKED: a block.
 */
static char *
guard_ollama_line_calls(struct guard_ollama *go, const char *line,
    size_t len, const struct jscan_span *calls, size_t *fixedlen, int *res)
{
	struct guard_edits		 ed;
	struct guard_ollama_args	 a;
	char				*fixed = NULL;

	*res = GUARD_PASS;
	*fixedlen = 0;
	if (!calls->present || calls->type == JSCAN_NULL)
		return NULL;
	memset(&ed, 0, sizeof(ed));
	memset(&a, 0, sizeof(a));
	a.list = go->list;
	a.report = go->report;
	a.ed = &ed;
	a.buf = line;
	if (guard_ollama_calls(&a, calls) == -1)
		*res = -1;
	else if (a.blocked)
		*res = GUARD_BLOCKED;
	else if (ed.n > 0)
		fixed = guard_out_apply(&ed, line, len, fixedlen);
	guard_out_edits_free(&ed);
	return fixed;
}

/*
 * Generate's context: the conversation as token ids, the answer's among
 * them, which no guardrail can read. A line (or answer) that holds any
 * is the same with none: NULL when there is nothing to take out, else
 * the new text (*fixedlen bytes, freed by the caller).
 */
static char *
guard_ollama_no_context(const char *buf, size_t len,
    const struct jscan_span *context, size_t *fixedlen)
{
	struct guard_edits	 ed;
	char			*fixed;

	*fixedlen = 0;
	if (!context->present || context->type != JSCAN_ARRAY ||
	    context->end - context->start <= 2)
		return NULL;
	memset(&ed, 0, sizeof(ed));
	if (guard_out_edit(&ed, context->start, context->end, "[]", NULL,
	    0) == GUARD_FAILED)
		return NULL;
	fixed = guard_out_apply(&ed, buf, len, fixedlen);
	guard_out_edits_free(&ed);
	return fixed;
}

/* A text of a line and its filter. */
struct guard_ollama_piece {
	const struct jscan_span	*span;
	struct guard_stream	*gs;
};

enum guard_result
guard_ollama_line(struct guard_ollama *go, const char *line, size_t len,
    const char **out, size_t *outlen)
{
	struct guard_ollama_piece p[2], tmp;
	struct ollama_obj	 o;
	enum guard_result	 res;
	const char		*rel;
	char			*fixed = NULL;
	size_t			 rellen, mark, fixedlen, linestart, pos, k, n;
	ssize_t			 tlen;
	int			 same, calls, changed;

	go->out.len = 0;
	*out = line;
	*outlen = len;
	if (go->blocked) {
		*outlen = 0;
		return GUARD_BLOCKED;
	}
	/* Ollama always writes message.content, or response. */
	if (ollama_scan(line, len, go->route, &o, &go->keys) == -1 || o.odd ||
	    !o.text.present || (o.text.type != JSCAN_STRING &&
	    o.text.type != JSCAN_NULL) || (o.thinking.present &&
	    o.thinking.type != JSCAN_STRING &&
	    o.thinking.type != JSCAN_NULL)) {
		res = guard_ollama_fail(go);
		goto done;
	}
	guard_ollama_remember(go, line, len);
	/* Its tool calls first; the text is then read in what they left. */
	fixed = guard_ollama_line_calls(go, line, len, &o.calls, &fixedlen,
	    &calls);
	if (calls == -1) {
		res = guard_ollama_fail(go);
		goto done;
	}
	if (calls == GUARD_BLOCKED) {
		res = guard_ollama_block(go);
		goto done;
	}
	/* Generate has no tool calls; its last line may have a context. */
	if (fixed == NULL)
		fixed = guard_ollama_no_context(line, len, &o.context,
		    &fixedlen);
	if (fixed != NULL) {
		line = fixed;
		len = fixedlen;
		if (ollama_scan(line, len, go->route, &o, NULL) == -1) {
			res = guard_ollama_fail(go);	/* cannot be */
			goto done;
		}
	}
	/* The texts, in the order they stand, each through its filter. */
	n = 0;
	if (o.text.type == JSCAN_STRING)
		p[n++] = (struct guard_ollama_piece){ &o.text, go->gs };
	if (o.thinking.type == JSCAN_STRING)
		p[n++] = (struct guard_ollama_piece){ &o.thinking, go->think };
	if (n == 2 && p[1].span->start < p[0].span->start) {
		tmp = p[0];
		p[0] = p[1];
		p[1] = tmp;
	}
	/* The last line: a filter it has no text for releases first. */
	if (o.done && ((o.thinking.type != JSCAN_STRING &&
	    guard_ollama_release(go, go->think, 1) == GUARD_BLOCKED) ||
	    (o.text.type != JSCAN_STRING &&
	    guard_ollama_release(go, go->gs, 0) == GUARD_BLOCKED))) {
		res = GUARD_BLOCKED;
		goto done;
	}
	if (n == 0) {
		if (go->out.len == 0)
			goto as_it_is;
		guard_out_put(&go->out, line, len);
		res = GUARD_REDACTED;
		goto done;
	}
	linestart = go->out.len;
	changed = linestart > 0;
	for (k = 0, pos = 0; k < n; k++) {
		if (p[k].span->end - p[k].span->start > go->textcap) {
			go->textcap = p[k].span->end - p[k].span->start;
			go->text = xreallocarray(go->text, 1, go->textcap);
		}
		if ((tlen = jscan_string(line, p[k].span, go->text,
		    go->textcap)) < 0) {
			res = guard_ollama_fail(go);	/* it never grows */
			goto done;
		}
		/* The released text lands past the line, then is quoted. */
		guard_out_put(&go->out, line + pos, p[k].span->start - pos);
		mark = go->out.len;
		res = guard_stream_feed(p[k].gs, go->text, tlen, &rel,
		    &rellen);
		guard_out_put(&go->out, rel, rellen);
		if (res != GUARD_BLOCKED && o.done) {
			res = guard_stream_finish(p[k].gs, &rel, &rellen);
			guard_out_put(&go->out, rel, rellen);
		}
		if (res == GUARD_BLOCKED) {
			/* What was released before the line still goes. */
			go->out.len = linestart;
			res = guard_ollama_block(go);
			goto done;
		}
		same = go->out.len - mark == (size_t)tlen &&
		    memcmp(go->out.buf + mark, go->text, tlen) == 0;
		changed |= !same;
		guard_out_quote_from(&go->out, mark);
		pos = p[k].span->end;
	}
	if (!changed) {
		go->out.len = 0;
		goto as_it_is;
	}
	guard_out_put(&go->out, line + pos, len - pos);
	res = GUARD_REDACTED;
	goto done;
as_it_is:
	/* The line as it came, or as its tool calls' redactions left it. */
	if (fixed == NULL)
		return GUARD_PASS;
	guard_out_put(&go->out, line, len);
	res = GUARD_REDACTED;
done:
	free(fixed);
	*out = go->out.buf != NULL ? go->out.buf : "";
	*outlen = go->out.len;
	return res;
}

enum guard_result
guard_ollama_finish(struct guard_ollama *go, const char **out,
    size_t *outlen)
{
	enum guard_result	res;

	go->out.len = 0;
	res = go->blocked ? GUARD_BLOCKED : guard_ollama_flush(go);
	*out = go->out.buf != NULL ? go->out.buf : "";
	*outlen = go->out.len;
	return res;
}

/*
 * A buffered answer: its text, its thinking, and every string in its tool
 * calls' arguments, through the list; generate's context (token ids)
 * emptied. A redaction rewrites them; a block empties the texts and the
 * tool calls with done_reason "content_filter". GUARD_PASS leaves *out NULL: send the answer as it
 * came. GUARD_FAILED: it cannot be checked, do not send it. Read as
 * guard_answer_body() reads OpenAI's.
 */
enum guard_result
guard_ollama_body(const struct guard_list *list, enum route_kind route,
    const char *body, size_t len, char **out, size_t *outlen,
    struct guard_report *report)
{
	static const char		 insert[] =
	    ",\"done_reason\":\"content_filter\"";
	struct jscan_span		 reason;
	struct jscan_want		 want[] = {
		{ "done_reason", &reason },
	};
	struct ollama_obj		 o;
	struct jscan_keys		 keys;
	struct guard_edits		 ed;
	struct guard_ollama_args	 a;
	enum guard_result		 res = GUARD_PASS;
	const char			*end;
	int				 ok;

	*out = NULL;
	*outlen = 0;
	if (guard_list_empty(list) || route == ROUTE_EMBEDDINGS)
		return GUARD_PASS;
	memset(&keys, 0, sizeof(keys));
	ok = ollama_scan(body, len, route, &o, &keys) == 0 && !o.odd &&
	    jscan_object(body, len, GUARD_OLLAMA_DEPTH, want, 1, NULL, 0) == 0;
	jscan_keys_free(&keys);
	/* Ollama always writes message.content, or response. */
	if (!ok || !o.text.present || (o.text.type != JSCAN_STRING &&
	    o.text.type != JSCAN_NULL) || (o.thinking.present &&
	    o.thinking.type != JSCAN_STRING &&
	    o.thinking.type != JSCAN_NULL) ||
	    (end = memrchr(body, '}', len)) == NULL)
		return GUARD_FAILED;
	memset(&ed, 0, sizeof(ed));
	memset(&a, 0, sizeof(a));
	a.list = list;
	a.report = report;
	a.ed = &ed;
	a.buf = body;
	if (guard_ollama_calls(&a, &o.calls) == -1)
		goto fail;
	if (!a.blocked && o.text.type == JSCAN_STRING) {
		if (guard_out_check_edit(&ed, list, body, &o.text, report,
		    &res) == -1)
			goto fail;
		a.blocked = res == GUARD_BLOCKED;
	}
	if (!a.blocked && o.thinking.type == JSCAN_STRING) {
		if (guard_out_check_edit(&ed, list, body, &o.thinking, report,
		    &res) == -1)
			goto fail;
		a.blocked = res == GUARD_BLOCKED;
	}
	if (a.blocked) {
		/* The texts and the tool calls go, and the reason says so. */
		guard_out_edits_free(&ed);
		if ((o.text.type == JSCAN_STRING && guard_out_edit(&ed,
		    o.text.start, o.text.end, "\"\"", NULL, 0) ==
		    GUARD_FAILED) || (o.thinking.type == JSCAN_STRING &&
		    guard_out_edit(&ed, o.thinking.start, o.thinking.end,
		    "\"\"", NULL, 0) == GUARD_FAILED) ||
		    (o.calls.present && o.calls.type !=
		    JSCAN_NULL && guard_out_edit(&ed, o.calls.start,
		    o.calls.end, "[]", NULL, 0) == GUARD_FAILED) ||
		    (reason.present ? guard_out_edit(&ed, reason.start,
		    reason.end, "\"content_filter\"", NULL, 0) :
		    guard_out_edit(&ed, (size_t)(end - body),
		    (size_t)(end - body), insert, NULL, 0)) == GUARD_FAILED)
			goto fail;
		res = GUARD_BLOCKED;
	} else if (ed.n > 0)
		res = GUARD_REDACTED;
	/* Generate's token ids hold the answer too: none go out. */
	if (o.context.present && o.context.type == JSCAN_ARRAY &&
	    o.context.end - o.context.start > 2) {
		if (guard_out_edit(&ed, o.context.start, o.context.end, "[]",
		    NULL, 0) == GUARD_FAILED)
			goto fail;
		if (res == GUARD_PASS)
			res = GUARD_REDACTED;
	}
	guard_out_sort(&ed, 0);
	*out = guard_out_apply(&ed, body, len, outlen);
	guard_out_edits_free(&ed);
	return res;
fail:
	guard_out_edits_free(&ed);
	return GUARD_FAILED;
}
