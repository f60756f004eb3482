/*
 * Token accounting for one request, on its worker thread: the backend's
 * usage from an answer or a stream's events (chat completions' or the
 * Responses API's), and what the estimate falls
 * back on when it gives none (about four bytes of text a token): the
 * answer text actually delivered (the prompt's is request_scan()'s).
 * The answer text kept for a trace is bounded in bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "jscan.h"
#include "sse.h"
#include "xmalloc.h"

#define METER_MAX_DEPTH		64
#define METER_MAX_TEXT		(64 * 1024)	/* completion text kept */

void
meter_init(struct meter *m, int keep_text)
{
	memset(m, 0, sizeof(*m));
	m->keep_text = keep_text;
}

void
meter_clear(struct meter *m)
{
	free(m->text);
	memset(m, 0, sizeof(*m));
}

/* Tokens for bytes of text, rounded up: the estimate's rule. */
int64_t
meter_estimate(size_t bytes)
{
	return (int64_t)((bytes + 3) / 4);
}

/* A non-negative integer, or 0. */
static int64_t
meter_count(const char *buf, const struct jscan_span *v)
{
	int64_t	n;

	if (!v->present || v->type != JSCAN_NUMBER ||
	    jscan_int64(buf, v, &n) == -1 || n < 0)
		return 0;
	return n;
}

/*
 * Take the counts of a usage object: chat completions' (prompt_tokens,
 * completion_tokens, prompt_tokens_details.cached_tokens) or the
 * Responses API's (input_tokens, output_tokens,
 * input_tokens_details.cached_tokens), whichever it has. One pass over
 * its members, one over the details'.
 */
static void
meter_take_usage(struct meter *m, const char *buf,
    const struct jscan_span *usage)
{
	struct jscan_span	 pt, ct, it, ot, ptd, itd, cached;
	const struct jscan_span	*details;
	struct jscan_want	 want[] = {
		{ "prompt_tokens", &pt },
		{ "completion_tokens", &ct },
		{ "prompt_tokens_details", &ptd },
		{ "input_tokens", &it },
		{ "output_tokens", &ot },
		{ "input_tokens_details", &itd },
	};
	struct jscan_want	 want_cached = { "cached_tokens", &cached };
	int			 responses;

	jscan_object_fields(buf, usage, want, sizeof(want) / sizeof(want[0]));
	responses = !pt.present && it.present;
	m->has_usage = 1;
	m->prompt_tokens = meter_count(buf, responses ? &it : &pt);
	m->completion_tokens = meter_count(buf, responses ? &ot : &ct);
	m->cached_tokens = 0;
	details = responses ? &itd : &ptd;
	if (details->present && details->type == JSCAN_OBJECT &&
	    jscan_object_fields(buf, details, &want_cached, 1) > 0)
		m->cached_tokens = meter_count(buf, &cached);
	if (m->cached_tokens > m->prompt_tokens)
		m->cached_tokens = m->prompt_tokens;
}

/*
 * Count (and keep, when logging content) one piece of answer text: at
 * most METER_MAX_TEXT bytes are kept in all, cut between characters.
 */
static void
meter_text(struct meter *m, const char *buf, const struct jscan_span *s)
{
	size_t	len, room;
	ssize_t	n;

	if (s->type != JSCAN_STRING)
		return;
	len = s->end - s->start - 2;	/* escapes count a little extra */
	m->content_bytes += len;
	if (!m->keep_text || m->text_len >= METER_MAX_TEXT)
		return;
	/*
	 * Unescaped, a piece is never longer than its span. One that may not
	 * fit is the last kept, so what is kept is a prefix of the answer.
	 */
	room = METER_MAX_TEXT - m->text_len;
	if (len <= room)
		room = len;
	else
		m->keep_text = 0;
	if (m->text_len + room + 1 > m->text_cap) {
		m->text_cap = m->text_len + room + 1 + 256;
		if (m->text_cap > METER_MAX_TEXT + 1)
			m->text_cap = METER_MAX_TEXT + 1;
		m->text = xreallocarray(m->text, 1, m->text_cap);
	}
	if ((n = jscan_string_cut(buf, s, m->text + m->text_len,
	    room + 1)) > 0)
		m->text_len += strnlen(m->text + m->text_len, (size_t)n);
}

