/*
 * Anthropic's Messages API (/v1/messages, /v1/messages/count_tokens) served
 * as OpenAI chat completions: the request translated on the way in; the
 * answer, the stream's chunks and errors on the way out. Runs on the worker
 * threads, one dialect_call per request, no state shared between them.
 */
#include <sys/types.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "agent.h"
#include "jscan.h"
#include "log.h"
#include "xmalloc.h"

#define ANTH_MAX_ITEMS	4096	/* messages; blocks of one content; tools */
#define ANTH_MAX_STOPS	64	/* stop_sequences */
#define ANTH_MAX_ID	256	/* bytes of a tool_use id */
#define ANTH_MAX_NAME	128	/* bytes of a tool's name */
#define ANTH_MAX_MODEL	256	/* bytes of the model */
/* Tools' schemas sit one level deeper in OpenAI's body than here. */
#define ANTH_MAX_DEPTH	(REQUEST_MAX_DEPTH - 1)

enum anth_block {
	ANTH_BLOCK_NONE,
	ANTH_BLOCK_THINKING,
	ANTH_BLOCK_TEXT,
	ANTH_BLOCK_TOOL,
};

/* A tool call of the stream: OpenAI's index, the client's block index. */
struct anth_tool {
	long	 oai;
	size_t	 block;
};

struct dialect_call {
	enum route_kind	 route;
	char		*model;			/* as the client sent it */
	char		 msg_id[48];		/* "msg_" and the request id */
	char		*stops[ANTH_MAX_STOPS];	/* stop_sequences */
	size_t		 nstops;
	int		 thinking;		/* thinking blocks asked for */

	/* The stream. */
	int		 started;		/* message_start sent */
	int		 done;			/* message_stop or error sent */
	enum anth_block	 open;			/* the block open, if any */
	size_t		 block;			/* its index */
	size_t		 nblocks;		/* blocks started */
	struct anth_tool *tools;
	size_t		 ntools;
	char		 finish[32];		/* OpenAI's finish_reason */
	char		*stop_seq;		/* the stop sequence matched */
	int64_t		 prompt;		/* usage, as OpenAI counts */
	int64_t		 completion;
	int64_t		 cached;
};

/* One request's translation: where its error goes. */
struct anth_req {
	struct dialect_call	*c;
	char			*err;
	size_t			 errlen;
	const char		**param;
};

/* Anthropic's error types for ours (docs.claude.com/en/api/errors). */
static const char *const anth_error_types[] = {
	[API_INVALID_REQUEST] =		"invalid_request_error",
	[API_INVALID_API_KEY] =		"authentication_error",
	[API_DOMAIN_NOT_FOUND] =	"not_found_error",
	[API_MODEL_NOT_FOUND] =		"not_found_error",
	[API_MODEL_INACTIVE] =		"permission_error",
	[API_GUARDRAIL_VIOLATION] =	"invalid_request_error",
	[API_REQUEST_TOO_LARGE] =	"request_too_large",
	[API_RATE_LIMIT_EXCEEDED] =	"rate_limit_error",
	[API_BUDGET_EXCEEDED] =		"rate_limit_error",
	[API_UPSTREAM_ERROR] =		"api_error",
	[API_UPSTREAM_TIMEOUT] =	"timeout_error",
	[API_NOT_FOUND] =		"not_found_error",
	[API_METHOD_NOT_ALLOWED] =	"invalid_request_error",
	[API_HEADERS_TOO_LARGE] =	"request_too_large",
	[API_UNAVAILABLE] =		"overloaded_error",
	[API_LIMITS_UNAVAILABLE] =	"overloaded_error",
};

/* OpenAI's finish_reason as Anthropic's stop_reason; others: end_turn. */
static const struct {
	const char	*openai;
	const char	*anthropic;
} anth_stop_reasons[] = {
	{ "stop",		"end_turn" },
	{ "length",		"max_tokens" },
	{ "tool_calls",		"tool_use" },
	{ "function_call",	"tool_use" },
	{ "content_filter",	"refusal" },
};

static int	anth_fail(struct anth_req *, const char *, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static size_t	dialect_anthropic_error_body(char *, size_t, enum api_error,
		    const char *, const char *);

/* cJSON fails only out of memory, which is fatal. */
static cJSON *
anth_new(cJSON *v)
{
	if (v == NULL)
		fatalx("%s: out of memory", __func__);
	return v;
}

static void
anth_add(cJSON *o, const char *key, cJSON *v)
{
	if (!cJSON_AddItemToObject(o, key, anth_new(v)))
		fatalx("%s: out of memory", __func__);
}

static void
anth_push(cJSON *a, cJSON *v)
{
	if (!cJSON_AddItemToArray(a, anth_new(v)))
		fatalx("%s: out of memory", __func__);
}

static cJSON *
anth_get(const cJSON *o, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(o, key);
}

/* The string v holds, or NULL when it is no string. */
static const char *
anth_string(const cJSON *v)
{
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A printed cJSON as an xmalloc'd string. */
static char *
anth_print(const cJSON *o, size_t *len)
{
	char	*s, *copy;

	if ((s = cJSON_PrintUnformatted(o)) == NULL)
		fatalx("%s: out of memory", __func__);
	*len = strlen(s);
	copy = xstrdup(s);
	cJSON_free(s);
	return copy;
}

/* The request's error, in Anthropic's words: "path: what is wrong". */
static int
anth_fail(struct anth_req *rq, const char *param, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(rq->err, rq->errlen, fmt, ap);
	va_end(ap);
	*rq->param = param;
	return -1;
}

struct anth_scan {
	const char	*buf;
	char		 key[64];	/* the last key seen, for the error */
};

static int
anth_scan_step(void *arg, const struct jscan_token *t)
{
	struct anth_scan	*s = arg;

	if ((t->step != JSCAN_KEY && t->step != JSCAN_VALUE) ||
	    t->span.type != JSCAN_STRING)
		return 0;
	if (t->escaped && jscan_span_has_nul(s->buf, &t->span))
		return -1;
	if (t->step == JSCAN_KEY &&
	    jscan_string_cut(s->buf, &t->span, s->key, sizeof(s->key)) == -1)
		s->key[0] = '\0';
	return 0;
}

/*
 * Before cJSON reads it: one object, valid UTF-8, no key twice, bounded
 * depth, and no NUL in a string (cJSON would cut the string there, and
 * the backend would read less than the guardrails were shown).
 */
static int
anth_check(struct anth_req *rq, const char *body, size_t len)
{
	struct anth_scan	 s;
	struct jscan_keys	 keys;
	char			 msg[256];
	int			 rc;

	memset(&s, 0, sizeof(s));
	memset(&keys, 0, sizeof(keys));
	s.buf = body;
	msg[0] = '\0';
	rc = jscan_walk(body, len, ANTH_MAX_DEPTH, &keys, anth_scan_step, &s,
	    msg, sizeof(msg));
	jscan_keys_free(&keys);
	if (rc == 0)
		return 0;
	if (msg[0] != '\0')
		return anth_fail(rq, NULL, "%s", msg);
	return anth_fail(rq, NULL, "%s%sstrings must not hold NUL (\\u0000)",
	    s.key, s.key[0] != '\0' ? ": " : "");
}

/*
 * A tool_use id: visible ASCII, bounded. Anthropic's own are
 * [A-Za-z0-9_-], but these come back from the backends' tool calls
 * (Kimi's on vLLM are "functions.NAME:0"), and must be taken back.
 */
static int
anth_id(const char *s)
{
	size_t	i;

	if (s == NULL || s[0] == '\0')
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (i >= ANTH_MAX_ID || s[i] < '!' || s[i] > '~')
			return 0;
	return 1;
}

/* A tool's name: a string of [A-Za-z0-9_-], bounded. */
static int
anth_word(const char *s, size_t max)
{
	size_t	i;

	if (s == NULL || s[0] == '\0')
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= max)
			return 0;
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
			return 0;
	}
	return 1;
}

