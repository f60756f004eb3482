/*
 * OpenAI's Responses API (POST /v1/responses) served by translation: the
 * request becomes a chat completions body, the answer a Response object,
 * the chunks the Responses event sequence. Runs on a worker loop; holds
 * nothing but its own call's state. Nothing is stored: requests that need
 * a stored response (previous_response_id, store, item_reference) are
 * refused.
 */
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

/* What one request may hold: input items, parts of one item, tools. */
#define RESP_ITEMS_MAX	4096
#define RESP_PARTS_MAX	4096
#define RESP_TOOLS_MAX	4096
/* Nesting of the request (tool schemas included). */
#define RESP_DEPTH	128
/* Tool calls in one streamed answer, and the text and arguments held. */
#define RESP_CALLS_MAX	128
#define RESP_HELD_MAX	(64u * 1024 * 1024)

/* One function call of a streamed answer. */
struct resp_call {
	int			 index;		/* the chunks' tool_calls index */
	int			 output;	/* its output_index */
	char			*call_id;
	char			*name;
	struct dialect_buf	 args;
};

struct dialect_call {
	char			 id[64];	/* the request's id */
	time_t			 now;
	cJSON			*echo;		/* request fields the Response repeats */
	/* Stored (response-store.c): its domain, the conversation so far. */
	char			 domain_id[40];
	cJSON			*history;	/* NULL: not stored */
	char			*previous;	/* previous_response_id, or NULL */
	int			 stored;	/* kept, history handed over */

	/* The stream. */
	int			 started;	/* created and in_progress sent */
	int			 over;		/* completed or failed sent */
	int			 seq;		/* the next sequence_number */
	int			 outputs;	/* output items opened */
	int			 message;	/* the message's output_index, or -1 */
	struct dialect_buf	 text;
	size_t			 held;		/* text and arguments, bytes */
	struct resp_call	 calls[RESP_CALLS_MAX];
	size_t			 ncalls;
	char			*finish;	/* the last finish_reason */
	cJSON			*usage;		/* the backend's usage, chat shape */
};

/* --- cJSON with out-of-memory made fatal --------------------------------- */

static cJSON *
resp_check(cJSON *o)
{
	if (o == NULL)
		fatalx("%s: out of memory", __func__);
	return o;
}

static void
resp_add(cJSON *obj, const char *name, cJSON *v)
{
	if (!cJSON_AddItemToObject(obj, name, resp_check(v)))
		fatalx("%s: out of memory", __func__);
}

static void
resp_push(cJSON *arr, cJSON *v)
{
	if (!cJSON_AddItemToArray(arr, resp_check(v)))
		fatalx("%s: out of memory", __func__);
}

static cJSON *
resp_str(const char *s)
{
	return resp_check(s != NULL ? cJSON_CreateString(s) :
	    cJSON_CreateNull());
}

static cJSON *
resp_dup(const cJSON *o)
{
	return resp_check(o != NULL ? cJSON_Duplicate(o, 1) :
	    cJSON_CreateNull());
}

static cJSON *
resp_get(const cJSON *o, const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(o, name);
}

/* A member that is absent or null. */
static int
resp_none(const cJSON *v)
{
	return v == NULL || cJSON_IsNull(v);
}

/* Printed, as a string free() takes. */
static char *
resp_print(const cJSON *o, size_t *len)
{
	char	*s, *copy;

	if ((s = cJSON_PrintUnformatted(o)) == NULL)
		fatalx("%s: out of memory", __func__);
	copy = xstrdup(s);
	cJSON_free(s);
	if (len != NULL)
		*len = strlen(copy);
	return copy;
}

/* --- the request ---------------------------------------------------------- */

struct resp_open;
static int	resp_previous(struct resp_open *, const cJSON *, cJSON *);

/* Where open() reports a request it refuses. */
struct resp_open {
	char		 *err;
	size_t		  errlen;
	const char	**param;
	const char	 *domain_id;	/* where stored responses are */
	int		  keep;		/* the domain logs content: may store */
	time_t		  now;
};

static int __attribute__((format(printf, 3, 4)))
resp_fail(struct resp_open *o, const char *param, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(o->err, o->errlen, fmt, ap);
	va_end(ap);
	*o->param = param;
	return -1;
}

/* A string member's value, or "" when it is no string. */
static const char *
resp_word(const cJSON *v)
{
	return cJSON_IsString(v) ? v->valuestring : "";
}

/* A string holding "\u0000": cJSON would cut it there, unchecked. */
static int
resp_nul(void *arg, const struct jscan_token *t)
{
	const char	*b = arg;
	size_t		 i;

	if (!t->escaped)
		return 0;
	for (i = t->span.start + 1; i + 1 < t->span.end - 1; i++) {
		if (b[i] != '\\')
			continue;
		if (b[i + 1] == 'u' && memcmp(b + i + 2, "0000", 4) == 0)
			return -1;
		i++;
	}
	return 0;
}

/*
 * Parse one JSON object strictly (UTF-8, depth, no key twice, no NUL in a
 * string) as cJSON: whatever is then printed back is valid JSON that says
 * what was checked. NULL with a reason in why (why may be NULL).
 */
static cJSON *
resp_parse(const char *s, size_t len, char *why, size_t whylen)
{
	struct jscan_keys	 keys;
	cJSON			*o;
	int			 rc;

	memset(&keys, 0, sizeof(keys));
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	rc = jscan_walk(s, len, RESP_DEPTH, &keys, resp_nul, (void *)s, why,
	    whylen);
	jscan_keys_free(&keys);
	if (rc == -1) {
		/* The walk leaves why alone when resp_nul() stops it. */
		if (why != NULL && whylen > 0 && why[0] == '\0')
			snprintf(why, whylen, "a string holds \\u0000");
		return NULL;
	}
	if ((o = cJSON_ParseWithLength(s, len)) == NULL && why != NULL)
		snprintf(why, whylen, "cannot parse it");
	return o;
}

/*
 * A string, or the text of a list of input_text / output_text parts joined
 * with newlines: chat content for the roles that take only text. where
 * names it in errors. Returns the string, or NULL after resp_fail().
 */
static cJSON *
resp_text_parts(struct resp_open *o, const cJSON *v, const char *where,
    const char *param)
{
	struct dialect_buf	 b;
	const cJSON		*part, *type, *text;
	size_t			 n = 0;
	int			 refusal;
	cJSON			*s;

	if (cJSON_IsString(v))
		return resp_str(v->valuestring);
	if (!cJSON_IsArray(v)) {
		resp_fail(o, param, "%s must be a string or an array of "
		    "parts", where);
		return NULL;
	}
	memset(&b, 0, sizeof(b));
	cJSON_ArrayForEach(part, v) {
		type = resp_get(part, "type");
		if (++n > RESP_PARTS_MAX) {
			resp_fail(o, param, "%s holds more than %d parts",
			    where, RESP_PARTS_MAX);
			goto fail;
		}
		if (!cJSON_IsObject(part) || !cJSON_IsString(type)) {
			resp_fail(o, param, "%s[%zu] must be an object with a "
			    "type", where, n - 1);
			goto fail;
		}
		/* An assistant's refusal is what it said: text. */
		refusal = strcmp(type->valuestring, "refusal") == 0;
		if (strcmp(type->valuestring, "input_text") != 0 &&
		    strcmp(type->valuestring, "output_text") != 0 &&
		    !refusal) {
			resp_fail(o, param, "%s[%zu]: part type \"%.64s\" is "
			    "not served here (text only)", where, n - 1,
			    type->valuestring);
			goto fail;
		}
		text = resp_get(part, refusal ? "refusal" : "text");
		if (!cJSON_IsString(text)) {
			resp_fail(o, param, "%s[%zu].%s must be a string",
			    where, n - 1, refusal ? "refusal" : "text");
			goto fail;
		}
		if (n > 1)
			dialect_buf_str(&b, "\n");
		dialect_buf_str(&b, text->valuestring);
	}
	s = resp_str(b.p != NULL ? b.p : "");
	dialect_buf_free(&b);
	return s;
fail:
	dialect_buf_free(&b);
	return NULL;
}