/* The answer text of each choice: message/delta content, or text. */
static void
meter_choices(struct meter *m, const char *buf, const struct jscan_span *a)
{
	struct jscan_span	 choice, inner, content;
	size_t			 cursor = 0;

	while (jscan_array_next(buf, a, &cursor, &choice)) {
		if (choice.type != JSCAN_OBJECT)
			continue;
		if ((jscan_object_get(buf, &choice, "delta", &inner) ||
		    jscan_object_get(buf, &choice, "message", &inner)) &&
		    inner.type == JSCAN_OBJECT &&
		    jscan_object_get(buf, &inner, "content", &content))
			meter_text(m, buf, &content);
		else if (jscan_object_get(buf, &choice, "text", &content))
			meter_text(m, buf, &content);
	}
}

/* The text of a Response's output: each message's output_text parts. */
static void
meter_output(struct meter *m, const char *buf, const struct jscan_span *a)
{
	struct jscan_span	 item, content, part, text;
	size_t			 cursor = 0, inner;

	while (jscan_array_next(buf, a, &cursor, &item)) {
		if (item.type != JSCAN_OBJECT ||
		    !jscan_object_get(buf, &item, "content", &content) ||
		    content.type != JSCAN_ARRAY)
			continue;
		inner = 0;
		while (jscan_array_next(buf, &content, &inner, &part))
			if (part.type == JSCAN_OBJECT &&
			    jscan_object_get(buf, &part, "text", &text))
				meter_text(m, buf, &text);
	}
}

/* Is the span the string lit? */
#define METER_IS(buf, s, lit) \
	((s)->present && (s)->type == JSCAN_STRING && \
	    jscan_string_eq(buf, s, lit, sizeof(lit) - 1))

/*
 * A Responses API stream event (its "type" the span t): the text of an
 * output_text delta, and the usage of the response that ends the stream.
 */
static void
meter_responses_event(struct meter *m, const char *buf,
    const struct jscan_span *t, const struct jscan_span *delta,
    const struct jscan_span *response)
{
	struct jscan_span	usage;

	if (METER_IS(buf, t, "response.output_text.delta") && delta->present)
		meter_text(m, buf, delta);
	else if ((METER_IS(buf, t, "response.completed") ||
	    METER_IS(buf, t, "response.incomplete") ||
	    METER_IS(buf, t, "response.failed")) && response->present &&
	    response->type == JSCAN_OBJECT &&
	    jscan_object_get(buf, response, "usage", &usage) &&
	    usage.type == JSCAN_OBJECT)
		meter_take_usage(m, buf, &usage);
}

/*
 * One JSON object from the backend: a whole answer or a stream event's
 * data, in chat completions' shape or the Responses API's (a Response, or
 * one of its stream events). Returns METER_USAGE_ONLY for a chunk that
 * only carries usage (choices empty: what include_usage adds), else 0.
 */
int
meter_json(struct meter *m, const char *buf, size_t len)
{
	struct jscan_span	 usage, choices, output, type, delta, response;
	struct jscan_want	 want[] = {
		{ "usage", &usage },
		{ "choices", &choices },
		{ "output", &output },
		{ "type", &type },
		{ "delta", &delta },
		{ "response", &response },
	};
	size_t			 cursor = 0;
	struct jscan_span	 first;

	if (jscan_object(buf, len, METER_MAX_DEPTH, want,
	    sizeof(want) / sizeof(want[0]), NULL, 0) == -1)
		return 0;
	if (choices.present && choices.type == JSCAN_ARRAY)
		meter_choices(m, buf, &choices);
	else if (output.present && output.type == JSCAN_ARRAY)
		meter_output(m, buf, &output);
	else if (type.present && type.type == JSCAN_STRING)
		meter_responses_event(m, buf, &type, &delta, &response);
	if (!usage.present || usage.type != JSCAN_OBJECT)
		return 0;
	meter_take_usage(m, buf, &usage);
	if (choices.present && choices.type == JSCAN_ARRAY &&
	    !jscan_array_next(buf, &choices, &cursor, &first))
		return METER_USAGE_ONLY;
	return 0;
}

