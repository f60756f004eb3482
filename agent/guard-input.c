/*
 * The input hook: every text value of a request's messages (strings and
 * text parts of multi-part content), prompt or input goes through the
 * model's input guardrails before anything is sent upstream. Every route
 * that forwards a prompt calls guard_input(); none can skip it.
 */
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "guard.h"
#include "xmalloc.h"

#define GUARD_INPUT_DEPTH	64

/* Values under these keys are never text (roles, part types, ids, URLs). */
static const char *const guard_input_skip[] = {
	"role", "type", "id", "tool_call_id", "url", "detail", "format",
};

struct guard_input_splice {
	size_t	 start;		/* the string's span, quotes included */
	size_t	 end;
	char	*quoted;	/* its redacted text as a JSON string */
	size_t	 len;
};

struct guard_input {
	const struct guard_list		*list;
	struct guard_report		*report;
	const char			*body;
	struct guard_input_splice	*sp;
	size_t				 nsp;
	uint64_t			 chars;
	char				*text;		/* unescaped value */
	size_t				 textcap;
};

static int
guard_input_skipped(const char *body, const struct jscan_span *key)
{
	size_t	i;

	for (i = 0; i < sizeof(guard_input_skip) /
	    sizeof(guard_input_skip[0]); i++)
		if (jscan_string_eq(body, key, guard_input_skip[i],
		    strlen(guard_input_skip[i])))
			return 1;
	return 0;
}

/* One string value: through the list; a redaction becomes a splice. */
static enum guard_result
guard_input_string(struct guard_input *gi, size_t start, size_t end)
{
	struct jscan_span		 s = { JSCAN_STRING, start, end, 1 };
	struct guard_input_splice	*sp;
	enum guard_result		 res;
	char				*out;
	size_t				 outlen, cap;
	ssize_t				 n;

	if (end - start > gi->textcap) {
		gi->textcap = end - start;
		gi->text = xreallocarray(gi->text, 1, gi->textcap);
	}
	if ((n = jscan_string(gi->body, &s, gi->text, gi->textcap)) < 0)
		return GUARD_PASS;	/* cannot happen: it never grows */
	gi->chars += guard_utf8_chars(gi->text, n);
	res = guard_text(gi->list, gi->text, n, &out, &outlen, gi->report);
	if (res != GUARD_REDACTED)
		return res;
	gi->sp = xreallocarray(gi->sp, gi->nsp + 1, sizeof(*gi->sp));
	sp = &gi->sp[gi->nsp++];
	sp->start = start;
	sp->end = end;
	cap = 6 * outlen + 3;
	sp->quoted = xmalloc(cap);
	sp->len = jscan_quote(sp->quoted, cap, out, outlen);
	free(out);
	return GUARD_REDACTED;
}

/* Past the array that starts at b[i] (validated JSON): its closing ']'. */
static size_t
guard_input_array_end(const char *b, size_t i, size_t end)
{
	int	depth = 0;

	for (; i < end; i++) {
		if (b[i] == '"') {
			for (i++; b[i] != '"'; i++)
				if (b[i] == '\\')
					i++;
		} else if (b[i] == '[' || b[i] == '{')
			depth++;
		else if ((b[i] == ']' || b[i] == '}') && --depth == 0)
			break;
	}
	return i;
}

/*
 * Every string value inside a validated span, whatever its nesting, with
 * the key it is under: duplicate or escaped keys change nothing, and no
 * field of a message is overlooked but the few that are never text.
 */