/*
 * A user message's content: a string, or when it holds an image, chat's
 * array of text and image_url parts. NULL after resp_fail().
 */
static cJSON *
resp_user_content(struct resp_open *o, const cJSON *v, const char *where)
{
	const cJSON	*part, *type, *f;
	cJSON		*arr, *p, *img;
	size_t		 n = 0;
	int		 images = 0;

	if (cJSON_IsArray(v)) {
		cJSON_ArrayForEach(part, v) {
			type = resp_get(part, "type");
			if (cJSON_IsString(type) && strcmp(type->valuestring,
			    "input_image") == 0)
				images = 1;
			if (++n > RESP_PARTS_MAX)
				break;
		}
	}
	if (!images)
		return resp_text_parts(o, v, where, "input");
	arr = resp_check(cJSON_CreateArray());
	n = 0;
	cJSON_ArrayForEach(part, v) {
		type = resp_get(part, "type");
		if (++n > RESP_PARTS_MAX) {
			resp_fail(o, "input", "%s holds more than %d parts",
			    where, RESP_PARTS_MAX);
			goto fail;
		}
		if (!cJSON_IsObject(part) || !cJSON_IsString(type)) {
			resp_fail(o, "input", "%s[%zu] must be an object with "
			    "a type", where, n - 1);
			goto fail;
		}
		p = resp_check(cJSON_CreateObject());
		resp_push(arr, p);
		if (strcmp(type->valuestring, "input_text") == 0 ||
		    strcmp(type->valuestring, "output_text") == 0) {
			if (!cJSON_IsString(f = resp_get(part, "text"))) {
				resp_fail(o, "input", "%s[%zu].text must be a "
				    "string", where, n - 1);
				goto fail;
			}
			resp_add(p, "type", resp_str("text"));
			resp_add(p, "text", resp_str(f->valuestring));
			continue;
		}
		if (strcmp(type->valuestring, "input_image") != 0) {
			resp_fail(o, "input", "%s[%zu]: part type \"%.64s\" is "
			    "not served here", where, n - 1, type->valuestring);
			goto fail;
		}
		if (!resp_none(resp_get(part, "file_id"))) {
			resp_fail(o, "input", "%s[%zu]: images by file_id are "
			    "not served here (this gateway stores no files); "
			    "send image_url", where, n - 1);
			goto fail;
		}
		if (!cJSON_IsString(f = resp_get(part, "image_url"))) {
			resp_fail(o, "input", "%s[%zu].image_url must be a "
			    "string", where, n - 1);
			goto fail;
		}
		resp_add(p, "type", resp_str("image_url"));
		img = resp_check(cJSON_CreateObject());
		resp_add(p, "image_url", img);
		resp_add(img, "url", resp_str(f->valuestring));
		if (cJSON_IsString(f = resp_get(part, "detail")))
			resp_add(img, "detail", resp_str(f->valuestring));
	}
	return arr;
fail:
	cJSON_Delete(arr);
	return NULL;
}

/* The messages and tool calls of the input, appended to msgs. */
static int
resp_input(struct resp_open *o, const cJSON *input, cJSON *msgs)
{
	const cJSON	*item, *type, *role, *f, *g, *h;
	cJSON		*m, *calls, *tc, *fn, *content, *assistant = NULL;
	char		 where[64];
	size_t		 i = 0;
	const char	*t, *r;

	if (cJSON_IsString(input)) {
		m = resp_check(cJSON_CreateObject());
		resp_push(msgs, m);
		resp_add(m, "role", resp_str("user"));
		resp_add(m, "content", resp_str(input->valuestring));
		return 0;
	}
	if (!cJSON_IsArray(input))
		return resp_fail(o, "input", "input must be a string or an "
		    "array of items");
	cJSON_ArrayForEach(item, input) {
		if (i >= RESP_ITEMS_MAX)
			return resp_fail(o, "input", "input holds more than "
			    "%d items", RESP_ITEMS_MAX);
		snprintf(where, sizeof(where), "input[%zu]", i++);
		if (!cJSON_IsObject(item))
			return resp_fail(o, "input", "%s must be an object",
			    where);
		type = resp_get(item, "type");
		if (!resp_none(type) && !cJSON_IsString(type))
			return resp_fail(o, "input", "%s.type must be a "
			    "string", where);
		t = resp_none(type) ? "message" : type->valuestring;

		if (strcmp(t, "reasoning") == 0)
			continue;
		if (strcmp(t, "item_reference") == 0)
			return resp_fail(o, "input", "%s: item_reference needs "
			    "a stored response, and this gateway does not "
			    "store responses; send the item itself (the AI "
			    "SDK does with providerOptions.openai.store "
			    "false)", where);

		if (strcmp(t, "function_call") == 0) {
			f = resp_get(item, "call_id");
			g = resp_get(item, "name");
			h = resp_get(item, "arguments");
			if (!cJSON_IsString(f) || *f->valuestring == '\0')
				return resp_fail(o, "input", "%s.call_id must "
				    "be a non-empty string", where);
			if (!cJSON_IsString(g) || *g->valuestring == '\0')
				return resp_fail(o, "input", "%s.name must be "
				    "a non-empty string", where);
			if (!cJSON_IsString(h))
				return resp_fail(o, "input", "%s.arguments "
				    "must be a string", where);
			if (assistant == NULL) {
				assistant = resp_check(cJSON_CreateObject());
				resp_push(msgs, assistant);
				resp_add(assistant, "role",
				    resp_str("assistant"));
				resp_add(assistant, "content", resp_str(NULL));
			}
			if ((calls = resp_get(assistant, "tool_calls")) ==
			    NULL) {
				calls = resp_check(cJSON_CreateArray());
				resp_add(assistant, "tool_calls", calls);
			}
			tc = resp_check(cJSON_CreateObject());
			resp_push(calls, tc);
			resp_add(tc, "id", resp_str(f->valuestring));
			resp_add(tc, "type", resp_str("function"));
			fn = resp_check(cJSON_CreateObject());
			resp_add(tc, "function", fn);
			resp_add(fn, "name", resp_str(g->valuestring));
			resp_add(fn, "arguments", resp_str(h->valuestring));
			continue;
		}

		assistant = NULL;
		if (strcmp(t, "function_call_output") == 0) {
			f = resp_get(item, "call_id");
			if (!cJSON_IsString(f) || *f->valuestring == '\0')
				return resp_fail(o, "input", "%s.call_id must "
				    "be a non-empty string", where);
			snprintf(where, sizeof(where), "input[%zu].output",
			    i - 1);
			if ((content = resp_text_parts(o, resp_get(item,
			    "output"), where, "input")) == NULL)
				return -1;
			m = resp_check(cJSON_CreateObject());
			resp_push(msgs, m);
			resp_add(m, "role", resp_str("tool"));
			resp_add(m, "tool_call_id", resp_str(f->valuestring));
			resp_add(m, "content", content);
			continue;
		}
		if (strcmp(t, "message") != 0)
			return resp_fail(o, "input", "%s: item type \"%.64s\" "
			    "is not served by this gateway (messages, "
			    "function_call, function_call_output and reasoning "
			    "are)", where, t);

		role = resp_get(item, "role");
		r = resp_word(role);
		if (strcmp(r, "user") != 0 && strcmp(r, "assistant") != 0 &&
		    strcmp(r, "system") != 0 && strcmp(r, "developer") != 0)
			return resp_fail(o, "input", "%s.role must be user, "
			    "assistant, system or developer", where);
		snprintf(where, sizeof(where), "input[%zu].content", i - 1);
		f = resp_get(item, "content");
		content = strcmp(r, "user") == 0 ?
		    resp_user_content(o, f, where) :
		    resp_text_parts(o, f, where, "input");
		if (content == NULL)
			return -1;
		m = resp_check(cJSON_CreateObject());
		resp_push(msgs, m);
		/* Backends that know "developer" are few; it is "system". */
		resp_add(m, "role", resp_str(strcmp(r, "developer") == 0 ?
		    "system" : r));
		resp_add(m, "content", content);
		if (strcmp(r, "assistant") == 0)
			assistant = m;
	}
	return 0;
}