/*
 * The span of the object after the last "usage" key of buf (a backend's
 * answer, usage last as OpenAI puts it), found without parsing the rest:
 * the key cannot occur inside a string, where quotes are escaped.
 * Returns 0, or -1 when there is none.
 */
static int
meter_find_usage(const char *buf, size_t len, size_t *start, size_t *end)
{
	static const char	 key[] = "\"usage\"";
	const char		*p, *hit = NULL;
	size_t			 i, depth = 0;
	int			 in_string = 0;

	for (p = buf; (p = memmem(p, len - (p - buf), key,
	    sizeof(key) - 1)) != NULL; p += sizeof(key) - 1)
		hit = p;
	if (hit == NULL)
		return -1;
	for (i = hit - buf + sizeof(key) - 1; i < len &&
	    strchr(" \t\r\n", buf[i]) != NULL; i++)
		;
	if (i == len || buf[i++] != ':')
		return -1;
	for (; i < len && strchr(" \t\r\n", buf[i]) != NULL; i++)
		;
	if (i == len || buf[i] != '{')
		return -1;
	*start = i;
	for (; i < len; i++) {
		if (in_string) {
			if (buf[i] == '\\')
				i++;
			else if (buf[i] == '"')
				in_string = 0;
		} else if (buf[i] == '"')
			in_string = 1;
		else if (buf[i] == '{')
			depth++;
		else if (buf[i] == '}' && --depth == 0) {
			*end = i + 1;
			return 0;
		}
	}
	return -1;
}

/*
 * A whole (non-stream) answer. The usage object alone is read when that
 * is all we need; the answer's text only when there is no usage (for the
 * estimate) or the domain keeps it.
 */
void
meter_answer(struct meter *m, const char *buf, size_t len)
{
	struct jscan_span	 usage;
	size_t			 start, end;

	if (!m->keep_text && meter_find_usage(buf, len, &start, &end) == 0 &&
	    jscan_object(buf + start, end - start, METER_MAX_DEPTH, NULL, 0,
	    NULL, 0) == 0) {
		usage = (struct jscan_span){ JSCAN_OBJECT, 0, end - start, 1 };
		meter_take_usage(m, buf + start, &usage);
		return;
	}
	meter_json(m, buf, len);
}

/*
 * A whole answer whose usage object the output guardrails' strict walk
 * already found: read from there, the answer not searched again.
 */
void
meter_answer_usage(struct meter *m, const char *buf, size_t len,
    const struct jscan_span *usage)
{
	if (m->keep_text || !usage->present || usage->type != JSCAN_OBJECT) {
		meter_answer(m, buf, len);
		return;
	}
	meter_take_usage(m, buf, usage);
}

/* One SSE event as relayed: its data is a JSON object, or [DONE]. */
int
meter_event(struct meter *m, const char *event, size_t len)
{
	char	 small[4096], *data = small;
	ssize_t	 n;
	int	 rc;

	if (len >= sizeof(small))
		data = xmalloc(len + 1);
	n = sse_event_data(event, len, data, len >= sizeof(small) ? len + 1 :
	    sizeof(small));
	rc = meter_event_data(m, data, n);
	if (data != small)
		free(data);
	return rc;
}

/* An SSE event's data, decoded once for the meter and the guardrails. */
int
meter_event_data(struct meter *m, const char *data, ssize_t n)
{
	if (n > 0 && data[0] == '{')
		return meter_json(m, data, (size_t)n);
	return 0;
}

/*
 * One Ollama object, a whole answer or a stream line: its text, and the
 * counts its last one carries (prompt_eval_count, eval_count).
 */
void
meter_ollama(struct meter *m, const char *buf, size_t len,
    enum route_kind route)
{
	struct ollama_obj	o;

	if (ollama_scan(buf, len, route, &o, NULL) == -1)
		return;
	if (o.text.present)
		meter_text(m, buf, &o.text);
	if (!o.prompt_eval_count.present && !o.eval_count.present)
		return;
	m->has_usage = 1;
	m->prompt_tokens = meter_count(buf, &o.prompt_eval_count);
	m->completion_tokens = meter_count(buf, &o.eval_count);
	m->cached_tokens = 0;
}