static enum guard_result
guard_input_walk(struct guard_input *gi, const struct jscan_span *v)
{
	const char		*b = gi->body;
	struct jscan_span	 key = { JSCAN_STRING, 0, 0, 0 };
	size_t			 i, start, j;
	int			 skip = 0;

	for (i = v->start; i < v->end; i++) {
		if (b[i] != '"')
			continue;
		start = i;
		for (i++; b[i] != '"'; i++)
			if (b[i] == '\\')
				i++;
		for (j = i + 1; j < v->end && strchr(" \t\r\n", b[j]) != NULL;
		    j++)
			;
		if (j < v->end && b[j] == ':') {
			key.start = start;
			key.end = i + 1;
			for (j++; j < v->end && strchr(" \t\r\n", b[j]) != NULL;
			    j++)
				;
			/* Ollama's images are base64 data, never text. */
			if (j < v->end && b[j] == '[' &&
			    jscan_string_eq(b, &key, "images", 6)) {
				i = guard_input_array_end(b, j, v->end);
				key.present = 0;
				continue;
			}
			/* Only a string right after it is under the key. */
			key.present = j < v->end && b[j] == '"';
			skip = key.present && guard_input_skipped(b, &key);
			continue;
		}
		/* A value: under a key only if it came right after one. */
		if (!(key.present && skip) &&
		    guard_input_string(gi, start, i + 1) == GUARD_BLOCKED)
			return GUARD_BLOCKED;
		key.present = 0;
		skip = 0;
	}
	return GUARD_PASS;
}

/* Messages: an array's elements; a string prompt or input: one. */
static uint64_t
guard_input_count(const char *body, const struct jscan_span *v)
{
	struct jscan_span	e;
	size_t			cursor = 0;
	uint64_t		n = 0;

	if (v->type != JSCAN_ARRAY)
		return 1;
	while (jscan_array_next(body, v, &cursor, &e))
		n++;
	return n;
}

enum guard_result
guard_input(const struct reg_model *m, const char *body, size_t len,
    char **out, size_t *outlen, struct guard_report *report)
{
	struct guard_input	 gi;
	struct jscan_span	 messages, prompt, input, system;
	struct jscan_want	 want[] = {
		{ "messages", &messages },
		{ "prompt", &prompt },
		{ "input", &input },
		{ "system", &system },		/* Ollama's generate */
	};
	const struct jscan_span	*spans[] = { &messages, &prompt, &input,
	    &system };
	enum guard_result	 res = GUARD_PASS;
	uint64_t		 nmessages = 0;
	size_t			 i, pos, total;

	*out = NULL;
	*outlen = 0;
	if (guard_list_empty(&m->guard_in))
		return GUARD_PASS;
	if (jscan_object(body, len, GUARD_INPUT_DEPTH, want,
	    sizeof(want) / sizeof(want[0]), NULL, 0) == -1)
		return GUARD_PASS;	/* the caller refuses it as invalid */
	memset(&gi, 0, sizeof(gi));
	gi.list = &m->guard_in;
	gi.report = report;
	gi.body = body;
	for (i = 0; i < sizeof(spans) / sizeof(spans[0]); i++) {
		if (!spans[i]->present)
			continue;
		nmessages += guard_input_count(body, spans[i]);
		if (spans[i]->type == JSCAN_STRING) {
			if (guard_input_string(&gi, spans[i]->start,
			    spans[i]->end) == GUARD_BLOCKED)
				res = GUARD_BLOCKED;
		} else if (guard_input_walk(&gi, spans[i]) == GUARD_BLOCKED)
			res = GUARD_BLOCKED;
		if (res == GUARD_BLOCKED)
			goto done;
	}
	if ((res = guard_length(&m->guard_in, gi.chars, nmessages, report)) ==
	    GUARD_BLOCKED || gi.nsp == 0)
		goto done;

	/* The body with each redacted string spliced in, in body order. */
	for (total = len, i = 0; i < gi.nsp; i++)
		total += gi.sp[i].len - (gi.sp[i].end - gi.sp[i].start);
	*out = xmalloc(total + 1);
	for (pos = 0, *outlen = 0, i = 0; i < gi.nsp; i++) {
		memcpy(*out + *outlen, body + pos, gi.sp[i].start - pos);
		*outlen += gi.sp[i].start - pos;
		memcpy(*out + *outlen, gi.sp[i].quoted, gi.sp[i].len);
		*outlen += gi.sp[i].len;
		pos = gi.sp[i].end;
	}
	memcpy(*out + *outlen, body + pos, len - pos);
	*outlen += len - pos;
	(*out)[*outlen] = '\0';
	res = GUARD_REDACTED;
done:
	for (i = 0; i < gi.nsp; i++)
		free(gi.sp[i].quoted);
	free(gi.sp);
	free(gi.text);
	return res;
}