/* tools: functions only, as chat's {type, function: {...}}. */
static int
resp_tools(struct resp_open *o, const cJSON *tools, cJSON *body)
{
	const cJSON	*tool, *type, *f;
	cJSON		*arr, *t, *fn;
	size_t		 i = 0;

	if (resp_none(tools))
		return 0;
	if (!cJSON_IsArray(tools))
		return resp_fail(o, "tools", "tools must be an array");
	if (cJSON_GetArraySize(tools) == 0)
		return 0;
	arr = resp_check(cJSON_CreateArray());
	resp_add(body, "tools", arr);
	cJSON_ArrayForEach(tool, tools) {
		if (i++ >= RESP_TOOLS_MAX)
			return resp_fail(o, "tools", "tools holds more than "
			    "%d tools", RESP_TOOLS_MAX);
		type = resp_get(tool, "type");
		if (!cJSON_IsObject(tool) || !cJSON_IsString(type))
			return resp_fail(o, "tools", "tools[%zu] must be an "
			    "object with a type", i - 1);
		if (strcmp(type->valuestring, "function") != 0)
			return resp_fail(o, "tools", "tools[%zu]: the built-in "
			    "tool \"%.64s\" is not served by this gateway "
			    "(only function tools are)", i - 1,
			    type->valuestring);
		f = resp_get(tool, "name");
		if (!cJSON_IsString(f) || *f->valuestring == '\0')
			return resp_fail(o, "tools", "tools[%zu].name must be "
			    "a non-empty string", i - 1);
		t = resp_check(cJSON_CreateObject());
		resp_push(arr, t);
		resp_add(t, "type", resp_str("function"));
		fn = resp_check(cJSON_CreateObject());
		resp_add(t, "function", fn);
		resp_add(fn, "name", resp_str(f->valuestring));
		f = resp_get(tool, "description");
		if (cJSON_IsString(f))
			resp_add(fn, "description", resp_str(f->valuestring));
		else if (!resp_none(f))
			return resp_fail(o, "tools", "tools[%zu].description "
			    "must be a string", i - 1);
		f = resp_get(tool, "parameters");
		if (cJSON_IsObject(f))
			resp_add(fn, "parameters", resp_dup(f));
		else if (!resp_none(f))
			return resp_fail(o, "tools", "tools[%zu].parameters "
			    "must be an object", i - 1);
		f = resp_get(tool, "strict");
		if (cJSON_IsBool(f))
			resp_add(fn, "strict", resp_dup(f));
		else if (!resp_none(f))
			return resp_fail(o, "tools", "tools[%zu].strict must be "
			    "a boolean", i - 1);
	}
	return 0;
}

static int
resp_tool_choice(struct resp_open *o, const cJSON *v, cJSON *body)
{
	const cJSON	*type, *name;
	cJSON		*tc, *fn;

	if (resp_none(v))
		return 0;
	if (cJSON_IsString(v)) {
		if (strcmp(v->valuestring, "auto") != 0 &&
		    strcmp(v->valuestring, "none") != 0 &&
		    strcmp(v->valuestring, "required") != 0)
			return resp_fail(o, "tool_choice", "tool_choice must "
			    "be auto, none, required or a function");
		resp_add(body, "tool_choice", resp_str(v->valuestring));
		return 0;
	}
	type = resp_get(v, "type");
	name = resp_get(v, "name");
	if (!cJSON_IsObject(v) || !cJSON_IsString(type))
		return resp_fail(o, "tool_choice", "tool_choice must be auto, "
		    "none, required or {\"type\": \"function\", \"name\": ...}");
	if (strcmp(type->valuestring, "function") != 0)
		return resp_fail(o, "tool_choice", "tool_choice type "
		    "\"%.64s\" is not served by this gateway (only function "
		    "is)", type->valuestring);
	if (!cJSON_IsString(name) || *name->valuestring == '\0')
		return resp_fail(o, "tool_choice", "tool_choice.name must be a "
		    "non-empty string");
	tc = resp_check(cJSON_CreateObject());
	resp_add(body, "tool_choice", tc);
	resp_add(tc, "type", resp_str("function"));
	fn = resp_check(cJSON_CreateObject());
	resp_add(tc, "function", fn);
	resp_add(fn, "name", resp_str(name->valuestring));
	return 0;
}

/* text.format as chat's response_format. */
static int
resp_text(struct resp_open *o, const cJSON *text, cJSON *body)
{
	const cJSON	*format, *type, *f;
	cJSON		*rf, *js;

	if (resp_none(text))
		return 0;
	if (!cJSON_IsObject(text))
		return resp_fail(o, "text", "text must be an object");
	format = resp_get(text, "format");
	if (resp_none(format))
		return 0;
	type = resp_get(format, "type");
	if (!cJSON_IsObject(format) || !cJSON_IsString(type))
		return resp_fail(o, "text.format", "text.format must be an "
		    "object with a type");
	if (strcmp(type->valuestring, "text") == 0)
		return 0;
	if (strcmp(type->valuestring, "json_object") == 0) {
		rf = resp_check(cJSON_CreateObject());
		resp_add(body, "response_format", rf);
		resp_add(rf, "type", resp_str("json_object"));
		return 0;
	}
	if (strcmp(type->valuestring, "json_schema") != 0)
		return resp_fail(o, "text.format", "text.format type must be "
		    "text, json_object or json_schema");
	rf = resp_check(cJSON_CreateObject());
	resp_add(body, "response_format", rf);
	resp_add(rf, "type", resp_str("json_schema"));
	js = resp_check(cJSON_CreateObject());
	resp_add(rf, "json_schema", js);
	f = resp_get(format, "name");
	if (!cJSON_IsString(f) || *f->valuestring == '\0')
		return resp_fail(o, "text.format", "text.format.name must be a "
		    "non-empty string");
	resp_add(js, "name", resp_str(f->valuestring));
	f = resp_get(format, "description");
	if (cJSON_IsString(f))
		resp_add(js, "description", resp_str(f->valuestring));
	else if (!resp_none(f))
		return resp_fail(o, "text.format", "text.format.description "
		    "must be a string");
	f = resp_get(format, "schema");
	if (!cJSON_IsObject(f))
		return resp_fail(o, "text.format", "text.format.schema must be "
		    "an object");
	resp_add(js, "schema", resp_dup(f));
	f = resp_get(format, "strict");
	if (cJSON_IsBool(f))
		resp_add(js, "strict", resp_dup(f));
	else if (!resp_none(f))
		return resp_fail(o, "text.format", "text.format.strict must be "
		    "a boolean");
	return 0;
}

