/*
 * Ollama's inference routes (/api/chat, /api/generate, /api/embed, the
 * older /api/embeddings) for models behind OpenAI-compatible providers:
 * the request as a chat completions or embeddings request, the answer,
 * stream and errors back in Ollama's shapes. Runs on the worker loops.
 *
 * Durations in answers are measured here, monotonic, in nanoseconds:
 * total_duration from open to the answer (or the done line), load_duration
 * 0 (nothing loads). A stream's prompt_eval_duration runs to its first
 * piece and eval_duration from there to the end; a whole answer cannot be
 * split, so its prompt_eval_duration is 0 and eval_duration the total.
 */
#include <math.h>
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

#define OD_MAX_DEPTH		64
/* JSON values in a request: bounds the parsed tree (cJSON's ~64 bytes a value). */
#define OD_MAX_VALUES		200000
#define OD_MAX_TOOL_CALLS	128
/* A stream's tool calls are held until whole: this much at most. */
#define OD_MAX_TOOL_BYTES	(4 * 1024 * 1024)

struct od_tool {
	char			*id;		/* NULL: the backend gave none */
	char			*name;
	struct dialect_buf	 args;
};

struct dialect_call {
	enum route_kind		 route;		/* the client's */
	char			*model;		/* the client's model string */
	int64_t			 start_ns;	/* monotonic, at open */
	int64_t			 first_ns;	/* a stream's first piece; 0: none */
	const char		*done_reason;
	int64_t			 prompt_tokens;
	int64_t			 completion_tokens;
	struct od_tool		 tools[OD_MAX_TOOL_CALLS];
	size_t			 ntools;
	size_t			 tool_bytes;
	int			 tools_sent;
	int			 no_thinking;	/* the client said "think": false */
};

/* Where open() puts its refusal. */
struct od_err {
	char		*buf;
	size_t		 len;
	const char	**param;
};