static int
anth_base64(const char *s)
{
	for (; *s != '\0'; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '+' || *s == '/' ||
		    *s == '='))
			return 0;
	}
	return 1;
}

/* An integer number within [min, max] into *v. */
static int
anth_integer(const cJSON *n, int64_t min, int64_t max, int64_t *v)
{
	double	d;

	if (!cJSON_IsNumber(n))
		return -1;
	d = n->valuedouble;
	if (!(d >= (double)min && d <= (double)max) || (double)(int64_t)d != d)
		return -1;
	*v = (int64_t)d;
	return 0;
}

/* One message being translated: where its blocks go. */
struct anth_msg {
	size_t			 i;		/* messages.i */
	int			 user;
	cJSON			*out;		/* OpenAI's messages */
	cJSON			*parts;		/* user: text and image_url */
	size_t			 nimages;
	struct dialect_buf	 text;		/* assistant: its text */
	int			 ntext;
	cJSON			*calls;		/* assistant: tool_calls */
};

struct anth_block_type {
	const char	*type;
	int		(*fn)(struct anth_req *, struct anth_msg *, size_t,
			    const cJSON *);
};

static void
anth_text_add(struct anth_msg *m, const char *s)
{
	if (m->user) {
		cJSON	*p = anth_new(cJSON_CreateObject());

		anth_add(p, "type", cJSON_CreateString("text"));
		anth_add(p, "text", cJSON_CreateString(s));
		anth_push(m->parts, p);
		return;
	}
	if (m->ntext++ > 0)
		dialect_buf_str(&m->text, "\n");
	dialect_buf_str(&m->text, s);
}

static int
anth_block_text(struct anth_req *rq, struct anth_msg *m, size_t j,
    const cJSON *b)
{
	const char	*s;

	if ((s = anth_string(anth_get(b, "text"))) == NULL)
		return anth_fail(rq, "messages", "messages.%zu.content.%zu.text: "
		    "Input should be a valid string", m->i, j);
	anth_text_add(m, s);
	return 0;
}

/*
 * An image (at path, for errors) as an image_url part of the user message.
 * Images of tool results come here too: OpenAI's tool messages carry
 * text only, so they follow in the user message after the tool messages.
 */
static int
anth_image(struct anth_req *rq, struct anth_msg *m, const char *path,
    const cJSON *b)
{
	static const char *const media[] = { "image/jpeg", "image/png",
	    "image/gif", "image/webp" };
	const cJSON	*src = anth_get(b, "source");
	const char	*type, *mt, *data, *url;
	char		*u = NULL;
	cJSON		*p, *iu;
	size_t		 k;

	if (!m->user)
		return anth_fail(rq, "messages", "%s: images belong to user "
		    "messages", path);
	if (!cJSON_IsObject(src))
		return anth_fail(rq, "messages", "%s.source: Input should be a "
		    "valid dictionary", path);
	type = anth_string(anth_get(src, "type"));
	if (type != NULL && strcmp(type, "base64") == 0) {
		mt = anth_string(anth_get(src, "media_type"));
		for (k = 0; mt != NULL && k < sizeof(media) / sizeof(*media);
		    k++)
			if (strcmp(mt, media[k]) == 0)
				break;
		if (mt == NULL || k == sizeof(media) / sizeof(*media))
			return anth_fail(rq, "messages", "%s.source.media_type:"
			    " Input should be 'image/jpeg', 'image/png', "
			    "'image/gif' or 'image/webp'", path);
		data = anth_string(anth_get(src, "data"));
		if (data == NULL || !anth_base64(data))
			return anth_fail(rq, "messages", "%s.source.data: Input"
			    " should be a base64 string", path);
		if (xasprintf(&u, "data:%s;base64,%s", mt, data) == -1)
			fatalx("%s: out of memory", __func__);
	} else if (type != NULL && strcmp(type, "url") == 0) {
		url = anth_string(anth_get(src, "url"));
		if (url == NULL || (strncmp(url, "https://", 8) != 0 &&
		    strncmp(url, "http://", 7) != 0))
			return anth_fail(rq, "messages", "%s.source.url: Input "
			    "should be an http(s) URL", path);
		u = xstrdup(url);
	} else
		return anth_fail(rq, "messages", "%s.source.type: Input should "
		    "be 'base64' or 'url'", path);
	p = anth_new(cJSON_CreateObject());
	anth_add(p, "type", cJSON_CreateString("image_url"));
	iu = anth_new(cJSON_CreateObject());
	anth_add(iu, "url", cJSON_CreateString(u));
	anth_add(p, "image_url", iu);
	anth_push(m->parts, p);
	m->nimages++;
	free(u);
	return 0;
}

static int
anth_block_image(struct anth_req *rq, struct anth_msg *m, size_t j,
    const cJSON *b)
{
	char	path[64];

	snprintf(path, sizeof(path), "messages.%zu.content.%zu", m->i, j);
	return anth_image(rq, m, path, b);
}

static int
anth_block_tool_use(struct anth_req *rq, struct anth_msg *m, size_t j,
    const cJSON *b)
{
	const char	*id, *name;
	const cJSON	*input;
	cJSON		*call, *fn;
	char		*args;
	size_t		 n;

	if (m->user)
		return anth_fail(rq, "messages", "messages.%zu.content.%zu: "
		    "tool_use blocks belong to assistant messages", m->i, j);
	id = anth_string(anth_get(b, "id"));
	if (!anth_id(id))
		return anth_fail(rq, "messages", "messages.%zu.content.%zu.id: "
		    "Input should be a string of visible ASCII (at most %d)",
		    m->i, j, ANTH_MAX_ID);
	name = anth_string(anth_get(b, "name"));
	if (!anth_word(name, ANTH_MAX_NAME))
		return anth_fail(rq, "messages", "messages.%zu.content.%zu.name:"
		    " Input should be a string of letters, digits, '_' and '-'"
		    " (at most %d)", m->i, j, ANTH_MAX_NAME);
	input = anth_get(b, "input");
	if (!cJSON_IsObject(input))
		return anth_fail(rq, "messages", "messages.%zu.content.%zu."
		    "input: Input should be a valid dictionary", m->i, j);
	args = anth_print(input, &n);
	call = anth_new(cJSON_CreateObject());
	anth_add(call, "id", cJSON_CreateString(id));
	anth_add(call, "type", cJSON_CreateString("function"));
	fn = anth_new(cJSON_CreateObject());
	anth_add(fn, "name", cJSON_CreateString(name));
	anth_add(fn, "arguments", cJSON_CreateString(args));
	anth_add(call, "function", fn);
	anth_push(m->calls, call);
	free(args);
	return 0;
}