/* A number member copied to chat's name, or a 400. */
static int
resp_number(struct resp_open *o, const cJSON *req, const char *name,
    double min, double max, int integer, cJSON *body, const char *to)
{
	const cJSON	*v = resp_get(req, name);
	double		 d;

	if (resp_none(v))
		return 0;
	d = cJSON_IsNumber(v) ? v->valuedouble : min - 1;
	if (d < min || d > max || (integer && d != (double)(int64_t)d))
		return resp_fail(o, name, "%s must be %s from %g to %g", name,
		    integer ? "an integer" : "a number", min, max);
	resp_add(body, to, resp_dup(v));
	return 0;
}

/*
 * Refuse what needs a stored response or a feature served elsewhere: the
 * member is present and not null (or, for store and background, true).
 */
static int
resp_refuse(struct resp_open *o, const cJSON *req)
{
	static const struct {
		const char	*name;
		int		 only_true;
		const char	*why;
		int		 kept;	/* served where the domain keeps */
	} refused[] = {
		{ "previous_response_id", 0, "this gateway does not store "
		    "responses for a domain that does not log content; send "
		    "the conversation in input", 1 },
		{ "store", 1, "this gateway does not store responses for a "
		    "domain that does not log content; send store: false",
		    1 },
		{ "conversation", 0, "this gateway does not store "
		    "conversations; send the conversation in input", 0 },
		{ "prompt", 0, "this gateway stores no prompt templates", 0 },
		{ "background", 1, "background responses are not served by "
		    "this gateway", 0 },
	};
	const cJSON	*v;
	size_t		 i;

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		v = resp_get(req, refused[i].name);
		if (resp_none(v) || (refused[i].only_true && cJSON_IsFalse(v)))
			continue;
		if (refused[i].only_true && !cJSON_IsTrue(v))
			return resp_fail(o, refused[i].name, "%s must be a "
			    "boolean", refused[i].name);
		if (refused[i].kept && o->keep)
			continue;
		return resp_fail(o, refused[i].name, "%s: %s",
		    refused[i].name, refused[i].why);
	}
	return 0;
}

/* Keep what the Response repeats back (what SDKs read), defaults filled. */
static cJSON *
resp_echo(const cJSON *req)
{
	cJSON		*echo, *text, *format;
	const cJSON	*v;

	echo = resp_check(cJSON_CreateObject());
	v = resp_get(req, "instructions");
	resp_add(echo, "instructions", resp_dup(cJSON_IsString(v) ? v : NULL));
	v = resp_get(req, "max_output_tokens");
	resp_add(echo, "max_output_tokens", resp_dup(cJSON_IsNumber(v) ? v :
	    NULL));
	resp_add(echo, "model", resp_dup(resp_get(req, "model")));
	v = resp_get(req, "parallel_tool_calls");
	resp_add(echo, "parallel_tool_calls", cJSON_IsBool(v) ? resp_dup(v) :
	    resp_check(cJSON_CreateTrue()));
	v = resp_get(req, "temperature");
	resp_add(echo, "temperature", cJSON_IsNumber(v) ? resp_dup(v) :
	    resp_check(cJSON_CreateNumber(1)));
	v = resp_get(req, "text");
	if (cJSON_IsObject(v) && cJSON_IsObject(resp_get(v, "format")))
		resp_add(echo, "text", resp_dup(v));
	else {
		text = resp_check(cJSON_CreateObject());
		resp_add(echo, "text", text);
		format = resp_check(cJSON_CreateObject());
		resp_add(text, "format", format);
		resp_add(format, "type", resp_str("text"));
	}
	v = resp_get(req, "tool_choice");
	resp_add(echo, "tool_choice", resp_none(v) ? resp_str("auto") :
	    resp_dup(v));
	v = resp_get(req, "tools");
	resp_add(echo, "tools", cJSON_IsArray(v) ? resp_dup(v) :
	    resp_check(cJSON_CreateArray()));
	v = resp_get(req, "top_p");
	resp_add(echo, "top_p", cJSON_IsNumber(v) ? resp_dup(v) :
	    resp_check(cJSON_CreateNumber(1)));
	v = resp_get(req, "user");
	resp_add(echo, "user", resp_dup(cJSON_IsString(v) ? v : NULL));
	v = resp_get(req, "metadata");
	resp_add(echo, "metadata", cJSON_IsObject(v) ? resp_dup(v) :
	    resp_check(cJSON_CreateObject()));
	return echo;
}

