/*
 * The output hook for Ollama's wire format: a buffered answer rewritten
 * whole, a stream line by line with its text (message.content for chat,
 * response for generate) through one stream filter, so only what a match
 * may still need is held back. A block ends the stream with a last line
 * of our own, done_reason "content_filter", nothing of the match sent.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "agent.h"
#include "guard.h"
#include "log.h"
#include "xmalloc.h"

struct guard_ollama {
	const struct guard_list	*list;
	struct guard_report	*report;
	enum route_kind		 route;
	struct guard_stream	*gs;
	char			*model;		/* raw JSON, for lines we make */
	char			*out;
	size_t			 outlen;
	size_t			 outcap;
	char			*text;		/* a line's text, unescaped */
	size_t			 textcap;
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
	free(go->out);
	free(go->text);
	free(go);
}

static void
guard_ollama_put(struct guard_ollama *go, const char *s, size_t n)
{
	if (go->outlen + n + 1 > go->outcap) {
		go->outcap = (go->outlen + n + 1) * 2;
		go->out = xreallocarray(go->out, 1, go->outcap);
	}
	memcpy(go->out + go->outlen, s, n);
	go->outlen += n;
}

static void
guard_ollama_puts(struct guard_ollama *go, const char *s)
{
	guard_ollama_put(go, s, strlen(s));
}

static void
guard_ollama_quote(struct guard_ollama *go, const char *s, size_t n)
{
	size_t	need = 6 * n + 3;

	if (go->outlen + need + 1 > go->outcap) {
		go->outcap = (go->outlen + need + 1) * 2;
		go->out = xreallocarray(go->out, 1, go->outcap);
	}
	go->outlen += jscan_quote(go->out + go->outlen, need, s, n);
}

/* A line of our own: text not yet done, or (text NULL) the blocked end. */
static void
guard_ollama_make(struct guard_ollama *go, const char *text, size_t len)
{
	guard_ollama_puts(go, "{\"model\":");
	guard_ollama_puts(go, go->model != NULL ? go->model : "\"\"");
	guard_ollama_puts(go, ",\"created_at\":\"1970-01-01T00:00:00Z\",");
	guard_ollama_puts(go, go->route == ROUTE_COMPLETIONS ?
	    "\"response\":" : "\"message\":{\"role\":\"assistant\","
	    "\"content\":");
	guard_ollama_quote(go, text != NULL ? text : "", len);
	if (go->route != ROUTE_COMPLETIONS)
		guard_ollama_puts(go, "}");
	guard_ollama_puts(go, text != NULL ? ",\"done\":false}\n" :
	    ",\"done\":true,\"done_reason\":\"content_filter\"}\n");
}

static enum guard_result
guard_ollama_block(struct guard_ollama *go)
{
	guard_ollama_make(go, NULL, 0);
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

	go->outlen = 0;
	*out = line;
	*outlen = len;
	if (go->blocked) {
		*outlen = 0;
		return GUARD_BLOCKED;
	}
	if (ollama_scan(line, len, go->route, &o) == -1)
		return GUARD_PASS;
	guard_ollama_remember(go, line, len);
	if (!o.text.present) {
		if (!o.done)
			return GUARD_PASS;
		/* The last line has no text: what is held goes before it. */
		if ((res = guard_ollama_flush(go)) != GUARD_BLOCKED)
			guard_ollama_put(go, line, len);
		goto done;
	}
	if (o.text.end - o.text.start > go->textcap) {
		go->textcap = o.text.end - o.text.start;
		go->text = xreallocarray(go->text, 1, go->textcap);
	}
	tlen = jscan_string(line, &o.text, go->text, go->textcap);
	if (tlen < 0)
		return GUARD_PASS;	/* cannot happen: it never grows */
	/* The released text lands past the line, then is quoted into it. */
	guard_ollama_put(go, line, o.text.start);
	mark = go->outlen;
	res = guard_stream_feed(go->gs, go->text, tlen, &rel, &rellen);
	guard_ollama_put(go, rel, rellen);
	if (res != GUARD_BLOCKED && o.done) {
		res = guard_stream_finish(go->gs, &rel, &rellen);
		guard_ollama_put(go, rel, rellen);
	}
	if (res == GUARD_BLOCKED) {
		go->outlen = 0;
		res = guard_ollama_block(go);
		goto done;
	}
	same = go->outlen - mark == (size_t)tlen &&
	    memcmp(go->out + mark, go->text, tlen) == 0;
	if (same) {
		go->outlen = 0;
		return GUARD_PASS;
	}
	{
		char	*plain = xstrndup(go->out + mark, go->outlen - mark);
		size_t	 plainlen = go->outlen - mark;

		go->outlen = mark;
		guard_ollama_quote(go, plain, plainlen);
		free(plain);
	}
	guard_ollama_put(go, line + o.text.end, len - o.text.end);
	res = GUARD_REDACTED;
done:
	*out = go->out != NULL ? go->out : "";
	*outlen = go->outlen;
	return res;
}

enum guard_result
guard_ollama_finish(struct guard_ollama *go, const char **out,
    size_t *outlen)
{
	enum guard_result	res;

	go->outlen = 0;
	res = go->blocked ? GUARD_BLOCKED : guard_ollama_flush(go);
	*out = go->out != NULL ? go->out : "";
	*outlen = go->outlen;
	return res;
}

/*
 * A buffered answer: its text through the list. A redaction rewrites
 * it, a block empties it with done_reason "content_filter". GUARD_PASS
 * leaves *out NULL: send the answer as it came.
 */
enum guard_result
guard_ollama_body(const struct guard_list *list, enum route_kind route,
    const char *body, size_t len, char **out, size_t *outlen,
    struct guard_report *report)
{
	cJSON			*doc, *holder, *text;
	enum guard_result	 res;
	char			*redacted = NULL;
	size_t			 rlen;

	*out = NULL;
	*outlen = 0;
	if (guard_list_empty(list) || route == ROUTE_EMBEDDINGS ||
	    (doc = cJSON_ParseWithLength(body, len)) == NULL)
		return GUARD_PASS;
	holder = route == ROUTE_CHAT ?
	    cJSON_GetObjectItemCaseSensitive(doc, "message") : doc;
	text = cJSON_GetObjectItemCaseSensitive(holder,
	    route == ROUTE_CHAT ? "content" : "response");
	if (!cJSON_IsString(text)) {
		cJSON_Delete(doc);
		return GUARD_PASS;
	}
	res = guard_text(list, text->valuestring, strlen(text->valuestring),
	    &redacted, &rlen, report);
	if (res != GUARD_BLOCKED && guard_length(list,
	    guard_utf8_chars(text->valuestring, strlen(text->valuestring)), 0,
	    report) == GUARD_BLOCKED)
		res = GUARD_BLOCKED;
	if (res == GUARD_REDACTED)
		cJSON_SetValuestring(text, redacted);
	else if (res == GUARD_BLOCKED) {
		cJSON_SetValuestring(text, "");
		cJSON_DeleteItemFromObjectCaseSensitive(doc, "done_reason");
		cJSON_AddStringToObject(doc, "done_reason", "content_filter");
	}
	free(redacted);
	if (res != GUARD_PASS) {
		if ((*out = cJSON_PrintUnformatted(doc)) == NULL)
			fatalx("%s: out of memory", __func__);
		*outlen = strlen(*out);
	}
	cJSON_Delete(doc);
	return res;
}