/* A tool_result: a "tool" message, before the rest of its user message. */
static int
anth_block_tool_result(struct anth_req *rq, struct anth_msg *m, size_t j,
    const cJSON *b)
{
	struct dialect_buf	 text = { NULL, 0, 0 };
	const cJSON		*content, *part;
	const char		*id, *s, *type;
	cJSON			*tm;
	char			 path[96];
	size_t			 k = 0, ntext = 0;

	if (!m->user)
		return anth_fail(rq, "messages", "messages.%zu.content.%zu: "
		    "tool_result blocks belong to user messages", m->i, j);
	id = anth_string(anth_get(b, "tool_use_id"));
	if (!anth_id(id))
		return anth_fail(rq, "messages", "messages.%zu.content.%zu."
		    "tool_use_id: Input should be a string of visible ASCII (at"
		    " most %d)", m->i, j, ANTH_MAX_ID);
	content = anth_get(b, "content");
	if (cJSON_IsArray(content)) {
		if (cJSON_GetArraySize(content) > ANTH_MAX_ITEMS)
			return anth_fail(rq, "messages", "messages.%zu.content."
			    "%zu.content: at most %d blocks", m->i, j,
			    ANTH_MAX_ITEMS);
		dialect_buf_str(&text, "");
		cJSON_ArrayForEach(part, content) {
			snprintf(path, sizeof(path), "messages.%zu.content.%zu."
			    "content.%zu", m->i, j, k++);
			type = anth_string(anth_get(part, "type"));
			if (type != NULL && strcmp(type, "image") == 0) {
				if (anth_image(rq, m, path, part) == -1) {
					dialect_buf_free(&text);
					return -1;
				}
				continue;
			}
			if (type == NULL || strcmp(type, "text") != 0 ||
			    (s = anth_string(anth_get(part, "text"))) == NULL) {
				dialect_buf_free(&text);
				return anth_fail(rq, "messages", "%s: only text and"
				    " image blocks are supported in a tool "
				    "result", path);
			}
			if (ntext++ > 0)
				dialect_buf_str(&text, "\n");
			dialect_buf_str(&text, s);
		}
	} else if (content == NULL)
		dialect_buf_str(&text, "");
	else if ((s = anth_string(content)) != NULL)
		dialect_buf_str(&text, s);
	else
		return anth_fail(rq, "messages", "messages.%zu.content.%zu."
		    "content: Input should be a valid string or a list of "
		    "content blocks", m->i, j);
	tm = anth_new(cJSON_CreateObject());
	anth_add(tm, "role", cJSON_CreateString("tool"));
	anth_add(tm, "tool_call_id", cJSON_CreateString(id));
	anth_add(tm, "content", cJSON_CreateString(text.p));
	anth_push(m->out, tm);
	dialect_buf_free(&text);
	return 0;
}

/* Thinking is the model's own, produced for Anthropic's: not resent. */
static int
anth_block_drop(struct anth_req *rq, struct anth_msg *m, size_t j,
    const cJSON *b)
{
	(void)rq; (void)m; (void)j; (void)b;
	return 0;
}

/*
 * The content blocks we translate; any other type (document,
 * search_result, server tools' blocks...) is refused by name.
 */
static const struct anth_block_type anth_blocks[] = {
	{ "text",		anth_block_text },
	{ "image",		anth_block_image },
	{ "tool_use",		anth_block_tool_use },
	{ "tool_result",	anth_block_tool_result },
	{ "thinking",		anth_block_drop },
	{ "redacted_thinking",	anth_block_drop },
};

static int
anth_block(struct anth_req *rq, struct anth_msg *m, size_t j, const cJSON *b)
{
	const char	*type;
	size_t		 k;

	if (!cJSON_IsObject(b))
		return anth_fail(rq, "messages", "messages.%zu.content.%zu: "
		    "Input should be a valid dictionary", m->i, j);
	if ((type = anth_string(anth_get(b, "type"))) == NULL)
		return anth_fail(rq, "messages", "messages.%zu.content.%zu.type:"
		    " Field required", m->i, j);
	for (k = 0; k < sizeof(anth_blocks) / sizeof(*anth_blocks); k++)
		if (strcmp(type, anth_blocks[k].type) == 0)
			return anth_blocks[k].fn(rq, m, j, b);
	return anth_fail(rq, "messages", "messages.%zu.content.%zu.type: "
	    "'%.64s' blocks are not supported by this gateway", m->i, j, type);
}

/* A user message's text and images, after its tool results. */
static void
anth_msg_user(struct anth_msg *m)
{
	const cJSON	*only;
	cJSON		*um;
	int		 n = cJSON_GetArraySize(m->parts);

	if (n == 0)
		return;
	um = anth_new(cJSON_CreateObject());
	anth_add(um, "role", cJSON_CreateString("user"));
	only = cJSON_GetArrayItem(m->parts, 0);
	if (n == 1 && m->nimages == 0)
		anth_add(um, "content", cJSON_CreateString(
		    anth_get(only, "text")->valuestring));
	else {
		anth_add(um, "content", m->parts);
		m->parts = NULL;
	}
	anth_push(m->out, um);
}

static void
anth_msg_assistant(struct anth_msg *m)
{
	cJSON	*am;

	am = anth_new(cJSON_CreateObject());
	anth_add(am, "role", cJSON_CreateString("assistant"));
	if (m->ntext > 0 || cJSON_GetArraySize(m->calls) == 0)
		anth_add(am, "content", cJSON_CreateString(m->text.p != NULL ?
		    m->text.p : ""));
	else
		anth_add(am, "content", cJSON_CreateNull());
	if (cJSON_GetArraySize(m->calls) > 0) {
		anth_add(am, "tool_calls", m->calls);
		m->calls = NULL;
	}
	anth_push(m->out, am);
}

static int
anth_message(struct anth_req *rq, const cJSON *v, size_t i, cJSON *out)
{
	struct anth_msg	 m;
	const cJSON	*content, *b;
	const char	*role, *s;
	size_t		 j = 0;
	int		 rc = 0;

	if (!cJSON_IsObject(v))
		return anth_fail(rq, "messages", "messages.%zu: Input should be "
		    "a valid dictionary", i);
	role = anth_string(anth_get(v, "role"));
	if (role == NULL || (strcmp(role, "user") != 0 &&
	    strcmp(role, "assistant") != 0))
		return anth_fail(rq, "messages", "messages.%zu.role: Input "
		    "should be 'user' or 'assistant'", i);
	content = anth_get(v, "content");
	if (content == NULL)
		return anth_fail(rq, "messages", "messages.%zu.content: Field "
		    "required", i);
	if ((s = anth_string(content)) != NULL) {
		cJSON	*om = anth_new(cJSON_CreateObject());

		anth_add(om, "role", cJSON_CreateString(role));
		anth_add(om, "content", cJSON_CreateString(s));
		anth_push(out, om);
		return 0;
	}
	if (!cJSON_IsArray(content))
		return anth_fail(rq, "messages", "messages.%zu.content: Input "
		    "should be a valid string or a list of content blocks", i);
	if (cJSON_GetArraySize(content) > ANTH_MAX_ITEMS)
		return anth_fail(rq, "messages", "messages.%zu.content: at most "
		    "%d blocks", i, ANTH_MAX_ITEMS);
	memset(&m, 0, sizeof(m));
	m.i = i;
	m.user = strcmp(role, "user") == 0;
	m.out = out;
	m.parts = anth_new(cJSON_CreateArray());
	m.calls = anth_new(cJSON_CreateArray());
	cJSON_ArrayForEach(b, content) {
		if ((rc = anth_block(rq, &m, j++, b)) == -1)
			break;
	}
	if (rc == 0) {
		if (m.user)
			anth_msg_user(&m);
		else
			anth_msg_assistant(&m);
	}
	cJSON_Delete(m.parts);
	cJSON_Delete(m.calls);
	dialect_buf_free(&m.text);
	return rc;
}