/* The chat completions body for req, or NULL after resp_fail(). */
static cJSON *
resp_request(struct resp_open *o, const cJSON *req, int *stream)
{
	cJSON		*body, *msgs, *m, *so;
	const cJSON	*v;

	*stream = 0;
	if (!cJSON_IsObject(req)) {
		resp_fail(o, NULL, "the body must be a JSON object");
		return NULL;
	}
	if (resp_refuse(o, req) == -1)
		return NULL;
	body = resp_check(cJSON_CreateObject());
	v = resp_get(req, "model");
	if (!cJSON_IsString(v) || *v->valuestring == '\0') {
		resp_fail(o, "model", "model must be a non-empty string");
		goto fail;
	}
	resp_add(body, "model", resp_str(v->valuestring));
	msgs = resp_check(cJSON_CreateArray());
	resp_add(body, "messages", msgs);
	v = resp_get(req, "instructions");
	if (cJSON_IsString(v)) {
		m = resp_check(cJSON_CreateObject());
		resp_push(msgs, m);
		resp_add(m, "role", resp_str("system"));
		resp_add(m, "content", resp_str(v->valuestring));
	} else if (!resp_none(v)) {
		resp_fail(o, "instructions", "instructions must be a string");
		goto fail;
	}
	if (resp_previous(o, resp_get(req, "previous_response_id"), msgs) ==
	    -1)
		goto fail;
	v = resp_get(req, "input");
	if (resp_none(v)) {
		resp_fail(o, "input", "input is required");
		goto fail;
	}
	if (resp_input(o, v, msgs) == -1)
		goto fail;
	if (cJSON_GetArraySize(msgs) == 0) {
		resp_fail(o, "input", "input holds no message");
		goto fail;
	}
	if (resp_tools(o, resp_get(req, "tools"), body) == -1 ||
	    resp_tool_choice(o, resp_get(req, "tool_choice"), body) == -1)
		goto fail;
	/* vLLM refuses a tool_choice without tools; it means nothing then. */
	if (resp_get(body, "tools") == NULL)
		cJSON_DeleteItemFromObjectCaseSensitive(body, "tool_choice");
	v = resp_get(req, "parallel_tool_calls");
	if (cJSON_IsBool(v))
		resp_add(body, "parallel_tool_calls", resp_dup(v));
	else if (!resp_none(v)) {
		resp_fail(o, "parallel_tool_calls", "parallel_tool_calls must "
		    "be a boolean");
		goto fail;
	}
	if (resp_text(o, resp_get(req, "text"), body) == -1 ||
	    resp_number(o, req, "max_output_tokens", 1, 1e9, 1, body,
	    "max_tokens") == -1 ||
	    resp_number(o, req, "temperature", 0, 2, 0, body,
	    "temperature") == -1 ||
	    resp_number(o, req, "top_p", 0, 1, 0, body, "top_p") == -1)
		goto fail;
	v = resp_get(req, "user");
	if (cJSON_IsString(v))
		resp_add(body, "user", resp_str(v->valuestring));
	else if (!resp_none(v)) {
		resp_fail(o, "user", "user must be a string");
		goto fail;
	}
	v = resp_get(req, "metadata");
	if (!resp_none(v) && !cJSON_IsObject(v)) {
		resp_fail(o, "metadata", "metadata must be an object");
		goto fail;
	}
	v = resp_get(req, "stream");
	if (cJSON_IsTrue(v)) {
		*stream = 1;
		resp_add(body, "stream", resp_check(cJSON_CreateTrue()));
		so = resp_check(cJSON_CreateObject());
		resp_add(body, "stream_options", so);
		resp_add(so, "include_usage", resp_check(cJSON_CreateTrue()));
	} else if (!resp_none(v) && !cJSON_IsFalse(v)) {
		resp_fail(o, "stream", "stream must be a boolean");
		goto fail;
	}
	return body;
fail:
	cJSON_Delete(body);
	return NULL;
}

/*
 * What the previous response kept (its conversation, chat messages) goes
 * first; instructions are not carried over, as OpenAI's are not.
 */
static int
resp_previous(struct resp_open *o, const cJSON *v, cJSON *msgs)
{
	cJSON	*kept, *m;
	char	*json;
	size_t	 len;

	if (resp_none(v))
		return 0;
	if (!cJSON_IsString(v) || *v->valuestring == '\0')
		return resp_fail(o, "previous_response_id", "previous_"
		    "response_id must be a non-empty string");
	if ((json = response_store_get(o->domain_id, v->valuestring, o->now,
	    &len)) == NULL)
		return resp_fail(o, "previous_response_id", "Previous response"
		    " with id '%.80s' not found: the gateway keeps responses"
		    " for %d minutes, in memory", v->valuestring,
		    RESPONSE_STORE_TTL / 60);
	kept = cJSON_ParseWithLength(json, len);
	explicit_bzero(json, len);
	free(json);
	if (!cJSON_IsArray(kept)) {
		cJSON_Delete(kept);
		return resp_fail(o, "previous_response_id", "the previous "
		    "response could not be read");
	}
	while ((m = cJSON_DetachItemFromArray(kept, 0)) != NULL)
		resp_push(msgs, m);
	cJSON_Delete(kept);
	return 0;
}

/* The assistant's turn from a Response's output items, for the history. */
static void
resp_remember(struct dialect_call *c, const cJSON *output)
{
	const cJSON	*item, *content, *part;
	cJSON		*m, *calls = NULL, *tc, *fn;
	struct dialect_buf	 text = { NULL, 0, 0 };
	char		 id[80], *json;
	size_t		 len;

	if (c->history == NULL)
		return;
	m = resp_check(cJSON_CreateObject());
	resp_add(m, "role", resp_str("assistant"));
	cJSON_ArrayForEach(item, output) {
		if (strcmp(resp_word(resp_get(item, "type")), "message") == 0) {
			content = resp_get(item, "content");
			cJSON_ArrayForEach(part, content)
				dialect_buf_str(&text, resp_word(resp_get(part,
				    "text")));
			continue;
		}
		if (calls == NULL)
			calls = resp_check(cJSON_CreateArray());
		tc = resp_check(cJSON_CreateObject());
		resp_push(calls, tc);
		resp_add(tc, "id", resp_str(resp_word(resp_get(item,
		    "call_id"))));
		resp_add(tc, "type", resp_str("function"));
		fn = resp_check(cJSON_CreateObject());
		resp_add(tc, "function", fn);
		resp_add(fn, "name", resp_str(resp_word(resp_get(item,
		    "name"))));
		resp_add(fn, "arguments", resp_str(resp_word(resp_get(item,
		    "arguments"))));
	}
	resp_add(m, "content", text.p != NULL ? resp_str(text.p) :
	    resp_str(NULL));
	if (calls != NULL)
		resp_add(m, "tool_calls", calls);
	resp_push(c->history, m);
	dialect_buf_free(&text);
	snprintf(id, sizeof(id), "resp_%s", c->id);
	json = resp_print(c->history, &len);
	if (response_store_put(c->domain_id, id, json, len, c->now) == -1)
		log_warnx("response %s: its conversation is too large to"
		    " keep", id);
	explicit_bzero(json, len);
	free(json);
	cJSON_Delete(c->history);
	c->history = NULL;
	c->stored = 1;
}

/* The client's request as a chat body, and the state its answer needs. */
static struct dialect_call *
dialect_responses_open(enum route_kind route, const char *body, size_t len,
    const char *id, time_t now, struct dialect_request *out, char *err,
    size_t errlen, const char **param)
{
	struct resp_open	 o = { err, errlen, param, out->domain_id,
				    out->keep && out->domain_id != NULL, now };
	struct dialect_call	*c;
	cJSON			*req, *chat;
	char			 why[128];
	int			 stream;

	*param = NULL;
	if (route != ROUTE_RESPONSES) {
		resp_fail(&o, NULL, "this route is not served by the "
		    "responses dialect");
		return NULL;
	}
	if ((req = resp_parse(body, len, why, sizeof(why))) == NULL) {
		resp_fail(&o, NULL, "the body is not valid JSON: %s", why);
		return NULL;
	}
	if ((chat = resp_request(&o, req, &stream)) == NULL) {
		cJSON_Delete(req);
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	snprintf(c->id, sizeof(c->id), "%s", id);
	c->now = now;
	c->message = -1;
	c->echo = resp_echo(req);
	/* A domain that logs content keeps it unless told store: false. */
	if (o.keep && !cJSON_IsFalse(resp_get(req, "store"))) {
		snprintf(c->domain_id, sizeof(c->domain_id), "%s",
		    out->domain_id);
		c->history = resp_dup(resp_get(chat, "messages"));
		if (cJSON_IsString(resp_get(req, "instructions")))
			cJSON_DeleteItemFromArray(c->history, 0);
	}
	if (cJSON_IsString(resp_get(req, "previous_response_id")))
		c->previous = xstrdup(resp_get(req,
		    "previous_response_id")->valuestring);
	cJSON_Delete(req);
	out->body = resp_print(chat, &out->len);
	cJSON_Delete(chat);
	out->route = ROUTE_CHAT;
	out->stream = stream;
	out->trace_route = "responses";
	return c;
}

/* --- the answer ----------------------------------------------------------- */

/* A token count from a usage object: a whole number, else 0. */
static double
resp_count(const cJSON *o, const char *name, const char *sub)
{
	const cJSON	*v = resp_get(o, name);

	if (sub != NULL)
		v = resp_get(v, sub);
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 ||
	    v->valuedouble > 9007199254740992.0)
		return 0;
	return (double)(int64_t)v->valuedouble;
}