static int
od_fail(struct od_err *e, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
od_fail(struct od_err *e, const char *param, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(e->buf, e->len, fmt, ap);
	va_end(ap);
	*e->param = param;
	return -1;
}

static int64_t
od_mono_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* cJSON builders fail only out of memory. */
static cJSON *
od_check(cJSON *o)
{
	if (o == NULL)
		fatalx("%s: out of memory", __func__);
	return o;
}

static void
od_add(cJSON *o, const char *name, cJSON *v)
{
	cJSON_AddItemToObject(o, name, od_check(v));
}

static cJSON *
od_get(const cJSON *o, const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(o, name);
}

/* Absent and null are the same to Ollama. */
static int
od_absent(const cJSON *v)
{
	return v == NULL || cJSON_IsNull(v);
}

/*
 * The pass before cJSON: RFC 8259 with valid UTF-8, no duplicate keys, at
 * most OD_MAX_DEPTH deep and OD_MAX_VALUES values, and no NUL in a string
 * (cJSON would cut the string there), naming the top-level field at fault.
 */
struct od_scan {
	const char	*body;
	size_t		 values;
	char		 field[64];
	int		 nul;
};

static int
od_scan_step(void *arg, const struct jscan_token *t)
{
	struct od_scan	*sc = arg;

	if (t->step == JSCAN_CLOSE)
		return 0;
	if (++sc->values > OD_MAX_VALUES)
		return -1;
	if (t->step == JSCAN_KEY && t->depth == 1)
		jscan_string_cut(sc->body, &t->span, sc->field,
		    sizeof(sc->field));
	if ((t->step == JSCAN_KEY || (t->step == JSCAN_VALUE &&
	    t->span.type == JSCAN_STRING)) && t->escaped &&
	    jscan_span_has_nul(sc->body, &t->span)) {
		sc->nul = 1;
		return -1;
	}
	return 0;
}

static cJSON *
od_parse(const char *body, size_t len, struct od_err *e)
{
	struct od_scan		 sc;
	struct jscan_keys	 dups;
	char			 err[256];
	cJSON			*o;
	int			 rc;

	memset(&sc, 0, sizeof(sc));
	memset(&dups, 0, sizeof(dups));
	sc.body = body;
	rc = jscan_walk(body, len, OD_MAX_DEPTH, &dups, od_scan_step, &sc,
	    err, sizeof(err));
	jscan_keys_free(&dups);
	if (rc == -1 && sc.nul) {
		od_fail(e, NULL, "%s: a string holds a NUL character (\\u0000)",
		    sc.field);
		return NULL;
	}
	if (rc == -1 && sc.values > OD_MAX_VALUES) {
		od_fail(e, NULL, "the request holds more than %d JSON values",
		    OD_MAX_VALUES);
		return NULL;
	}
	if (rc == -1) {
		od_fail(e, NULL, "%s", err);
		return NULL;
	}
	if ((o = cJSON_ParseWithLength(body, len)) == NULL)
		fatalx("%s: out of memory", __func__);
	return o;
}

/* A string field, or absent / null (*out NULL). */
static int
od_string(const cJSON *o, const char *name, const char **out,
    struct od_err *e, const char *param)
{
	const cJSON	*v = od_get(o, name);

	*out = NULL;
	if (od_absent(v))
		return 0;
	if (!cJSON_IsString(v))
		return od_fail(e, param, "%s must be a string", name);
	*out = v->valuestring;
	return 0;
}

/* A picture as a data URL: Ollama takes base64, OpenAI a URL. */
static cJSON *
od_image_part(const char *b64)
{
	static const struct {
		const char	*magic;		/* base64 of the file's head */
		const char	*type;
	} types[] = {
		{ "iVBORw0KGgo", "image/png" },
		{ "/9j/", "image/jpeg" },
		{ "R0lGOD", "image/gif" },
		{ "UklGR", "image/webp" },
	};
	const char	*type = "image/jpeg";
	cJSON		*part, *url;
	char		*s;
	size_t		 i;

	part = od_check(cJSON_CreateObject());
	url = od_check(cJSON_CreateObject());
	if (strncmp(b64, "data:", 5) == 0)
		s = xstrdup(b64);
	else {
		for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (strncmp(b64, types[i].magic,
			    strlen(types[i].magic)) == 0)
				type = types[i].type;
		xasprintf(&s, "data:%s;base64,%s", type, b64);
	}
	od_add(part, "type", cJSON_CreateString("image_url"));
	od_add(url, "url", cJSON_CreateString(s));
	od_add(part, "image_url", url);
	free(s);
	return part;
}

/*
 * A user's text and images as OpenAI content: the string alone, or parts
 * (the text, then each image). where names the field in errors.
 */
static int
od_content(const char *text, const cJSON *images, const char *where,
    const char *param, cJSON **out, struct od_err *e)
{
	const cJSON	*img;
	cJSON		*parts, *part;
	size_t		 i = 0;

	if (od_absent(images) || (cJSON_IsArray(images) &&
	    cJSON_GetArraySize(images) == 0)) {
		*out = od_check(cJSON_CreateString(text));
		return 0;
	}
	if (!cJSON_IsArray(images))
		return od_fail(e, param, "%simages must be an array of base64"
		    " strings", where);
	parts = od_check(cJSON_CreateArray());
	if (*text != '\0') {
		part = od_check(cJSON_CreateObject());
		od_add(part, "type", cJSON_CreateString("text"));
		od_add(part, "text", cJSON_CreateString(text));
		cJSON_AddItemToArray(parts, part);
	}
	cJSON_ArrayForEach(img, images) {
		if (!cJSON_IsString(img) || *img->valuestring == '\0') {
			cJSON_Delete(parts);
			return od_fail(e, param, "%simages[%zu] must be a base64"
			    " string", where, i);
		}
		cJSON_AddItemToArray(parts, od_image_part(img->valuestring));
		i++;
	}
	*out = parts;
	return 0;
}

/* A tool call's arguments as OpenAI's JSON string: an object, or text. */
static int
od_arguments(const cJSON *args, char **out)
{
	char	*s;

	if (od_absent(args)) {
		*out = xstrdup("{}");
		return 0;
	}
	if (cJSON_IsString(args)) {
		*out = xstrdup(args->valuestring);
		return 0;
	}
	if (!cJSON_IsObject(args))
		return -1;
	if ((s = cJSON_PrintUnformatted(args)) == NULL)
		fatalx("%s: out of memory", __func__);
	*out = xstrdup(s);
	cJSON_free(s);
	return 0;
}

/*
 * The tool calls an assistant message made, each with an id (Ollama's
 * own, or made up: Ollama's older clients send none) that the tool
 * messages after it answer, in order or by tool_name.
 */
struct od_pending {
	const char	*id[OD_MAX_TOOL_CALLS];
	const char	*name[OD_MAX_TOOL_CALLS];
	int		 used[OD_MAX_TOOL_CALLS];
	size_t		 n;
};

static int
od_tool_calls(const cJSON *calls, size_t i, cJSON *msg,
    struct od_pending *p, struct od_err *e)
{
	const cJSON	*call, *fn, *name, *id;
	cJSON		*out, *o, *f;
	char		*args, gen[64];
	size_t		 j = 0;

	if (!cJSON_IsArray(calls))
		return od_fail(e, "messages", "messages[%zu].tool_calls must be"
		    " an array", i);
	if ((size_t)cJSON_GetArraySize(calls) > OD_MAX_TOOL_CALLS)
		return od_fail(e, "messages", "messages[%zu].tool_calls: at"
		    " most %d", i, OD_MAX_TOOL_CALLS);
	out = od_check(cJSON_CreateArray());
	cJSON_AddItemToObject(msg, "tool_calls", out);
	p->n = 0;
	cJSON_ArrayForEach(call, calls) {
		fn = od_get(call, "function");
		name = od_get(fn, "name");
		if (!cJSON_IsObject(call) || !cJSON_IsObject(fn) ||
		    !cJSON_IsString(name) || *name->valuestring == '\0')
			return od_fail(e, "messages", "messages[%zu]."
			    "tool_calls[%zu] must be {\"function\": {\"name\":"
			    " ..., \"arguments\": {...}}}", i, j);
		if (od_arguments(od_get(fn, "arguments"), &args) == -1)
			return od_fail(e, "messages", "messages[%zu]."
			    "tool_calls[%zu].function.arguments must be an"
			    " object", i, j);
		id = od_get(call, "id");
		snprintf(gen, sizeof(gen), "call_%zu_%zu", i, j);
		o = od_check(cJSON_CreateObject());
		od_add(o, "id", cJSON_CreateString(cJSON_IsString(id) &&
		    *id->valuestring != '\0' ? id->valuestring : gen));
		od_add(o, "type", cJSON_CreateString("function"));
		f = od_check(cJSON_CreateObject());
		od_add(f, "name", cJSON_CreateString(name->valuestring));
		od_add(f, "arguments", cJSON_CreateString(args));
		free(args);
		od_add(o, "function", f);
		cJSON_AddItemToArray(out, o);
		p->id[p->n] = od_get(o, "id")->valuestring;
		p->name[p->n] = name->valuestring;
		p->used[p->n++] = 0;
		j++;
	}
	return 0;
}

/* The id a tool message answers: its own, by tool_name, or the next. */
static const char *
od_tool_answer(const cJSON *m, struct od_pending *p, char *gen,
    size_t genlen, size_t i)
{
	const cJSON	*id = od_get(m, "tool_call_id");
	const cJSON	*name = od_get(m, "tool_name");
	size_t		 k;

	if (cJSON_IsString(id) && *id->valuestring != '\0') {
		for (k = 0; k < p->n; k++)
			if (strcmp(p->id[k], id->valuestring) == 0)
				p->used[k] = 1;
		return id->valuestring;
	}
	for (k = 0; k < p->n && cJSON_IsString(name); k++)
		if (!p->used[k] && strcmp(p->name[k], name->valuestring) == 0) {
			p->used[k] = 1;
			return p->id[k];
		}
	for (k = 0; k < p->n; k++)
		if (!p->used[k]) {
			p->used[k] = 1;
			return p->id[k];
		}
	snprintf(gen, genlen, "call_%zu", i);
	return gen;
}

static int
od_messages(const cJSON *msgs, cJSON *out, struct od_err *e)
{
	static const char *const roles[] = {
		"system", "user", "assistant", "tool",
	};
	struct od_pending	 pend;
	const cJSON		*m, *role, *calls;
	const char		*text, *r;
	cJSON			*o, *content;
	char			 where[48], gen[32];
	size_t			 i = 0, k;

	if (!cJSON_IsArray(msgs) || cJSON_GetArraySize(msgs) == 0)
		return od_fail(e, "messages", "messages must be a non-empty"
		    " array");
	memset(&pend, 0, sizeof(pend));
	cJSON_ArrayForEach(m, msgs) {
		if (!cJSON_IsObject(m))
			return od_fail(e, "messages", "messages[%zu] must be an"
			    " object", i);
		role = od_get(m, "role");
		for (k = 0, r = NULL; k < sizeof(roles) / sizeof(roles[0]);
		    k++)
			if (cJSON_IsString(role) &&
			    strcmp(role->valuestring, roles[k]) == 0)
				r = roles[k];
		if (r == NULL)
			return od_fail(e, "messages", "messages[%zu].role must be"
			    " system, user, assistant or tool", i);
		snprintf(where, sizeof(where), "messages[%zu].", i);
		if (od_string(m, "content", &text, e, "messages") == -1)
			return od_fail(e, "messages", "messages[%zu].content"
			    " must be a string", i);
		if (text == NULL)
			text = "";
		o = od_check(cJSON_CreateObject());
		cJSON_AddItemToArray(out, o);
		od_add(o, "role", cJSON_CreateString(r));
		if (strcmp(r, "user") == 0) {
			if (od_content(text, od_get(m, "images"), where,
			    "messages", &content, e) == -1)
				return -1;
			cJSON_AddItemToObject(o, "content", content);
		} else if (!od_absent(od_get(m, "images")) &&
		    cJSON_GetArraySize(od_get(m, "images")) > 0)
			return od_fail(e, "messages", "messages[%zu].images:"
			    " only a user message can carry images", i);
		else
			od_add(o, "content", cJSON_CreateString(text));
		calls = od_get(m, "tool_calls");
		if (strcmp(r, "assistant") == 0 && !od_absent(calls) &&
		    !(cJSON_IsArray(calls) && cJSON_GetArraySize(calls) == 0) &&
		    od_tool_calls(calls, i, o, &pend, e) == -1)
			return -1;
		if (strcmp(r, "tool") == 0)
			od_add(o, "tool_call_id", cJSON_CreateString(
			    od_tool_answer(m, &pend, gen, sizeof(gen), i)));
		i++;
	}
	return 0;
}

static int
od_tools(const cJSON *tools, cJSON *req, struct od_err *e)
{
	const cJSON	*t, *fn, *name;
	size_t		 i = 0;

	if (od_absent(tools))
		return 0;
	if (!cJSON_IsArray(tools))
		return od_fail(e, "tools", "tools must be an array");
	if (cJSON_GetArraySize(tools) == 0)
		return 0;
	cJSON_ArrayForEach(t, tools) {
		fn = od_get(t, "function");
		name = od_get(fn, "name");
		if (!cJSON_IsObject(t) || !cJSON_IsObject(fn) ||
		    !cJSON_IsString(name) || *name->valuestring == '\0')
			return od_fail(e, "tools", "tools[%zu] must be"
			    " {\"type\": \"function\", \"function\": {\"name\":"
			    " ...}}", i);
		i++;
	}
	od_add(req, "tools", cJSON_Duplicate(tools, 1));
	return 0;
}

/* format: "json" or a JSON schema, as OpenAI's response_format. */
static int
od_format(const cJSON *f, cJSON *req, struct od_err *e)
{
	cJSON	*rf, *js;

	if (od_absent(f) || (cJSON_IsString(f) && *f->valuestring == '\0'))
		return 0;
	rf = od_check(cJSON_CreateObject());
	if (cJSON_IsString(f) && strcmp(f->valuestring, "json") == 0)
		od_add(rf, "type", cJSON_CreateString("json_object"));
	else if (cJSON_IsObject(f)) {
		od_add(rf, "type", cJSON_CreateString("json_schema"));
		js = od_check(cJSON_CreateObject());
		od_add(js, "name", cJSON_CreateString("response"));
		od_add(js, "schema", cJSON_Duplicate(f, 1));
		od_add(rf, "json_schema", js);
	} else {
		cJSON_Delete(rf);
		return od_fail(e, "format", "format must be \"json\" or a JSON"
		    " schema object");
	}
	od_add(req, "response_format", rf);
	return 0;
}

/* Ollama's options that OpenAI's API knows; the rest are dropped. */
enum od_opt_kind {
	OD_OPT_NUMBER,
	OD_OPT_INTEGER,
	OD_OPT_PREDICT,		/* num_predict: <= 0 is "no limit" */
	OD_OPT_STOP,		/* a string or a list of them */
};
static const struct od_option {
	const char		*name;
	const char		*openai;
	enum od_opt_kind	 kind;
} od_options[] = {
	{ "temperature",	"temperature",		OD_OPT_NUMBER },
	{ "top_p",		"top_p",		OD_OPT_NUMBER },
	{ "presence_penalty",	"presence_penalty",	OD_OPT_NUMBER },
	{ "frequency_penalty",	"frequency_penalty",	OD_OPT_NUMBER },
	{ "seed",		"seed",			OD_OPT_INTEGER },
	{ "num_predict",	"max_tokens",		OD_OPT_PREDICT },
	{ "stop",		"stop",			OD_OPT_STOP },
};

/* An integer a double holds exactly (|v| < 2^53). */
static int
od_integral(double v)
{
	return v > -9007199254740992.0 && v < 9007199254740992.0 &&
	    (double)(int64_t)v == v;
}

static int
od_option(const struct od_option *op, const cJSON *v, cJSON *req,
    struct od_err *e)
{
	const cJSON	*s;
	size_t		 n = 0;

	switch (op->kind) {
	case OD_OPT_NUMBER:
		if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
			return od_fail(e, "options", "options.%s must be a"
			    " number", op->name);
		break;
	case OD_OPT_INTEGER:
	case OD_OPT_PREDICT:
		if (!cJSON_IsNumber(v) || !od_integral(v->valuedouble))
			return od_fail(e, "options", "options.%s must be an"
			    " integer", op->name);
		if (op->kind == OD_OPT_PREDICT && v->valuedouble <= 0)
			return 0;
		if (op->kind == OD_OPT_PREDICT &&
		    v->valuedouble > REQUEST_MAX_TOKENS)
			return od_fail(e, "options", "options.%s must be at most"
			    " %d", op->name, REQUEST_MAX_TOKENS);
		break;
	case OD_OPT_STOP:
		if (cJSON_IsString(v))
			break;
		if (!cJSON_IsArray(v))
			return od_fail(e, "options", "options.stop must be a"
			    " list of strings");
		cJSON_ArrayForEach(s, v) {
			if (!cJSON_IsString(s))
				return od_fail(e, "options", "options.stop[%zu]"
				    " must be a string", n);
			n++;
		}
		if (n == 0)
			return 0;
		break;
	}
	od_add(req, op->openai, cJSON_Duplicate(v, 1));
	return 0;
}

static int
od_options_add(const cJSON *opts, cJSON *req, struct od_err *e)
{
	const cJSON	*v;
	size_t		 i;

	if (od_absent(opts))
		return 0;
	if (!cJSON_IsObject(opts))
		return od_fail(e, "options", "options must be an object");
	for (i = 0; i < sizeof(od_options) / sizeof(od_options[0]); i++)
		if (!od_absent(v = od_get(opts, od_options[i].name)) &&
		    od_option(&od_options[i], v, req, e) == -1)
			return -1;
	return 0;
}

/* stream: Ollama's default is true. */
static int
od_stream(const cJSON *o, int *stream, struct od_err *e)
{
	const cJSON	*v = od_get(o, "stream");

	*stream = 1;
	if (od_absent(v))
		return 0;
	if (!cJSON_IsBool(v))
		return od_fail(e, "stream", "stream must be true or false");
	*stream = cJSON_IsTrue(v);
	return 0;
}

/* /api/chat as a chat completions request. */
static int
od_chat(const cJSON *in, cJSON *req, struct od_err *e)
{
	cJSON	*msgs = od_check(cJSON_CreateArray());

	cJSON_AddItemToObject(req, "messages", msgs);
	if (od_messages(od_get(in, "messages"), msgs, e) == -1 ||
	    od_tools(od_get(in, "tools"), req, e) == -1)
		return -1;
	return 0;
}

/* /api/generate: its system and prompt (with images) as two messages. */
static int
od_generate(const cJSON *in, cJSON *req, struct od_err *e)
{
	const char	*prompt, *system, *suffix;
	cJSON		*msgs, *m, *content;

	if (od_string(in, "prompt", &prompt, e, "prompt") == -1 ||
	    od_string(in, "system", &system, e, "system") == -1 ||
	    od_string(in, "suffix", &suffix, e, "suffix") == -1)
		return -1;
	if (prompt == NULL)
		return od_fail(e, "prompt", "prompt is required");
	if (suffix != NULL && *suffix != '\0')
		return od_fail(e, "suffix", "suffix (fill in the middle) is not"
		    " served for this model: its backend takes chat requests");
	msgs = od_check(cJSON_CreateArray());
	cJSON_AddItemToObject(req, "messages", msgs);
	if (system != NULL && *system != '\0') {
		m = od_check(cJSON_CreateObject());
		od_add(m, "role", cJSON_CreateString("system"));
		od_add(m, "content", cJSON_CreateString(system));
		cJSON_AddItemToArray(msgs, m);
	}
	if (od_content(prompt, od_get(in, "images"), "", "images", &content,
	    e) == -1)
		return -1;
	m = od_check(cJSON_CreateObject());
	od_add(m, "role", cJSON_CreateString("user"));
	cJSON_AddItemToObject(m, "content", content);
	cJSON_AddItemToArray(msgs, m);
	return 0;
}

/* /api/embed (input: a string or strings) as an embeddings request. */
static int
od_embed(const cJSON *in, cJSON *req, struct od_err *e)
{
	const cJSON	*input = od_get(in, "input"), *s, *dim;
	size_t		 i = 0;

	if (od_absent(input))
		return od_fail(e, "input", "input is required");
	if (cJSON_IsArray(input)) {
		if (cJSON_GetArraySize(input) == 0)
			return od_fail(e, "input", "input must not be empty");
		cJSON_ArrayForEach(s, input) {
			if (!cJSON_IsString(s))
				return od_fail(e, "input", "input[%zu] must be a"
				    " string", i);
			i++;
		}
	} else if (!cJSON_IsString(input))
		return od_fail(e, "input", "input must be a string or a list of"
		    " strings");
	od_add(req, "input", cJSON_Duplicate(input, 1));
	dim = od_get(in, "dimensions");
	if (!od_absent(dim)) {
		if (!cJSON_IsNumber(dim) || !od_integral(dim->valuedouble) ||
		    dim->valuedouble < 1)
			return od_fail(e, "dimensions", "dimensions must be a"
			    " positive integer");
		od_add(req, "dimensions", cJSON_CreateNumber(dim->valuedouble));
	}
	od_add(req, "encoding_format", cJSON_CreateString("float"));
	return 0;
}

/* The older /api/embeddings: one prompt. */
static int
od_embeddings(const cJSON *in, cJSON *req, struct od_err *e)
{
	const char	*prompt;

	if (od_string(in, "prompt", &prompt, e, "prompt") == -1)
		return -1;
	if (prompt == NULL)
		return od_fail(e, "prompt", "prompt is required");
	od_add(req, "input", cJSON_CreateString(prompt));
	od_add(req, "encoding_format", cJSON_CreateString("float"));
	return 0;
}

static struct dialect_call *
dialect_ollama_open(enum route_kind route, const char *body, size_t len,
    const char *id, time_t now, struct dialect_request *out, char *err,
    size_t errlen, const char **param)
{
	struct od_err		 e = { err, errlen, param };
	struct dialect_call	*c;
	const cJSON		*model;
	cJSON			*in, *req, *so;
	char			*s;
	int			 stream = 0, rc;

	(void)id;
	(void)now;
	*param = NULL;
	if (route != ROUTE_CHAT && route != ROUTE_COMPLETIONS &&
	    route != ROUTE_EMBEDDINGS && route != ROUTE_OLLAMA_EMBEDDINGS) {
		snprintf(err, errlen, "this route is not served by Ollama's"
		    " API");
		return NULL;
	}
	if ((in = od_parse(body, len, &e)) == NULL)
		return NULL;
	model = od_get(in, "model");
	if (!cJSON_IsString(model) || *model->valuestring == '\0') {
		od_fail(&e, "model", od_absent(model) ? "model is required" :
		    "model must be a non-empty string");
		cJSON_Delete(in);
		return NULL;
	}
	req = od_check(cJSON_CreateObject());
	od_add(req, "model", cJSON_CreateString(model->valuestring));
	switch (route) {
	case ROUTE_CHAT:
		rc = od_chat(in, req, &e);
		break;
	case ROUTE_COMPLETIONS:
		rc = od_generate(in, req, &e);
		break;
	case ROUTE_EMBEDDINGS:
		rc = od_embed(in, req, &e);
		break;
	default:
		rc = od_embeddings(in, req, &e);
		break;
	}
	if (rc == 0 && (route == ROUTE_CHAT || route == ROUTE_COMPLETIONS)) {
		if (od_format(od_get(in, "format"), req, &e) == -1 ||
		    od_options_add(od_get(in, "options"), req, &e) == -1 ||
		    od_stream(in, &stream, &e) == -1)
			rc = -1;
		else {
			od_add(req, "stream", cJSON_CreateBool(stream));
			if (stream) {
				so = od_check(cJSON_CreateObject());
				od_add(so, "include_usage", cJSON_CreateTrue());
				od_add(req, "stream_options", so);
			}
		}
	}
	if (rc == -1) {
		cJSON_Delete(in);
		cJSON_Delete(req);
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->route = route;
	c->model = xstrdup(model->valuestring);
	c->no_thinking = cJSON_IsFalse(od_get(in, "think"));
	c->start_ns = od_mono_ns();
	c->done_reason = "stop";
	cJSON_Delete(in);
	if ((s = cJSON_PrintUnformatted(req)) == NULL)
		fatalx("%s: out of memory", __func__);
	cJSON_Delete(req);
	memset(out, 0, sizeof(*out));
	out->len = strlen(s);
	out->body = xstrndup(s, out->len);
	cJSON_free(s);
	out->stream = stream;
	if (route == ROUTE_CHAT || route == ROUTE_COMPLETIONS) {
		out->route = ROUTE_CHAT;
		out->trace_route = route == ROUTE_CHAT ? "ollama_chat" :
		    "ollama_generate";
	} else {
		out->route = ROUTE_EMBEDDINGS;
		out->trace_route = "ollama_embed";
	}
	return c;
}

/* The head every answer and line starts with: model, created_at. */
static cJSON *
od_head(const struct dialect_call *c)
{
	struct timespec	 ts;
	char		 when[OLLAMA_TIME_LEN];
	cJSON		*o = od_check(cJSON_CreateObject());

	clock_gettime(CLOCK_REALTIME, &ts);
	ollama_time(when, ts.tv_sec, ts.tv_nsec);
	od_add(o, "model", cJSON_CreateString(c->model));
	od_add(o, "created_at", cJSON_CreateString(when));
	return o;
}

/* OpenAI's finish_reason as Ollama's done_reason. */
static const char *
od_done_reason(const cJSON *finish)
{
	if (cJSON_IsString(finish) && strcmp(finish->valuestring, "length") == 0)
		return "length";
	return "stop";
}

static void
od_usage(struct dialect_call *c, const cJSON *usage)
{
	const cJSON	*p = od_get(usage, "prompt_tokens");
	const cJSON	*n = od_get(usage, "completion_tokens");

	if (cJSON_IsNumber(p) && od_integral(p->valuedouble) &&
	    p->valuedouble >= 0)
		c->prompt_tokens = (int64_t)p->valuedouble;
	if (cJSON_IsNumber(n) && od_integral(n->valuedouble) &&
	    n->valuedouble >= 0)
		c->completion_tokens = (int64_t)n->valuedouble;
}

/* The closing fields: done, done_reason (chat's order), counts, times. */
static void
od_tail(const struct dialect_call *c, cJSON *o, int64_t prompt_ns,
    int64_t eval_ns, int64_t total_ns)
{
	if (c->route == ROUTE_COMPLETIONS) {
		od_add(o, "done", cJSON_CreateTrue());
		od_add(o, "done_reason", cJSON_CreateString(c->done_reason));
	} else {
		od_add(o, "done_reason", cJSON_CreateString(c->done_reason));
		od_add(o, "done", cJSON_CreateTrue());
	}
	od_add(o, "total_duration", cJSON_CreateNumber((double)total_ns));
	od_add(o, "load_duration", cJSON_CreateNumber(0));
	od_add(o, "prompt_eval_count",
	    cJSON_CreateNumber((double)c->prompt_tokens));
	od_add(o, "prompt_eval_duration", cJSON_CreateNumber((double)prompt_ns));
	od_add(o, "eval_count", cJSON_CreateNumber((double)c->completion_tokens));
	od_add(o, "eval_duration", cJSON_CreateNumber((double)eval_ns));
}

/* A tool call's arguments back as Ollama's object ({} for none). */
static cJSON *
od_arguments_object(const char *s)
{
	cJSON	*o;

	if (s[strspn(s, " \t\r\n")] == '\0')
		return od_check(cJSON_CreateObject());
	if ((o = cJSON_Parse(s)) != NULL && cJSON_IsObject(o))
		return o;
	cJSON_Delete(o);
	/* Not an object: the model's text as it is, rather than lost. */
	return od_check(cJSON_CreateString(s));
}

static cJSON *
od_tool_call(const char *id, const char *name, size_t index,
    const char *args)
{
	cJSON	*o = od_check(cJSON_CreateObject());
	cJSON	*f = od_check(cJSON_CreateObject());

	if (id != NULL)
		od_add(o, "id", cJSON_CreateString(id));
	od_add(f, "index", cJSON_CreateNumber((double)index));
	od_add(f, "name", cJSON_CreateString(name != NULL ? name : ""));
	od_add(f, "arguments", od_arguments_object(args));
	od_add(o, "function", f);
	return o;
}

/* The first choice (index 0) of an answer or chunk, or NULL. */
static const cJSON *
od_choice(const cJSON *o)
{
	const cJSON	*ch, *idx;

	cJSON_ArrayForEach(ch, od_get(o, "choices")) {
		idx = od_get(ch, "index");
		if (cJSON_IsObject(ch) && (idx == NULL ||
		    (cJSON_IsNumber(idx) && idx->valuedouble == 0)))
			return ch;
	}
	return NULL;
}

static char *
od_print(cJSON *o, size_t *outlen)
{
	char	*s, *body;

	if ((s = cJSON_PrintUnformatted(o)) == NULL)
		fatalx("%s: out of memory", __func__);
	cJSON_Delete(o);
	*outlen = strlen(s);
	body = xstrndup(s, *outlen);
	cJSON_free(s);
	return body;
}

/* The backend's reasoning as Ollama's thinking, unless the client said no. */
static const char *
od_thinking(const struct dialect_call *c, const cJSON *o)
{
	return c->no_thinking ? NULL : dialect_reasoning(o);
}

/* A chat completion as Ollama's chat or generate answer. */
static char *
od_answer_chat(struct dialect_call *c, const char *json, size_t len,
    size_t *outlen)
{
	const cJSON	*ch, *msg, *content, *calls, *call, *fn, *args, *name;
	const char	*thinking;
	cJSON		*in, *o, *m, *tc = NULL;
	int64_t		 total = od_mono_ns() - c->start_ns;
	size_t		 i = 0;

	if ((in = cJSON_ParseWithLength(json, len)) == NULL)
		return NULL;
	ch = od_choice(in);
	msg = od_get(ch, "message");
	content = od_get(msg, "content");
	if (!cJSON_IsObject(msg) || (!od_absent(content) &&
	    !cJSON_IsString(content))) {
		cJSON_Delete(in);
		return NULL;
	}
	calls = od_get(msg, "tool_calls");
	if (c->route == ROUTE_CHAT && cJSON_IsArray(calls) &&
	    cJSON_GetArraySize(calls) > 0) {
		tc = od_check(cJSON_CreateArray());
		cJSON_ArrayForEach(call, calls) {
			fn = od_get(call, "function");
			name = od_get(fn, "name");
			args = od_get(fn, "arguments");
			if (!cJSON_IsString(name) || (!od_absent(args) &&
			    !cJSON_IsString(args))) {
				cJSON_Delete(tc);
				cJSON_Delete(in);
				return NULL;
			}
			cJSON_AddItemToArray(tc, od_tool_call(
			    cJSON_IsString(od_get(call, "id")) ?
			    od_get(call, "id")->valuestring : NULL,
			    name->valuestring, i++,
			    cJSON_IsString(args) ? args->valuestring : ""));
		}
	}
	c->done_reason = od_done_reason(od_get(ch, "finish_reason"));
	od_usage(c, od_get(in, "usage"));
	o = od_head(c);
	thinking = od_thinking(c, msg);
	if (c->route == ROUTE_COMPLETIONS) {
		od_add(o, "response", cJSON_CreateString(
		    cJSON_IsString(content) ? content->valuestring : ""));
		if (thinking != NULL)
			od_add(o, "thinking", cJSON_CreateString(thinking));
	} else {
		m = od_check(cJSON_CreateObject());
		od_add(m, "role", cJSON_CreateString("assistant"));
		od_add(m, "content", cJSON_CreateString(
		    cJSON_IsString(content) ? content->valuestring : ""));
		if (thinking != NULL)
			od_add(m, "thinking", cJSON_CreateString(thinking));
		if (tc != NULL)
			cJSON_AddItemToObject(m, "tool_calls", tc);
		od_add(o, "message", m);
	}
	cJSON_Delete(in);
	od_tail(c, o, 0, total, total);
	return od_print(o, outlen);
}

/*
 * An embeddings answer as /api/embed's (every vector, in input order) or
 * /api/embeddings's (the one). The vectors are copied as the backend
 * wrote them: a big batch never becomes a tree of numbers.
 */
static char *
od_answer_embed(struct dialect_call *c, const char *json, size_t len,
    size_t *outlen)
{
	struct jscan_span	 data, usage, item, emb, idx, num, pt;
	struct jscan_want	 want[] = {
		{ "data", &data },
		{ "usage", &usage },
	};
	struct jscan_span	*vec = NULL;
	struct dialect_buf	 b;
	size_t			 n = 0, cur = 0, c2, i;
	int64_t			 k, total = od_mono_ns() - c->start_ns;
	char			*q, tail[160];

	memset(&b, 0, sizeof(b));
	if (jscan_object(json, len, OD_MAX_DEPTH, want, 2, NULL, 0) == -1 ||
	    !data.present || data.type != JSCAN_ARRAY)
		return NULL;
	while (jscan_array_next(json, &data, &cur, &item))
		n++;
	if (n == 0)
		return NULL;
	vec = xcalloc(n, sizeof(*vec));
	cur = 0;
	while (jscan_array_next(json, &data, &cur, &item)) {
		if (!jscan_object_get(json, &item, "embedding", &emb) ||
		    emb.type != JSCAN_ARRAY ||
		    !jscan_object_get(json, &item, "index", &idx) ||
		    jscan_int64(json, &idx, &k) == -1 || k < 0 ||
		    (uint64_t)k >= n || vec[k].present)
			goto bad;
		for (c2 = 0; jscan_array_next(json, &emb, &c2, &num);)
			if (num.type != JSCAN_NUMBER)
				goto bad;
		vec[k] = emb;
		vec[k].present = 1;
	}
	c->prompt_tokens = 0;
	if (usage.present && jscan_object_get(json, &usage, "prompt_tokens",
	    &pt) && jscan_int64(json, &pt, &k) == 0 && k >= 0)
		c->prompt_tokens = k;
	if (c->route == ROUTE_OLLAMA_EMBEDDINGS) {
		dialect_buf_str(&b, "{\"embedding\":");
		dialect_buf_add(&b, json + vec[0].start,
		    vec[0].end - vec[0].start);
		dialect_buf_str(&b, "}");
	} else {
		q = xmalloc(6 * strlen(c->model) + 3);
		jscan_quote(q, 6 * strlen(c->model) + 3, c->model,
		    strlen(c->model));
		dialect_buf_str(&b, "{\"model\":");
		dialect_buf_str(&b, q);
		free(q);
		dialect_buf_str(&b, ",\"embeddings\":[");
		for (i = 0; i < n; i++) {
			if (i > 0)
				dialect_buf_str(&b, ",");
			dialect_buf_add(&b, json + vec[i].start,
			    vec[i].end - vec[i].start);
		}
		snprintf(tail, sizeof(tail), "],\"total_duration\":%lld,"
		    "\"load_duration\":0,\"prompt_eval_count\":%lld}",
		    (long long)total, (long long)c->prompt_tokens);
		dialect_buf_str(&b, tail);
	}
	free(vec);
	*outlen = b.len;
	return b.p;
bad:
	free(vec);
	return NULL;
}

static char *
dialect_ollama_answer(struct dialect_call *c, const char *json, size_t len,
    size_t *outlen)
{
	if (c->route == ROUTE_CHAT || c->route == ROUTE_COMPLETIONS)
		return od_answer_chat(c, json, len, outlen);
	return od_answer_embed(c, json, len, outlen);
}

/*
 * One line of a stream: the head, the piece (with thinking, a piece of
 * thinking and no text), done false.
 */
static void
od_line(struct dialect_call *c, const char *piece, const char *thinking,
    cJSON *calls, struct dialect_buf *out)
{
	cJSON	*o = od_head(c), *m;

	if (c->route == ROUTE_COMPLETIONS) {
		od_add(o, "response", cJSON_CreateString(piece));
		if (thinking != NULL)
			od_add(o, "thinking", cJSON_CreateString(thinking));
	} else {
		m = od_check(cJSON_CreateObject());
		od_add(m, "role", cJSON_CreateString("assistant"));
		od_add(m, "content", cJSON_CreateString(piece));
		if (thinking != NULL)
			od_add(m, "thinking", cJSON_CreateString(thinking));
		if (calls != NULL)
			cJSON_AddItemToObject(m, "tool_calls", calls);
		od_add(o, "message", m);
	}
	od_add(o, "done", cJSON_CreateFalse());
	dialect_buf_line(out, o);
	cJSON_Delete(o);
}

/* The gathered tool calls, whole, in one line (Ollama sends no deltas). */
static void
od_tools_flush(struct dialect_call *c, struct dialect_buf *out)
{
	cJSON	*calls;
	size_t	 i;

	if (c->tools_sent || c->ntools == 0)
		return;
	calls = od_check(cJSON_CreateArray());
	for (i = 0; i < c->ntools; i++)
		cJSON_AddItemToArray(calls, od_tool_call(c->tools[i].id,
		    c->tools[i].name, i, c->tools[i].args.p != NULL ?
		    c->tools[i].args.p : ""));
	c->tools_sent = 1;
	od_line(c, "", NULL, calls, out);
}

/* Add a chunk's tool call deltas to what is gathered; -1 past the bounds. */
static int
od_tools_gather(struct dialect_call *c, const cJSON *calls)
{
	const cJSON	*d, *idx, *id, *fn, *name, *args;
	struct od_tool	*t;
	size_t		 k, pos = 0, more;

	cJSON_ArrayForEach(d, calls) {
		idx = od_get(d, "index");
		k = pos++;
		if (cJSON_IsNumber(idx)) {
			if (!od_integral(idx->valuedouble) ||
			    idx->valuedouble < 0 ||
			    idx->valuedouble >= OD_MAX_TOOL_CALLS)
				return -1;
			k = (size_t)idx->valuedouble;
		}
		if (k >= OD_MAX_TOOL_CALLS || k > c->ntools)
			return -1;
		if (k == c->ntools)
			c->ntools++;
		t = &c->tools[k];
		id = od_get(d, "id");
		fn = od_get(d, "function");
		name = od_get(fn, "name");
		args = od_get(fn, "arguments");
		more = (cJSON_IsString(id) ? strlen(id->valuestring) : 0) +
		    (cJSON_IsString(name) ? strlen(name->valuestring) : 0) +
		    (cJSON_IsString(args) ? strlen(args->valuestring) : 0);
		if ((c->tool_bytes += more) > OD_MAX_TOOL_BYTES)
			return -1;
		if (cJSON_IsString(id) && t->id == NULL)
			t->id = xstrdup(id->valuestring);
		if (cJSON_IsString(name) && t->name == NULL)
			t->name = xstrdup(name->valuestring);
		if (cJSON_IsString(args))
			dialect_buf_str(&t->args, args->valuestring);
	}
	return 0;
}

static int
dialect_ollama_event(struct dialect_call *c, const char *data, size_t len,
    struct dialect_buf *out)
{
	const cJSON	*ch, *delta, *content, *calls, *finish;
	const char	*thinking;
	cJSON		*in;

	if (len == 6 && memcmp(data, "[DONE]", 6) == 0)
		return 0;
	if (c->route != ROUTE_CHAT && c->route != ROUTE_COMPLETIONS)
		return -1;
	if ((in = cJSON_ParseWithLength(data, len)) == NULL ||
	    !cJSON_IsObject(in) || od_get(in, "error") != NULL) {
		cJSON_Delete(in);
		return -1;
	}
	if (cJSON_IsObject(od_get(in, "usage")))
		od_usage(c, od_get(in, "usage"));
	if ((ch = od_choice(in)) == NULL) {
		cJSON_Delete(in);
		return 0;
	}
	delta = od_get(ch, "delta");
	content = od_get(delta, "content");
	calls = od_get(delta, "tool_calls");
	finish = od_get(ch, "finish_reason");
	/* Ollama thinks first: its thinking before the text of the event. */
	if ((thinking = od_thinking(c, delta)) != NULL) {
		if (c->first_ns == 0)
			c->first_ns = od_mono_ns();
		od_line(c, "", thinking, NULL, out);
	}
	if (cJSON_IsString(content) && *content->valuestring != '\0') {
		if (c->first_ns == 0)
			c->first_ns = od_mono_ns();
		od_line(c, content->valuestring, NULL, NULL, out);
	}
	if (c->route == ROUTE_CHAT && cJSON_IsArray(calls)) {
		if (c->first_ns == 0)
			c->first_ns = od_mono_ns();
		if (c->tools_sent || od_tools_gather(c, calls) == -1) {
			cJSON_Delete(in);
			return -1;
		}
	}
	if (cJSON_IsString(finish)) {
		c->done_reason = od_done_reason(finish);
		od_tools_flush(c, out);
	}
	cJSON_Delete(in);
	return 0;
}

static void
dialect_ollama_end(struct dialect_call *c, struct dialect_buf *out)
{
	int64_t	 now = od_mono_ns(), first;
	cJSON	*o, *m;

	od_tools_flush(c, out);
	first = c->first_ns != 0 ? c->first_ns : now;
	o = od_head(c);
	if (c->route == ROUTE_COMPLETIONS)
		od_add(o, "response", cJSON_CreateString(""));
	else {
		m = od_check(cJSON_CreateObject());
		od_add(m, "role", cJSON_CreateString("assistant"));
		od_add(m, "content", cJSON_CreateString(""));
		od_add(o, "message", m);
	}
	od_tail(c, o, first - c->start_ns, now - first, now - c->start_ns);
	dialect_buf_line(out, o);
	cJSON_Delete(o);
}

static void
dialect_ollama_stream_error(struct dialect_call *c, enum api_error e,
    const char *message, struct dialect_buf *out)
{
	cJSON	*o = od_check(cJSON_CreateObject());

	(void)c;
	(void)e;
	od_add(o, "error", cJSON_CreateString(message));
	dialect_buf_line(out, o);
	cJSON_Delete(o);
}

static size_t
dialect_ollama_error_body(char *buf, size_t len, enum api_error e,
    const char *param, const char *message)
{
	(void)e;
	(void)param;
	return ollama_error_body(buf, len, message);
}

static void
dialect_ollama_close(struct dialect_call *c)
{
	size_t	i;

	if (c == NULL)
		return;
	for (i = 0; i < c->ntools; i++) {
		free(c->tools[i].id);
		free(c->tools[i].name);
		dialect_buf_free(&c->tools[i].args);
	}
	free(c->model);
	free(c);
}

const struct dialect_ops dialect_ollama = {
	.name = "ollama",
	.open = dialect_ollama_open,
	.answer = dialect_ollama_answer,
	.stream_type = "application/x-ndjson",
	.event = dialect_ollama_event,
	.end = dialect_ollama_end,
	.stream_error = dialect_ollama_stream_error,
	.error_body = dialect_ollama_error_body,
	.close = dialect_ollama_close,
};