static int
anth_messages(struct anth_req *rq, const cJSON *v, cJSON *out)
{
	const cJSON	*m;
	size_t		 i = 0;

	if (v == NULL)
		return anth_fail(rq, "messages", "messages: Field required");
	if (!cJSON_IsArray(v))
		return anth_fail(rq, "messages", "messages: Input should be a "
		    "valid list");
	if (cJSON_GetArraySize(v) > ANTH_MAX_ITEMS)
		return anth_fail(rq, "messages", "messages: at most %d messages",
		    ANTH_MAX_ITEMS);
	cJSON_ArrayForEach(m, v) {
		if (anth_message(rq, m, i++, out) == -1)
			return -1;
	}
	return 0;
}

/* system: a string or text blocks, as the first message. */
static int
anth_system(struct anth_req *rq, const cJSON *v, cJSON *out)
{
	struct dialect_buf	 text = { NULL, 0, 0 };
	const cJSON		*b;
	const char		*s, *type;
	cJSON			*sm;
	size_t			 j = 0;

	if (v == NULL)
		return 0;
	if ((s = anth_string(v)) != NULL)
		dialect_buf_str(&text, s);
	else if (cJSON_IsArray(v)) {
		if (cJSON_GetArraySize(v) > ANTH_MAX_ITEMS)
			return anth_fail(rq, "system", "system: at most %d "
			    "blocks", ANTH_MAX_ITEMS);
		dialect_buf_str(&text, "");
		cJSON_ArrayForEach(b, v) {
			type = anth_string(anth_get(b, "type"));
			if (type == NULL || strcmp(type, "text") != 0 ||
			    (s = anth_string(anth_get(b, "text"))) == NULL) {
				dialect_buf_free(&text);
				return anth_fail(rq, "system", "system.%zu: "
				    "Input should be a text block", j);
			}
			if (j++ > 0)
				dialect_buf_str(&text, "\n");
			dialect_buf_str(&text, s);
		}
	} else
		return anth_fail(rq, "system", "system: Input should be a valid "
		    "string or a list of text blocks");
	if (text.len > 0) {
		sm = anth_new(cJSON_CreateObject());
		anth_add(sm, "role", cJSON_CreateString("system"));
		anth_add(sm, "content", cJSON_CreateString(text.p));
		anth_push(out, sm);
	}
	dialect_buf_free(&text);
	return 0;
}

static int
anth_tools(struct anth_req *rq, const cJSON *v, cJSON *body)
{
	const cJSON	*t, *schema, *d;
	const char	*name, *type;
	cJSON		*tools, *ot, *fn;
	size_t		 i = 0;

	if (v == NULL)
		return 0;
	if (!cJSON_IsArray(v))
		return anth_fail(rq, "tools", "tools: Input should be a valid "
		    "list");
	if (cJSON_GetArraySize(v) > ANTH_MAX_ITEMS)
		return anth_fail(rq, "tools", "tools: at most %d tools",
		    ANTH_MAX_ITEMS);
	if (cJSON_GetArraySize(v) == 0)
		return 0;
	tools = anth_new(cJSON_CreateArray());
	anth_add(body, "tools", tools);
	cJSON_ArrayForEach(t, v) {
		if (!cJSON_IsObject(t))
			return anth_fail(rq, "tools", "tools.%zu: Input should "
			    "be a valid dictionary", i);
		type = anth_string(anth_get(t, "type"));
		if (anth_get(t, "type") != NULL &&
		    (type == NULL || strcmp(type, "custom") != 0))
			return anth_fail(rq, "tools", "tools.%zu.type: server "
			    "tool '%.64s' is not supported by this gateway", i,
			    type != NULL ? type : "?");
		name = anth_string(anth_get(t, "name"));
		if (!anth_word(name, ANTH_MAX_NAME))
			return anth_fail(rq, "tools", "tools.%zu.name: Input "
			    "should be a string of letters, digits, '_' and '-'"
			    " (at most %d)", i, ANTH_MAX_NAME);
		d = anth_get(t, "description");
		if (d != NULL && !cJSON_IsString(d))
			return anth_fail(rq, "tools", "tools.%zu.description: "
			    "Input should be a valid string", i);
		schema = anth_get(t, "input_schema");
		if (!cJSON_IsObject(schema))
			return anth_fail(rq, "tools", "tools.%zu.input_schema: "
			    "Input should be a valid dictionary", i);
		ot = anth_new(cJSON_CreateObject());
		anth_push(tools, ot);
		anth_add(ot, "type", cJSON_CreateString("function"));
		fn = anth_new(cJSON_CreateObject());
		anth_add(ot, "function", fn);
		anth_add(fn, "name", cJSON_CreateString(name));
		if (d != NULL)
			anth_add(fn, "description",
			    cJSON_CreateString(d->valuestring));
		anth_add(fn, "parameters", cJSON_Duplicate(schema, 1));
		i++;
	}
	return 0;
}

static int
anth_tool_choice(struct anth_req *rq, const cJSON *v, cJSON *body)
{
	const cJSON	*dp;
	const char	*type, *name;
	cJSON		*tc, *fn;

	if (v == NULL)
		return 0;
	if (!cJSON_IsObject(v))
		return anth_fail(rq, "tool_choice", "tool_choice: Input should "
		    "be a valid dictionary");
	type = anth_string(anth_get(v, "type"));
	if (type == NULL)
		return anth_fail(rq, "tool_choice", "tool_choice.type: Field "
		    "required");
	dp = anth_get(v, "disable_parallel_tool_use");
	if (dp != NULL && !cJSON_IsBool(dp))
		return anth_fail(rq, "tool_choice", "tool_choice."
		    "disable_parallel_tool_use: Input should be a valid "
		    "boolean");
	if (strcmp(type, "auto") == 0)
		tc = anth_new(cJSON_CreateString("auto"));
	else if (strcmp(type, "any") == 0)
		tc = anth_new(cJSON_CreateString("required"));
	else if (strcmp(type, "none") == 0)
		tc = anth_new(cJSON_CreateString("none"));
	else if (strcmp(type, "tool") == 0) {
		name = anth_string(anth_get(v, "name"));
		if (!anth_word(name, ANTH_MAX_NAME))
			return anth_fail(rq, "tool_choice", "tool_choice.name: "
			    "Input should be a tool's name");
		tc = anth_new(cJSON_CreateObject());
		anth_add(tc, "type", cJSON_CreateString("function"));
		fn = anth_new(cJSON_CreateObject());
		anth_add(fn, "name", cJSON_CreateString(name));
		anth_add(tc, "function", fn);
	} else
		return anth_fail(rq, "tool_choice", "tool_choice.type: Input "
		    "should be 'auto', 'any', 'tool' or 'none'");
	/* Without tools, OpenAI refuses a tool_choice: there is no choice. */
	if (anth_get(body, "tools") == NULL) {
		cJSON_Delete(tc);
		return 0;
	}
	anth_add(body, "tool_choice", tc);
	if (cJSON_IsTrue(dp))
		anth_add(body, "parallel_tool_calls", cJSON_CreateFalse());
	return 0;
}