/* Chat's usage as the Response's; zeros where the backend gave none. */
static cJSON *
resp_usage(const cJSON *u)
{
	cJSON	*o, *d;
	double	 in, outn, total;

	in = resp_count(u, "prompt_tokens", NULL);
	outn = resp_count(u, "completion_tokens", NULL);
	total = resp_count(u, "total_tokens", NULL);
	o = resp_check(cJSON_CreateObject());
	resp_add(o, "input_tokens", resp_check(cJSON_CreateNumber(in)));
	d = resp_check(cJSON_CreateObject());
	resp_add(o, "input_tokens_details", d);
	resp_add(d, "cached_tokens", resp_check(cJSON_CreateNumber(
	    resp_count(u, "prompt_tokens_details", "cached_tokens"))));
	resp_add(o, "output_tokens", resp_check(cJSON_CreateNumber(outn)));
	d = resp_check(cJSON_CreateObject());
	resp_add(o, "output_tokens_details", d);
	resp_add(d, "reasoning_tokens", resp_check(cJSON_CreateNumber(
	    resp_count(u, "completion_tokens_details", "reasoning_tokens"))));
	resp_add(o, "total_tokens", resp_check(cJSON_CreateNumber(
	    total > 0 ? total : in + outn)));
	return o;
}

/* The reason a finish_reason leaves the response incomplete, or NULL. */
static const char *
resp_incomplete(const char *finish)
{
	if (finish == NULL)
		return NULL;
	if (strcmp(finish, "length") == 0)
		return "max_output_tokens";
	if (strcmp(finish, "content_filter") == 0)
		return "content_filter";
	return NULL;
}

/* An output_text part. */
static cJSON *
resp_part(const char *text)
{
	cJSON	*p = resp_check(cJSON_CreateObject());

	resp_add(p, "type", resp_str("output_text"));
	resp_add(p, "annotations", resp_check(cJSON_CreateArray()));
	resp_add(p, "logprobs", resp_check(cJSON_CreateArray()));
	resp_add(p, "text", resp_str(text));
	return p;
}

/* The message item; no content part when text is NULL. */
static cJSON *
resp_item_message(const struct dialect_call *c, const char *status,
    const char *text)
{
	cJSON	*m, *content;
	char	 id[80];

	snprintf(id, sizeof(id), "msg_%s", c->id);
	m = resp_check(cJSON_CreateObject());
	resp_add(m, "id", resp_str(id));
	resp_add(m, "type", resp_str("message"));
	resp_add(m, "status", resp_str(status));
	content = resp_check(cJSON_CreateArray());
	resp_add(m, "content", content);
	if (text != NULL)
		resp_push(content, resp_part(text));
	resp_add(m, "role", resp_str("assistant"));
	return m;
}

/* A function_call item; n numbers it within the answer. */
static cJSON *
resp_item_call(const struct dialect_call *c, size_t n, const char *status,
    const char *call_id, const char *name, const char *args)
{
	cJSON	*f;
	char	 id[96], cid[96];

	snprintf(id, sizeof(id), "fc_%s_%zu", c->id, n);
	if (call_id == NULL || *call_id == '\0') {
		snprintf(cid, sizeof(cid), "call_%s_%zu", c->id, n);
		call_id = cid;
	}
	f = resp_check(cJSON_CreateObject());
	resp_add(f, "id", resp_str(id));
	resp_add(f, "type", resp_str("function_call"));
	resp_add(f, "status", resp_str(status));
	resp_add(f, "arguments", resp_str(args));
	resp_add(f, "call_id", resp_str(call_id));
	resp_add(f, "name", resp_str(name));
	return f;
}

/*
 * The Response object: status, its output and usage (both taken), the
 * reason it is incomplete and its error (code, message) or NULL.
 */
static cJSON *
resp_response(const struct dialect_call *c, const char *status,
    const char *reason, cJSON *output, cJSON *usage, const char *code,
    const char *message)
{
	static const char *const echoed[] = { "instructions",
	    "max_output_tokens", "model" };
	static const char *const echoed2[] = { "parallel_tool_calls" };
	static const char *const echoed3[] = { "temperature", "text",
	    "tool_choice", "tools", "top_p" };
	cJSON	*r, *o;
	char	 id[80];
	size_t	 i;

	snprintf(id, sizeof(id), "resp_%s", c->id);
	r = resp_check(cJSON_CreateObject());
	resp_add(r, "id", resp_str(id));
	resp_add(r, "object", resp_str("response"));
	resp_add(r, "created_at", resp_check(cJSON_CreateNumber(
	    (double)c->now)));
	resp_add(r, "status", resp_str(status));
	resp_add(r, "background", resp_check(cJSON_CreateFalse()));
	if (code != NULL) {
		o = resp_check(cJSON_CreateObject());
		resp_add(r, "error", o);
		resp_add(o, "code", resp_str(code));
		resp_add(o, "message", resp_str(message));
	} else
		resp_add(r, "error", resp_str(NULL));
	if (reason != NULL) {
		o = resp_check(cJSON_CreateObject());
		resp_add(r, "incomplete_details", o);
		resp_add(o, "reason", resp_str(reason));
	} else
		resp_add(r, "incomplete_details", resp_str(NULL));
	for (i = 0; i < sizeof(echoed) / sizeof(echoed[0]); i++)
		resp_add(r, echoed[i], resp_dup(resp_get(c->echo, echoed[i])));
	resp_add(r, "output", output);
	for (i = 0; i < sizeof(echoed2) / sizeof(echoed2[0]); i++)
		resp_add(r, echoed2[i], resp_dup(resp_get(c->echo,
		    echoed2[i])));
	resp_add(r, "previous_response_id", resp_str(c->previous));
	o = resp_check(cJSON_CreateObject());
	resp_add(r, "reasoning", o);
	resp_add(o, "effort", resp_str(NULL));
	resp_add(o, "summary", resp_str(NULL));
	resp_add(r, "store", resp_check(cJSON_CreateBool(c->history != NULL ||
	    c->stored)));
	for (i = 0; i < sizeof(echoed3) / sizeof(echoed3[0]); i++)
		resp_add(r, echoed3[i], resp_dup(resp_get(c->echo,
		    echoed3[i])));
	resp_add(r, "truncation", resp_str("disabled"));
	resp_add(r, "usage", usage != NULL ? usage : resp_str(NULL));
	resp_add(r, "user", resp_dup(resp_get(c->echo, "user")));
	resp_add(r, "metadata", resp_dup(resp_get(c->echo, "metadata")));
	return r;
}

