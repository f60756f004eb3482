/*
 * The output hook for Ollama's wire format: a buffered answer rewritten
 * whole, a stream line by line with its text (message.content for chat,
 * response for generate) through one stream filter, so only what a match
 * may still need is held back. A block ends the stream with a last line
 * of our own, done_reason "content_filter", nothing of the match sent. A
 * line or an answer the guardrails cannot read fails closed: the stream
 * ends with an error line, a buffered answer is not delivered. Worker
 * threads.
 */
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "guard.h"
#include "jscan.h"
#include "xmalloc.h"

struct guard_ollama {
	const struct guard_list	*list;
	struct guard_report	*report;
	enum route_kind		 route;
	struct guard_stream	*gs;
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
	return go;
}

void
guard_ollama_free(struct guard_ollama *go)
{
	if (go == NULL)
		return;
	guard_stream_free(go->gs);
	free(go->model);
	guard_out_clear(&go->out);
	free(go->text);
	jscan_keys_free(&go->keys);
	free(go);
}

/* A line of our own: text not yet done, or (text NULL) the blocked end. */
static void
guard_ollama_make(struct guard_ollama *go, const char *text, size_t len)
{
	guard_out_puts(&go->out, "{\"model\":");
	guard_out_puts(&go->out, go->model != NULL ? go->model : "\"\"");
	guard_out_puts(&go->out, ",\"created_at\":\"1970-01-01T00:00:00Z\",");
	guard_out_puts(&go->out, go->route == ROUTE_COMPLETIONS ?
	    "\"response\":" : "\"message\":{\"role\":\"assistant\","
	    "\"content\":");
	guard_out_quote(&go->out, text != NULL ? text : "", len);
	if (go->route != ROUTE_COMPLETIONS)
		guard_out_puts(&go->out, "}");
	guard_out_puts(&go->out, text != NULL ? ",\"done\":false}\n" :
	    ",\"done\":true,\"done_reason\":\"content_filter\"}\n");
}

static enum guard_result
guard_ollama_block(struct guard_ollama *go)
{
	guard_ollama_make(go, NULL, 0);
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

/* Release what the filter holds, in a line of our own. */
static enum guard_result
guard_ollama_flush(struct guard_ollama *go)
{
	enum guard_result	 res;
	const char		*rel;
	size_t			 rellen;

	res = guard_stream_finish(go->gs, &rel, &rellen);
	if (rellen > 0)
		guard_ollama_make(go, rel, rellen);
	if (res == GUARD_BLOCKED)
		return guard_ollama_block(go);
	return GUARD_PASS;
}

static void
guard_ollama_remember(struct guard_ollama *go, const char *line, size_t len)
{
	struct jscan_span	model;
	struct jscan_want	want[] = { { "model", &model } };

	if (jscan_object(line, len, 64, want, 1, NULL, 0) == -1 ||
	    !model.present || model.type != JSCAN_STRING)
		return;
	free(go->model);
	go->model = xstrndup(line + model.start, model.end - model.start);
}

enum guard_result
guard_ollama_line(struct guard_ollama *go, const char *line, size_t len,
    const char **out, size_t *outlen)
{
	struct ollama_obj	 o;
	enum guard_result	 res;
	const char		*rel;
	size_t			 rellen, mark;
	ssize_t			 tlen;
	int			 same;

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
	    o.text.type != JSCAN_NULL)) {
		res = guard_ollama_fail(go);
		goto done;
	}
	guard_ollama_remember(go, line, len);
	if (o.text.type == JSCAN_NULL) {
		if (!o.done)
			return GUARD_PASS;
		/* The last line has no text: what is held goes before it. */
		if ((res = guard_ollama_flush(go)) != GUARD_BLOCKED)
			guard_out_put(&go->out, line, len);
		goto done;
	}
	if (o.text.end - o.text.start > go->textcap) {
		go->textcap = o.text.end - o.text.start;
		go->text = xreallocarray(go->text, 1, go->textcap);
	}
	if ((tlen = jscan_string(line, &o.text, go->text, go->textcap)) < 0) {
		res = guard_ollama_fail(go);	/* cannot happen: it never grows */
		goto done;
	}
	/* The released text lands past the line, then is quoted into it. */
	guard_out_put(&go->out, line, o.text.start);
	mark = go->out.len;
	res = guard_stream_feed(go->gs, go->text, tlen, &rel, &rellen);
	guard_out_put(&go->out, rel, rellen);
	if (res != GUARD_BLOCKED && o.done) {
		res = guard_stream_finish(go->gs, &rel, &rellen);
		guard_out_put(&go->out, rel, rellen);
	}
	if (res == GUARD_BLOCKED) {
		go->out.len = 0;
		res = guard_ollama_block(go);
		goto done;
	}
	same = go->out.len - mark == (size_t)tlen &&
	    memcmp(go->out.buf + mark, go->text, tlen) == 0;
	if (same) {
		go->out.len = 0;
		return GUARD_PASS;
	}
	guard_out_quote_from(&go->out, mark);
	guard_out_put(&go->out, line + o.text.end, len - o.text.end);
	res = GUARD_REDACTED;
done:
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
 * A buffered answer: its text through the list. A redaction rewrites
 * it, a block empties it with done_reason "content_filter". GUARD_PASS
 * leaves *out NULL: send the answer as it came. GUARD_FAILED: it cannot
 * be checked, do not send it. Read as guard_answer_body() reads OpenAI's.
 */
enum guard_result
guard_ollama_body(const struct guard_list *list, enum route_kind route,
    const char *body, size_t len, char **out, size_t *outlen,
    struct guard_report *report)
{
	static const char	 insert[] =
	    ",\"done_reason\":\"content_filter\"";
	struct jscan_span	 message, response, reason, text;
	struct jscan_want	 want[] = {
		{ "message", &message },
		{ "response", &response },
		{ "done_reason", &reason },
	};
	struct jscan_keys	 keys;
	struct guard_edits	 ed;
	enum guard_result	 res;
	const char		*end;
	int			 ok;

	*out = NULL;
	*outlen = 0;
	if (guard_list_empty(list) || route == ROUTE_EMBEDDINGS)
		return GUARD_PASS;
	memset(&keys, 0, sizeof(keys));
	ok = jscan_object_strict(body, len, 64, want, sizeof(want) /
	    sizeof(want[0]), &keys, NULL, 0) == 0;
	jscan_keys_free(&keys);
	if (!ok)
		return GUARD_FAILED;
	/* Ollama always writes message.content, or response. */
	if (route == ROUTE_CHAT) {
		if (!message.present || message.type != JSCAN_OBJECT ||
		    !jscan_object_get(body, &message, "content", &text))
			return GUARD_FAILED;
	} else if (!response.present)
		return GUARD_FAILED;
	else
		text = response;
	if (text.type == JSCAN_NULL)
		return GUARD_PASS;	/* no text: tool calls, say */
	if (text.type != JSCAN_STRING ||
	    (end = memrchr(body, '}', len)) == NULL)
		return GUARD_FAILED;
	memset(&ed, 0, sizeof(ed));
	res = guard_out_text(&ed, list, body, &text, reason.present ?
	    &reason : NULL, (size_t)(end - body), insert, report);
	if (res != GUARD_FAILED)
		*out = guard_out_apply(&ed, body, len, outlen);
	guard_out_edits_free(&ed);
	return res;
}