static int
anth_stop_sequences(struct anth_req *rq, const cJSON *v, cJSON *body)
{
	const cJSON	*s;
	cJSON		*stop;
	size_t		 i = 0;

	if (v == NULL)
		return 0;
	if (!cJSON_IsArray(v))
		return anth_fail(rq, "stop_sequences", "stop_sequences: Input "
		    "should be a valid list");
	if (cJSON_GetArraySize(v) > ANTH_MAX_STOPS)
		return anth_fail(rq, "stop_sequences", "stop_sequences: at most"
		    " %d", ANTH_MAX_STOPS);
	if (cJSON_GetArraySize(v) == 0)
		return 0;
	stop = anth_new(cJSON_CreateArray());
	anth_add(body, "stop", stop);
	cJSON_ArrayForEach(s, v) {
		if (!cJSON_IsString(s) || s->valuestring[0] == '\0')
			return anth_fail(rq, "stop_sequences", "stop_sequences."
			    "%zu: Input should be a non-empty string", i);
		anth_push(stop, cJSON_CreateString(s->valuestring));
		rq->c->stops[rq->c->nstops++] = xstrdup(s->valuestring);
		i++;
	}
	return 0;
}

/* temperature, top_p: numbers, passed on as they are. */
static int
anth_number(struct anth_req *rq, const cJSON *root, const char *key,
    cJSON *body)
{
	const cJSON	*v = anth_get(root, key);

	if (v == NULL)
		return 0;
	if (!cJSON_IsNumber(v))
		return anth_fail(rq, key, "%s: Input should be a valid number",
		    key);
	anth_add(body, key, cJSON_CreateNumber(v->valuedouble));
	return 0;
}

/* The whole request as OpenAI's chat body into body; *stream. */
/*
 * thinking: enabled (or adaptive) asks for the backend's reasoning as
 * thinking blocks. The backend is not told: OpenAI-compatible servers
 * switch reasoning in ways of their own, and a reasoning model reasons
 * anyway. Its budget_tokens is the client's business.
 */
static int
anth_thinking(struct anth_req *rq, const cJSON *v)
{
	const char	*type;

	if (v == NULL || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsObject(v))
		return anth_fail(rq, "thinking", "thinking: Input should be a "
		    "valid dictionary");
	type = anth_string(anth_get(v, "type"));
	if (type != NULL && (strcmp(type, "enabled") == 0 ||
	    strcmp(type, "adaptive") == 0))
		rq->c->thinking = 1;
	else if (type == NULL || strcmp(type, "disabled") != 0)
		return anth_fail(rq, "thinking", "thinking.type: Input should "
		    "be 'enabled', 'adaptive' or 'disabled'");
	return 0;
}

static int
anth_request(struct anth_req *rq, const cJSON *root, cJSON *body,
    int *stream)
{
	const cJSON	*v;
	const char	*model;
	cJSON		*msgs;
	int64_t		 n;
	int		 messages = rq->c->route == ROUTE_MESSAGES;

	*stream = 0;
	if ((v = anth_get(root, "model")) == NULL)
		return anth_fail(rq, "model", "model: Field required");
	model = anth_string(v);
	if (model == NULL || model[0] == '\0' ||
	    strlen(model) > ANTH_MAX_MODEL)
		return anth_fail(rq, "model", "model: Input should be a valid "
		    "model name");
	rq->c->model = xstrdup(model);
	anth_add(body, "model", cJSON_CreateString(model));
	msgs = anth_new(cJSON_CreateArray());
	anth_add(body, "messages", msgs);
	if (anth_system(rq, anth_get(root, "system"), msgs) == -1 ||
	    anth_messages(rq, anth_get(root, "messages"), msgs) == -1)
		return -1;
	v = anth_get(root, "max_tokens");
	if (messages && v == NULL)
		return anth_fail(rq, "max_tokens", "max_tokens: Field required");
	if (messages) {
		if (anth_integer(v, 1, INT32_MAX, &n) == -1)
			return anth_fail(rq, "max_tokens", "max_tokens: Input "
			    "should be an integer from 1 to %d", INT32_MAX);
		anth_add(body, "max_tokens", cJSON_CreateNumber((double)n));
	}
	if (anth_number(rq, root, "temperature", body) == -1 ||
	    anth_number(rq, root, "top_p", body) == -1 ||
	    anth_stop_sequences(rq, anth_get(root, "stop_sequences"),
	    body) == -1 ||
	    anth_tools(rq, anth_get(root, "tools"), body) == -1 ||
	    anth_tool_choice(rq, anth_get(root, "tool_choice"), body) == -1)
		return -1;
	if (anth_thinking(rq, anth_get(root, "thinking")) == -1)
		return -1;
	v = anth_get(root, "stream");
	if (v != NULL && !cJSON_IsBool(v))
		return anth_fail(rq, "stream", "stream: Input should be a valid "
		    "boolean");
	/* A stream needs its usage for message_delta: always asked for. */
	if (messages && cJSON_IsTrue(v)) {
		cJSON	*so = anth_new(cJSON_CreateObject());

		anth_add(body, "stream", cJSON_CreateTrue());
		anth_add(so, "include_usage", cJSON_CreateTrue());
		anth_add(body, "stream_options", so);
		*stream = 1;
	}
	return 0;
}

static void
dialect_anthropic_close(struct dialect_call *c)
{
	size_t	i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nstops; i++)
		free(c->stops[i]);
	free(c->model);
	free(c->tools);
	free(c->stop_seq);
	free(c);
}