/* A chat completion as a Response: a message item, then function calls. */
static char *
dialect_responses_answer(struct dialect_call *c, const char *json,
    size_t len, size_t *outlen)
{
	const cJSON	*choices, *c0, *msg, *content, *finish, *calls, *tc;
	const cJSON	*fn, *name, *args, *cid;
	cJSON		*doc, *output, *r;
	const char	*reason, *status;
	char		*s;
	size_t		 n = 0;
	int		 ncalls;

	if ((doc = resp_parse(json, len, NULL, 0)) == NULL)
		return NULL;
	choices = resp_get(doc, "choices");
	c0 = cJSON_IsArray(choices) ? cJSON_GetArrayItem(choices, 0) : NULL;
	msg = resp_get(c0, "message");
	if (!cJSON_IsObject(doc) || !cJSON_IsObject(msg)) {
		cJSON_Delete(doc);
		return NULL;
	}
	finish = resp_get(c0, "finish_reason");
	reason = resp_incomplete(cJSON_IsString(finish) ?
	    finish->valuestring : NULL);
	status = reason != NULL ? "incomplete" : "completed";
	content = resp_get(msg, "content");
	calls = resp_get(msg, "tool_calls");
	ncalls = cJSON_IsArray(calls) ? cJSON_GetArraySize(calls) : 0;

	output = resp_check(cJSON_CreateArray());
	if ((cJSON_IsString(content) && *content->valuestring != '\0') ||
	    ncalls == 0)
		resp_push(output, resp_item_message(c, status,
		    cJSON_IsString(content) ? content->valuestring : ""));
	if (ncalls == 0)
		calls = NULL;
	cJSON_ArrayForEach(tc, calls) {
		fn = resp_get(tc, "function");
		name = resp_get(fn, "name");
		args = resp_get(fn, "arguments");
		cid = resp_get(tc, "id");
		if (!cJSON_IsString(name))
			continue;
		resp_push(output, resp_item_call(c, n++, "completed",
		    cJSON_IsString(cid) ? cid->valuestring : NULL,
		    name->valuestring, cJSON_IsString(args) ?
		    args->valuestring : "{}"));
	}
	resp_remember(c, output);
	r = resp_response(c, status, reason, output,
	    resp_usage(resp_get(doc, "usage")), NULL, NULL);
	s = resp_print(r, outlen);
	cJSON_Delete(r);
	cJSON_Delete(doc);
	return s;
}

/* --- the stream ----------------------------------------------------------- */

/* An event of type with its sequence_number; send it with resp_send(). */
static cJSON *
resp_event(struct dialect_call *c, const char *type)
{
	cJSON	*e = resp_check(cJSON_CreateObject());

	resp_add(e, "type", resp_str(type));
	resp_add(e, "sequence_number", resp_check(cJSON_CreateNumber(
	    c->seq++)));
	return e;
}

static void
resp_send(struct dialect_buf *out, cJSON *e)
{
	dialect_buf_sse(out, resp_get(e, "type")->valuestring, e);
	cJSON_Delete(e);
}

static void
resp_num(cJSON *e, const char *name, double v)
{
	resp_add(e, name, resp_check(cJSON_CreateNumber(v)));
}

/* response.created and response.in_progress, once. */
static void
resp_start(struct dialect_call *c, struct dialect_buf *out)
{
	static const char *const types[] = { "response.created",
	    "response.in_progress" };
	cJSON	*e;
	size_t	 i;

	if (c->started)
		return;
	c->started = 1;
	for (i = 0; i < 2; i++) {
		e = resp_event(c, types[i]);
		resp_add(e, "response", resp_response(c, "in_progress", NULL,
		    resp_check(cJSON_CreateArray()), NULL, NULL, NULL));
		resp_send(out, e);
	}
}

static void
resp_text_delta(struct dialect_call *c, const char *text,
    struct dialect_buf *out)
{
	cJSON	*e;
	char	 id[80];

	snprintf(id, sizeof(id), "msg_%s", c->id);
	if (c->message == -1) {
		c->message = c->outputs++;
		e = resp_event(c, "response.output_item.added");
		resp_num(e, "output_index", c->message);
		resp_add(e, "item", resp_item_message(c, "in_progress", NULL));
		resp_send(out, e);
		e = resp_event(c, "response.content_part.added");
		resp_add(e, "item_id", resp_str(id));
		resp_num(e, "output_index", c->message);
		resp_num(e, "content_index", 0);
		resp_add(e, "part", resp_part(""));
		resp_send(out, e);
	}
	dialect_buf_str(&c->text, text);
	e = resp_event(c, "response.output_text.delta");
	resp_add(e, "item_id", resp_str(id));
	resp_num(e, "output_index", c->message);
	resp_num(e, "content_index", 0);
	resp_add(e, "delta", resp_str(text));
	resp_add(e, "logprobs", resp_check(cJSON_CreateArray()));
	resp_send(out, e);
}

/* One of a chunk's tool_calls; -1 when the answer holds too many. */
static int
resp_call_delta(struct dialect_call *c, const cJSON *tc, size_t pos,
    struct dialect_buf *out)
{
	const cJSON		*v, *fn, *name, *args;
	struct resp_call	*k = NULL;
	cJSON			*e, *item;
	char			 id[96];
	size_t			 i;
	int			 index;

	v = resp_get(tc, "index");
	index = cJSON_IsNumber(v) && v->valuedouble >= 0 &&
	    v->valuedouble < 1e6 ? (int)v->valuedouble : (int)pos;
	fn = resp_get(tc, "function");
	name = resp_get(fn, "name");
	args = resp_get(fn, "arguments");
	for (i = 0; i < c->ncalls; i++)
		if (c->calls[i].index == index)
			k = &c->calls[i];
	if (k == NULL) {
		if (c->ncalls == RESP_CALLS_MAX)
			return -1;
		k = &c->calls[c->ncalls++];
		k->index = index;
		k->output = c->outputs++;
		/* SDKs refuse a call_id twice: a backend's repeat is ours. */
		v = resp_get(tc, "id");
		for (i = 0; cJSON_IsString(v) && i + 1 < c->ncalls; i++)
			if (strcmp(c->calls[i].call_id, v->valuestring) == 0)
				v = NULL;
		if (cJSON_IsString(v) && *v->valuestring != '\0')
			k->call_id = xstrdup(v->valuestring);
		else
			xasprintf(&k->call_id, "call_%s_%zu", c->id,
			    c->ncalls - 1);
		k->name = xstrdup(cJSON_IsString(name) ? name->valuestring :
		    "");
		item = resp_item_call(c, c->ncalls - 1, "in_progress",
		    k->call_id, k->name, "");
		e = resp_event(c, "response.output_item.added");
		resp_num(e, "output_index", k->output);
		resp_add(e, "item", item);
		resp_send(out, e);
	}
	if (!cJSON_IsString(args) || *args->valuestring == '\0')
		return 0;
	if ((c->held += strlen(args->valuestring)) > RESP_HELD_MAX)
		return -1;
	dialect_buf_str(&k->args, args->valuestring);
	snprintf(id, sizeof(id), "fc_%s_%zu", c->id, (size_t)(k - c->calls));
	e = resp_event(c, "response.function_call_arguments.delta");
	resp_add(e, "item_id", resp_str(id));
	resp_num(e, "output_index", k->output);
	resp_add(e, "delta", resp_str(args->valuestring));
	resp_send(out, e);
	return 0;
}

/* The error event and response.failed; nothing follows them. */
static void
resp_fail_stream(struct dialect_call *c, const char *type, const char *code,
    const char *message, struct dialect_buf *out)
{
	cJSON	*e, *err;

	if (c->over)
		return;
	resp_start(c, out);
	c->over = 1;
	e = resp_event(c, "error");
	resp_add(e, "code", resp_str(code));
	resp_add(e, "message", resp_str(message));
	resp_add(e, "param", resp_str(NULL));
	err = resp_check(cJSON_CreateObject());
	resp_add(e, "error", err);
	resp_add(err, "type", resp_str(type));
	resp_add(err, "code", resp_str(code));
	resp_add(err, "message", resp_str(message));
	resp_add(err, "param", resp_str(NULL));
	resp_send(out, e);
	e = resp_event(c, "response.failed");
	resp_add(e, "response", resp_response(c, "failed", NULL,
	    resp_check(cJSON_CreateArray()), NULL, code, message));
	resp_send(out, e);
}

/*
 * A chunk as Responses events: items opened as their first delta comes,
 * deltas passed on, usage and finish_reason kept for the end; an error
 * chunk ends the stream as failed.
 */
static int
dialect_responses_event(struct dialect_call *c, const char *data,
    size_t len, struct dialect_buf *out)
{
	const cJSON	*choices, *c0, *delta, *v, *tc, *err;
	cJSON		*doc;
	size_t		 pos = 0;
	int		 rc = 0;

	if (len == 6 && memcmp(data, "[DONE]", 6) == 0)
		return 0;
	if (c->over)
		return 0;
	if ((doc = resp_parse(data, len, NULL, 0)) == NULL)
		return -1;
	resp_start(c, out);
	if (cJSON_IsObject(err = resp_get(doc, "error"))) {
		v = resp_get(err, "message");
		resp_fail_stream(c, cJSON_IsString(resp_get(err, "type")) ?
		    resp_get(err, "type")->valuestring : "api_error",
		    cJSON_IsString(resp_get(err, "code")) ?
		    resp_get(err, "code")->valuestring : "upstream_error",
		    cJSON_IsString(v) ? v->valuestring :
		    "the model's backend failed", out);
		cJSON_Delete(doc);
		return 0;
	}
	if (cJSON_IsObject(v = resp_get(doc, "usage"))) {
		cJSON_Delete(c->usage);
		c->usage = resp_dup(v);
	}
	choices = resp_get(doc, "choices");
	c0 = cJSON_IsArray(choices) ? cJSON_GetArrayItem(choices, 0) : NULL;
	delta = resp_get(c0, "delta");
	v = resp_get(delta, "content");
	if (cJSON_IsString(v) && *v->valuestring != '\0') {
		if ((c->held += strlen(v->valuestring)) > RESP_HELD_MAX)
			rc = -1;
		else
			resp_text_delta(c, v->valuestring, out);
	}
	if (!cJSON_IsArray(v = resp_get(delta, "tool_calls")))
		v = NULL;
	cJSON_ArrayForEach(tc, v) {
		if (rc == 0 && cJSON_IsObject(tc))
			rc = resp_call_delta(c, tc, pos, out);
		pos++;
	}
	v = resp_get(c0, "finish_reason");
	if (cJSON_IsString(v)) {
		free(c->finish);
		c->finish = xstrdup(v->valuestring);
	}
	cJSON_Delete(doc);
	return rc;
}

/* Close each item in output order, then the whole Response with usage. */
static void
dialect_responses_end(struct dialect_call *c, struct dialect_buf *out)
{
	const char		*reason, *status, *text;
	struct resp_call	*k;
	cJSON			*output, *e, *item;
	char			 id[96];
	int			 i;
	size_t			 j;

	if (c->over)
		return;
	resp_start(c, out);
	c->over = 1;
	reason = resp_incomplete(c->finish);
	status = reason != NULL ? "incomplete" : "completed";
	text = c->text.p != NULL ? c->text.p : "";
	output = resp_check(cJSON_CreateArray());
	for (i = 0; i < c->outputs; i++) {
		if (i == c->message) {
			snprintf(id, sizeof(id), "msg_%s", c->id);
			e = resp_event(c, "response.output_text.done");
			resp_add(e, "item_id", resp_str(id));
			resp_num(e, "output_index", i);
			resp_num(e, "content_index", 0);
			resp_add(e, "text", resp_str(text));
			resp_add(e, "logprobs", resp_check(cJSON_CreateArray()));
			resp_send(out, e);
			e = resp_event(c, "response.content_part.done");
			resp_add(e, "item_id", resp_str(id));
			resp_num(e, "output_index", i);
			resp_num(e, "content_index", 0);
			resp_add(e, "part", resp_part(text));
			resp_send(out, e);
			item = resp_item_message(c, status, text);
		} else {
			for (j = 0, k = NULL; j < c->ncalls; j++)
				if (c->calls[j].output == i)
					k = &c->calls[j];
			if (k == NULL)
				continue;
			snprintf(id, sizeof(id), "fc_%s_%zu", c->id,
			    (size_t)(k - c->calls));
			e = resp_event(c,
			    "response.function_call_arguments.done");
			resp_add(e, "item_id", resp_str(id));
			resp_num(e, "output_index", i);
			resp_add(e, "name", resp_str(k->name));
			resp_add(e, "arguments", resp_str(k->args.p != NULL ?
			    k->args.p : ""));
			resp_send(out, e);
			item = resp_item_call(c, (size_t)(k - c->calls),
			    "completed", k->call_id, k->name, k->args.p != NULL ?
			    k->args.p : "");
		}
		e = resp_event(c, "response.output_item.done");
		resp_num(e, "output_index", i);
		resp_add(e, "item", resp_dup(item));
		resp_send(out, e);
		resp_push(output, item);
	}
	resp_remember(c, output);
	e = resp_event(c, reason != NULL ? "response.incomplete" :
	    "response.completed");
	resp_add(e, "response", resp_response(c, status, reason, output,
	    resp_usage(c->usage), NULL, NULL));
	resp_send(out, e);
}

static void
dialect_responses_stream_error(struct dialect_call *c, enum api_error err,
    const char *message, struct dialect_buf *out)
{
	resp_fail_stream(c, api_error_type(err), api_error_code(err), message,
	    out);
}

static size_t
dialect_responses_error_body(char *buf, size_t len, enum api_error e,
    const char *param, const char *message)
{
	return api_error_body(buf, len, e, param, message);
}

static void
dialect_responses_close(struct dialect_call *c)
{
	size_t	i;

	if (c == NULL)
		return;
	for (i = 0; i < c->ncalls; i++) {
		free(c->calls[i].call_id);
		free(c->calls[i].name);
		dialect_buf_free(&c->calls[i].args);
	}
	dialect_buf_free(&c->text);
	free(c->finish);
	cJSON_Delete(c->usage);
	cJSON_Delete(c->echo);
	cJSON_Delete(c->history);
	free(c->previous);
	free(c);
}

const struct dialect_ops dialect_responses = {
	.name = "responses",
	.open = dialect_responses_open,
	.answer = dialect_responses_answer,
	.stream_type = "text/event-stream",
	.event = dialect_responses_event,
	.end = dialect_responses_end,
	.stream_error = dialect_responses_stream_error,
	.error_body = dialect_responses_error_body,
	.close = dialect_responses_close,
};