static struct dialect_call *
dialect_anthropic_open(enum route_kind route, const char *body, size_t len,
    const char *id, time_t now, struct dialect_request *out, char *err,
    size_t errlen, const char **param)
{
	struct anth_req		 rq;
	struct dialect_call	*c;
	cJSON			*root, *o;
	int			 stream;

	(void)now;
	memset(out, 0, sizeof(*out));
	*param = NULL;
	if (route != ROUTE_MESSAGES && route != ROUTE_COUNT_TOKENS) {
		snprintf(err, errlen, "%s: not an Anthropic route", __func__);
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->route = route;
	snprintf(c->msg_id, sizeof(c->msg_id), "msg_%s", id != NULL ? id : "");
	rq.c = c;
	rq.err = err;
	rq.errlen = errlen;
	rq.param = param;
	if (anth_check(&rq, body, len) == -1) {
		dialect_anthropic_close(c);
		return NULL;
	}
	/* Valid JSON by now: cJSON fails only out of memory. */
	if ((root = cJSON_ParseWithLength(body, len)) == NULL) {
		snprintf(err, errlen, "the request could not be read");
		dialect_anthropic_close(c);
		return NULL;
	}
	o = anth_new(cJSON_CreateObject());
	if (anth_request(&rq, root, o, &stream) == -1) {
		cJSON_Delete(root);
		cJSON_Delete(o);
		dialect_anthropic_close(c);
		return NULL;
	}
	out->body = anth_print(o, &out->len);
	out->route = ROUTE_CHAT;
	out->stream = stream;
	out->trace_route = route == ROUTE_MESSAGES ? "messages" :
	    "count_tokens";
	cJSON_Delete(root);
	cJSON_Delete(o);
	return c;
}

/* A usage number: a non-negative integer, else 0. */
static int64_t
anth_count(const cJSON *o, const char *key)
{
	int64_t	n;

	if (anth_integer(anth_get(o, key), 0, INT64_C(1) << 53, &n) == -1)
		return 0;
	return n;
}

/* OpenAI's usage into c's counts. */
static void
anth_usage_read(struct dialect_call *c, const cJSON *u)
{
	if (!cJSON_IsObject(u))
		return;
	c->prompt = anth_count(u, "prompt_tokens");
	c->completion = anth_count(u, "completion_tokens");
	c->cached = anth_count(anth_get(u, "prompt_tokens_details"),
	    "cached_tokens");
	if (c->cached > c->prompt)
		c->cached = c->prompt;
}

/* Anthropic's usage: input_tokens are those not read from the cache. */
static cJSON *
anth_usage(const struct dialect_call *c)
{
	cJSON	*u = anth_new(cJSON_CreateObject());

	anth_add(u, "input_tokens", cJSON_CreateNumber(
	    (double)(c->prompt - c->cached)));
	anth_add(u, "cache_creation_input_tokens", cJSON_CreateNumber(0));
	anth_add(u, "cache_read_input_tokens", cJSON_CreateNumber(
	    (double)c->cached));
	anth_add(u, "output_tokens", cJSON_CreateNumber((double)c->completion));
	return u;
}

/* A vLLM stop_reason that is one of our stop sequences: remember it. */
static void
anth_stop_read(struct dialect_call *c, const cJSON *choice)
{
	const char	*s = anth_string(anth_get(choice, "stop_reason"));
	size_t		 i;

	if (s == NULL || c->stop_seq != NULL)
		return;
	for (i = 0; i < c->nstops; i++)
		if (strcmp(s, c->stops[i]) == 0) {
			c->stop_seq = xstrdup(s);
			return;
		}
}

static const char *
anth_stop_reason(const struct dialect_call *c, int tools)
{
	size_t	i;

	if (strcmp(c->finish, "stop") == 0) {
		if (c->stop_seq != NULL)
			return "stop_sequence";
		/* Some backends say "stop" after tool calls. */
		if (tools)
			return "tool_use";
	}
	for (i = 0; i < sizeof(anth_stop_reasons) /
	    sizeof(*anth_stop_reasons); i++)
		if (strcmp(c->finish, anth_stop_reasons[i].openai) == 0)
			return anth_stop_reasons[i].anthropic;
	return "end_turn";
}

static void
anth_finish_read(struct dialect_call *c, const cJSON *choice)
{
	const char	*s = anth_string(anth_get(choice, "finish_reason"));

	if (s != NULL)
		snprintf(c->finish, sizeof(c->finish), "%s", s);
	anth_stop_read(c, choice);
}

static cJSON *
anth_stop_sequence(const struct dialect_call *c, const char *reason)
{
	if (strcmp(reason, "stop_sequence") == 0)
		return cJSON_CreateString(c->stop_seq);
	return cJSON_CreateNull();
}

/* The choice with index 0 (or none given), or NULL; *bad: not choices. */
static const cJSON *
anth_choice(const cJSON *o, int *bad)
{
	const cJSON	*choices = anth_get(o, "choices"), *ch;
	int64_t		 index;

	*bad = 0;
	if (choices == NULL)
		return NULL;
	if (!cJSON_IsArray(choices)) {
		*bad = 1;
		return NULL;
	}
	cJSON_ArrayForEach(ch, choices) {
		if (!cJSON_IsObject(ch)) {
			*bad = 1;
			return NULL;
		}
		if (anth_get(ch, "index") == NULL ||
		    (anth_integer(anth_get(ch, "index"), 0, 0, &index) == 0))
			return ch;
	}
	return NULL;
}

/* A tool call's arguments as the input object: "" is {}, else an object. */
static cJSON *
anth_input(const char *args)
{
	cJSON	*o;

	if (args == NULL || args[strspn(args, " \t\r\n")] == '\0')
		return anth_new(cJSON_CreateObject());
	if ((o = cJSON_Parse(args)) == NULL || !cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* The backend's reasoning, when the client asked for thinking. */
static const char *
anth_reasoning(const struct dialect_call *c, const cJSON *o)
{
	return c->thinking ? dialect_reasoning(o) : NULL;
}

/*
 * A thinking block of the answer: the reasoning, and an empty signature
 * (Anthropic's signs its own; a client sends it back, and the request's
 * thinking blocks are dropped here).
 */
static cJSON *
anth_thinking_block(const char *s)
{
	cJSON	*b = anth_new(cJSON_CreateObject());

	anth_add(b, "type", cJSON_CreateString("thinking"));
	anth_add(b, "thinking", cJSON_CreateString(s));
	anth_add(b, "signature", cJSON_CreateString(""));
	return b;
}

/* The answer's text: content, or the refusal that stands for it. */
static void
anth_answer_text(const cJSON *msg, cJSON *content)
{
	struct dialect_buf	 text = { NULL, 0, 0 };
	const char		*s;
	cJSON			*b;

	if ((s = anth_string(anth_get(msg, "content"))) != NULL)
		dialect_buf_str(&text, s);
	if ((s = anth_string(anth_get(msg, "refusal"))) != NULL &&
	    s[0] != '\0') {
		if (text.len > 0)
			dialect_buf_str(&text, "\n");
		dialect_buf_str(&text, s);
	}
	if (text.len > 0) {
		b = anth_new(cJSON_CreateObject());
		anth_add(b, "type", cJSON_CreateString("text"));
		anth_add(b, "text", cJSON_CreateString(text.p));
		anth_push(content, b);
	}
	dialect_buf_free(&text);
}

/*
 * Tool calls as tool_use blocks. Arguments that are not a JSON object are
 * the backend's fault: the answer fails (502) rather than hand the client
 * a tool call with input it did not ask for; unless max_tokens cut them
 * (cut): then the input is {} and stop_reason max_tokens says why.
 */
static int
anth_answer_tools(const struct dialect_call *c, const cJSON *msg, int cut,
    cJSON *content, int *n)
{
	const cJSON	*calls = anth_get(msg, "tool_calls"), *tc, *fn;
	const char	*id, *name;
	cJSON		*b, *input;
	char		 gen[ANTH_MAX_ID];

	*n = 0;
	if (calls == NULL || cJSON_IsNull(calls))
		return 0;
	if (!cJSON_IsArray(calls))
		return -1;
	cJSON_ArrayForEach(tc, calls) {
		fn = anth_get(tc, "function");
		id = anth_string(anth_get(tc, "id"));
		name = anth_string(anth_get(fn, "name"));
		if (name == NULL || name[0] == '\0')
			return -1;
		if (id == NULL || id[0] == '\0') {
			snprintf(gen, sizeof(gen), "toolu_%s_%d",
			    c->msg_id + 4, *n);
			id = gen;
		}
		if ((input = anth_input(anth_string(anth_get(fn,
		    "arguments")))) == NULL) {
			if (!cut)
				return -1;
			input = anth_new(cJSON_CreateObject());
		}
		b = anth_new(cJSON_CreateObject());
		anth_add(b, "type", cJSON_CreateString("tool_use"));
		anth_add(b, "id", cJSON_CreateString(id));
		anth_add(b, "name", cJSON_CreateString(name));
		anth_add(b, "input", input);
		anth_push(content, b);
		(*n)++;
	}
	return 0;
}

static char *
dialect_anthropic_answer(struct dialect_call *c, const char *json, size_t len,
    size_t *outlen)
{
	const cJSON	*choice, *msg;
	cJSON		*o, *a, *content;
	const char	*reason, *thinking;
	char		*s = NULL;
	int		 bad, ntools = 0;

	*outlen = 0;
	if (jscan_object(json, len, JSCAN_DEPTH_MAX, NULL, 0, NULL, 0) == -1 ||
	    (o = cJSON_ParseWithLength(json, len)) == NULL)
		return NULL;
	choice = anth_choice(o, &bad);
	msg = anth_get(choice, "message");
	if (bad || choice == NULL || !cJSON_IsObject(msg))
		goto done;
	anth_finish_read(c, choice);
	content = anth_new(cJSON_CreateArray());
	if ((thinking = anth_reasoning(c, msg)) != NULL)
		anth_push(content, anth_thinking_block(thinking));
	anth_answer_text(msg, content);
	if (anth_answer_tools(c, msg, strcmp(c->finish, "length") == 0,
	    content, &ntools) == -1) {
		cJSON_Delete(content);
		goto done;
	}
	anth_usage_read(c, anth_get(o, "usage"));
	reason = anth_stop_reason(c, ntools > 0);
	a = anth_new(cJSON_CreateObject());
	anth_add(a, "id", cJSON_CreateString(c->msg_id));
	anth_add(a, "type", cJSON_CreateString("message"));
	anth_add(a, "role", cJSON_CreateString("assistant"));
	anth_add(a, "model", cJSON_CreateString(c->model));
	anth_add(a, "content", content);
	anth_add(a, "stop_reason", cJSON_CreateString(reason));
	anth_add(a, "stop_sequence", anth_stop_sequence(c, reason));
	anth_add(a, "usage", anth_usage(c));
	s = anth_print(a, outlen);
	cJSON_Delete(a);
done:
	cJSON_Delete(o);
	return s;
}

/* A new event's data, its type first as Anthropic sends it. */
static cJSON *
anth_event_new(const char *type)
{
	cJSON	*o = anth_new(cJSON_CreateObject());

	anth_add(o, "type", cJSON_CreateString(type));
	return o;
}

/* "event: TYPE" and o as its data; o is consumed. */
static void
anth_emit(struct dialect_buf *out, cJSON *o)
{
	dialect_buf_sse(out, anth_get(o, "type")->valuestring, o);
	cJSON_Delete(o);
}

/* message_start, once, before anything else. */
static void
anth_start(struct dialect_call *c, struct dialect_buf *out)
{
	cJSON	*o, *m;

	if (c->started)
		return;
	c->started = 1;
	o = anth_event_new("message_start");
	m = anth_new(cJSON_CreateObject());
	anth_add(m, "id", cJSON_CreateString(c->msg_id));
	anth_add(m, "type", cJSON_CreateString("message"));
	anth_add(m, "role", cJSON_CreateString("assistant"));
	anth_add(m, "model", cJSON_CreateString(c->model));
	anth_add(m, "content", cJSON_CreateArray());
	anth_add(m, "stop_reason", cJSON_CreateNull());
	anth_add(m, "stop_sequence", cJSON_CreateNull());
	anth_add(m, "usage", anth_usage(c));
	anth_add(o, "message", m);
	anth_emit(out, o);
}

static void
anth_block_stop(struct dialect_call *c, struct dialect_buf *out)
{
	cJSON	*o;

	if (c->open == ANTH_BLOCK_NONE)
		return;
	o = anth_event_new("content_block_stop");
	anth_add(o, "index", cJSON_CreateNumber((double)c->block));
	anth_emit(out, o);
	c->open = ANTH_BLOCK_NONE;
}

/* Close the open block and start one of kind; cb is consumed. */
static void
anth_block_start(struct dialect_call *c, enum anth_block kind, cJSON *cb,
    struct dialect_buf *out)
{
	cJSON	*o;

	anth_block_stop(c, out);
	c->block = c->nblocks++;
	c->open = kind;
	o = anth_event_new("content_block_start");
	anth_add(o, "index", cJSON_CreateNumber((double)c->block));
	anth_add(o, "content_block", cb);
	anth_emit(out, o);
}

static void
anth_delta(struct dialect_buf *out, size_t block, const char *type,
    const char *key, const char *s)
{
	cJSON	*o, *d;

	o = anth_event_new("content_block_delta");
	anth_add(o, "index", cJSON_CreateNumber((double)block));
	d = anth_new(cJSON_CreateObject());
	anth_add(d, "type", cJSON_CreateString(type));
	anth_add(d, key, cJSON_CreateString(s));
	anth_add(o, "delta", d);
	anth_emit(out, o);
}

/* A piece of reasoning: a thinking block's thinking_delta. */
static void
anth_stream_thinking(struct dialect_call *c, const char *s,
    struct dialect_buf *out)
{
	cJSON	*cb;

	if (s == NULL)
		return;
	if (c->open != ANTH_BLOCK_THINKING) {
		cb = anth_thinking_block("");
		anth_block_start(c, ANTH_BLOCK_THINKING, cb, out);
	}
	anth_delta(out, c->block, "thinking_delta", "thinking", s);
}

static void
anth_stream_text(struct dialect_call *c, const char *s,
    struct dialect_buf *out)
{
	cJSON	*cb;

	if (s == NULL || s[0] == '\0')
		return;
	if (c->open != ANTH_BLOCK_TEXT) {
		cb = anth_new(cJSON_CreateObject());
		anth_add(cb, "type", cJSON_CreateString("text"));
		anth_add(cb, "text", cJSON_CreateString(""));
		anth_block_start(c, ANTH_BLOCK_TEXT, cb, out);
	}
	anth_delta(out, c->block, "text_delta", "text", s);
}

/*
 * One tool call's piece: the first (with its name) starts a tool_use
 * block, the arguments are input_json_delta. Pieces of a call whose block
 * another has since closed (OpenAI sends calls one after the other; this
 * would be a backend interleaving them) still go to that call's block.
 */
static int
anth_stream_tool(struct dialect_call *c, const cJSON *tc, size_t pos,
    struct dialect_buf *out)
{
	const cJSON	*fn;
	const char	*id, *name, *args;
	struct anth_tool *t = NULL;
	cJSON		*cb;
	char		 gen[ANTH_MAX_ID];
	int64_t		 index;
	size_t		 i;

	if (!cJSON_IsObject(tc))
		return -1;
	if (anth_get(tc, "index") == NULL)
		index = (int64_t)pos;
	else if (anth_integer(anth_get(tc, "index"), 0, INT32_MAX,
	    &index) == -1)
		return -1;
	fn = anth_get(tc, "function");
	if (fn != NULL && !cJSON_IsObject(fn))
		return -1;
	for (i = 0; i < c->ntools; i++)
		if (c->tools[i].oai == index)
			t = &c->tools[i];
	if (t == NULL) {
		name = anth_string(anth_get(fn, "name"));
		if (name == NULL || name[0] == '\0' ||
		    c->ntools >= ANTH_MAX_ITEMS)
			return -1;
		if ((id = anth_string(anth_get(tc, "id"))) == NULL ||
		    id[0] == '\0') {
			snprintf(gen, sizeof(gen), "toolu_%s_%zu",
			    c->msg_id + 4, c->ntools);
			id = gen;
		}
		cb = anth_new(cJSON_CreateObject());
		anth_add(cb, "type", cJSON_CreateString("tool_use"));
		anth_add(cb, "id", cJSON_CreateString(id));
		anth_add(cb, "name", cJSON_CreateString(name));
		anth_add(cb, "input", cJSON_CreateObject());
		anth_block_start(c, ANTH_BLOCK_TOOL, cb, out);
		c->tools = xreallocarray(c->tools, c->ntools + 1,
		    sizeof(*c->tools));
		t = &c->tools[c->ntools++];
		t->oai = (long)index;
		t->block = c->block;
	}
	args = anth_string(anth_get(fn, "arguments"));
	if (args != NULL && args[0] != '\0')
		anth_delta(out, t->block, "input_json_delta", "partial_json",
		    args);
	return 0;
}

static void
dialect_anthropic_stream_error(struct dialect_call *c, enum api_error e,
    const char *message, struct dialect_buf *out)
{
	char	body[2048];
	size_t	n;

	if (c->done)
		return;
	c->done = 1;
	n = dialect_anthropic_error_body(body, sizeof(body), e, NULL, message);
	dialect_buf_str(out, "event: error\ndata: ");
	dialect_buf_add(out, body, n);
	dialect_buf_str(out, "\n\n");
}

static int
dialect_anthropic_event(struct dialect_call *c, const char *data, size_t len,
    struct dialect_buf *out)
{
	const cJSON	*choice, *delta, *calls, *tc, *err;
	const char	*msg;
	cJSON		*o;
	size_t		 pos = 0;
	int		 bad, rc = 0;

	if (len == 6 && memcmp(data, "[DONE]", 6) == 0)
		return 0;
	if (c->done)
		return 0;
	if (jscan_object(data, len, JSCAN_DEPTH_MAX, NULL, 0, NULL, 0) == -1 ||
	    (o = cJSON_ParseWithLength(data, len)) == NULL)
		return -1;
	/* An error in the stream (the backend's, or a guardrail's). */
	if ((err = anth_get(o, "error")) != NULL) {
		msg = anth_string(anth_get(err, "message"));
		dialect_anthropic_stream_error(c, API_UPSTREAM_ERROR,
		    msg != NULL ? msg : "the model's backend failed", out);
		cJSON_Delete(o);
		return 0;
	}
	anth_usage_read(c, anth_get(o, "usage"));
	anth_start(c, out);
	choice = anth_choice(o, &bad);
	if (bad) {
		cJSON_Delete(o);
		return -1;
	}
	delta = anth_get(choice, "delta");
	if (delta != NULL && !cJSON_IsObject(delta))
		rc = -1;
	else if (delta != NULL) {
		anth_stream_thinking(c, anth_reasoning(c, delta), out);
		anth_stream_text(c, anth_string(anth_get(delta, "content")),
		    out);
		anth_stream_text(c, anth_string(anth_get(delta, "refusal")),
		    out);
		calls = anth_get(delta, "tool_calls");
		if (calls != NULL && !cJSON_IsNull(calls) &&
		    !cJSON_IsArray(calls))
			rc = -1;
		cJSON_ArrayForEach(tc, calls) {
			if (rc == 0 && anth_stream_tool(c, tc, pos++, out) == -1)
				rc = -1;
		}
	}
	if (choice != NULL)
		anth_finish_read(c, choice);
	cJSON_Delete(o);
	return rc;
}

static void
dialect_anthropic_end(struct dialect_call *c, struct dialect_buf *out)
{
	const char	*reason;
	cJSON		*o, *d, *u;

	if (c->done)
		return;
	c->done = 1;
	anth_start(c, out);
	anth_block_stop(c, out);
	reason = anth_stop_reason(c, c->ntools > 0);
	o = anth_event_new("message_delta");
	d = anth_new(cJSON_CreateObject());
	anth_add(d, "stop_reason", cJSON_CreateString(reason));
	anth_add(d, "stop_sequence", anth_stop_sequence(c, reason));
	anth_add(o, "delta", d);
	u = anth_usage(c);
	anth_add(o, "usage", u);
	anth_emit(out, o);
	anth_emit(out, anth_event_new("message_stop"));
}

/*
 * {"type":"error","error":{"type","message"}}. Anthropic's errors have no
 * param: the field at fault leads the message, as Anthropic's own do.
 */
static size_t
dialect_anthropic_error_body(char *buf, size_t len, enum api_error e,
    const char *param, const char *message)
{
	char		 full[1024], msg[sizeof(full) * 6 + 3];
	const char	*type = "api_error";
	size_t		 n, room, plen = param != NULL ? strlen(param) : 0;
	int		 rc;

	/* Room for the message once escaped (6 bytes a byte at worst). */
	room = len > 96 ? (len - 96) / 6 : 0;
	if (room > sizeof(full) - 1)
		room = sizeof(full) - 1;

	if ((size_t)e < sizeof(anth_error_types) / sizeof(*anth_error_types) &&
	    anth_error_types[e] != NULL)
		type = anth_error_types[e];
	if (param != NULL && plen > 0 && strncmp(message, param, plen) != 0)
		snprintf(full, sizeof(full), "%s: %s", param, message);
	else
		snprintf(full, sizeof(full), "%s", message);
	n = jscan_utf8_cut(full, strlen(full), room);
	jscan_quote(msg, sizeof(msg), full, n);
	rc = snprintf(buf, len, "{\"type\":\"error\",\"error\":{\"type\":\"%s\","
	    "\"message\":%s}}", type, msg);
	n = rc < 0 ? 0 : (size_t)rc;
	return n >= len ? len - 1 : n;
}

const struct dialect_ops dialect_anthropic = {
	.name = "anthropic",
	.open = dialect_anthropic_open,
	.answer = dialect_anthropic_answer,
	.stream_type = "text/event-stream",
	.event = dialect_anthropic_event,
	.end = dialect_anthropic_end,
	.stream_error = dialect_anthropic_stream_error,
	.error_body = dialect_anthropic_error_body,
	.close = dialect_anthropic_close,
};
