/* The OpenAI and Ollama wire formats: reading requests, shaping replies. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "fake-llm.h"
#include "xmalloc.h"

#define WIRE_MODELS_CREATED	1700000000
#define WIRE_FINGERPRINT	"fp_fakellm"
#define WIRE_DIMENSIONS		8
#define WIRE_MAX_LEGACY_LOGPROBS 5	/* OpenAI's limit for completions */

/* Known error statuses: the type, code and message OpenAI answers with. */
static const struct wire_status {
	int		 status;
	const char	*reason;
	const char	*type;
	const char	*code;
	const char	*message;
} wire_statuses[] = {
	{ 400, "Bad Request", "invalid_request_error", NULL,
	    "Invalid request (fake-llm status=400)." },
	{ 401, "Unauthorized", "invalid_request_error", "invalid_api_key",
	    "Incorrect API key provided (fake-llm status=401)." },
	{ 403, "Forbidden", "invalid_request_error",
	    "unsupported_country_region_territory",
	    "Country, region, or territory not supported (fake-llm status=403)." },
	{ 404, "Not Found", "invalid_request_error", "model_not_found",
	    "The model does not exist or you do not have access to it "
	    "(fake-llm status=404)." },
	{ 408, "Request Timeout", "invalid_request_error", "timeout",
	    "Request timed out (fake-llm status=408)." },
	{ 409, "Conflict", "invalid_request_error", "conflict",
	    "Conflict (fake-llm status=409)." },
	{ 413, "Payload Too Large", "invalid_request_error", "request_too_large",
	    "Request too large (fake-llm status=413)." },
	{ 422, "Unprocessable Entity", "invalid_request_error", NULL,
	    "Unprocessable entity (fake-llm status=422)." },
	{ 429, "Too Many Requests", "requests", "rate_limit_exceeded",
	    "Rate limit reached for requests (fake-llm status=429)." },
	{ 500, "Internal Server Error", "server_error", NULL,
	    "The server had an error while processing your request "
	    "(fake-llm status=500)." },
	{ 502, "Bad Gateway", "server_error", NULL,
	    "Bad gateway (fake-llm status=502)." },
	{ 503, "Service Unavailable", "server_error", NULL,
	    "The engine is currently overloaded, please try again later "
	    "(fake-llm status=503)." },
	{ 504, "Gateway Timeout", "server_error", NULL,
	    "Gateway timeout (fake-llm status=504)." },
};

/* The models both listings show. */
static const char *wire_model_names[] = { "fake-chat", "fake-embed" };

/*
 * Add an integer member. cJSON prints every number with "%1.15g" and
 * reads it back to check; raw digits keep replies cheap for benchmarks.
 */
static void
wire_add_int(cJSON *o, const char *key, long long n)
{
	char	buf[32];

	snprintf(buf, sizeof(buf), "%lld", n);
	cJSON_AddRawToObject(o, key, buf);
}

/* Number of whitespace-separated words in s. */
int
wire_words(const char *s)
{
	int	n = 0, in = 0;

	for (; s != NULL && *s != '\0'; s++) {
		if (isspace((unsigned char)*s))
			in = 0;
		else if (!in) {
			in = 1;
			n++;
		}
	}
	return n;
}

/*
 * The text of a message content: a string, or the "text" of each part of
 * an array joined by single spaces. Caller frees; NULL if it has no text.
 */
static char *
wire_content_text(const cJSON *content)
{
	const cJSON	*part, *text;
	size_t		 len = 0, n;
	char		*s = NULL;

	if (cJSON_IsString(content))
		return xstrdup(content->valuestring);
	if (!cJSON_IsArray(content))
		return NULL;
	cJSON_ArrayForEach(part, content) {
		text = cJSON_GetObjectItemCaseSensitive(part, "text");
		if (!cJSON_IsString(text))
			continue;
		n = strlen(text->valuestring);
		s = xreallocarray(s, len + n + 2, 1);
		if (len > 0)
			s[len++] = ' ';
		memcpy(s + len, text->valuestring, n + 1);
		len += n;
	}
	return s;
}

/* Words of a prompt-like value: a string, strings or token arrays. */
static int
wire_prompt_words(const cJSON *v, char **last)
{
	const cJSON	*item;
	int		 n = 0;

	if (cJSON_IsString(v)) {
		if (last != NULL) {
			free(*last);
			*last = xstrdup(v->valuestring);
		}
		return wire_words(v->valuestring);
	}
	if (cJSON_IsNumber(v))
		return 1;
	if (cJSON_IsArray(v)) {
		cJSON_ArrayForEach(item, v)
			n += wire_prompt_words(item, last);
	}
	return n;
}

static const cJSON *
wire_get(const cJSON *o, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(o, key);
}

/* A string for the embedding of one input: itself, or its JSON text. */
static char *
wire_input_text(const cJSON *v)
{
	if (cJSON_IsString(v))
		return xstrdup(v->valuestring);
	return cJSON_PrintUnformatted(v);
}

/* An id like OpenAI's, stable for a given request. */
static void
wire_id(char *buf, size_t len, const char *prefix, const struct exchange *ex)
{
	snprintf(buf, len, "%s-fakellm%06llu", prefix,
	    (unsigned long long)ex->seq);
}

/* Ollama's created_at: RFC 3339 with nanoseconds, in UTC. */
static void
wire_time(char *buf, size_t len, time_t t)
{
	struct tm	tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%S.000000000Z", &tm);
}

/* 64-bit FNV-1a then splitmix64: a cheap deterministic hash. */
static uint64_t
wire_hash(const char *s, uint64_t salt)
{
	uint64_t	h = 0xcbf29ce484222325ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	h += salt * 0x9e3779b97f4a7c15ULL;
	h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
	h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
	return h ^ (h >> 31);
}

/* WIRE_DIMENSIONS numbers in [-1, 1], 6 decimals, derived from the text. */
static cJSON *
wire_embedding(const char *text)
{
	double		v[WIRE_DIMENSIONS];
	long long	micro;
	int		i;

	for (i = 0; i < WIRE_DIMENSIONS; i++) {
		micro = (long long)(wire_hash(text, i + 1) % 2000001) -
		    1000000;
		v[i] = (double)micro / 1e6;
	}
	return cJSON_CreateDoubleArray(v, WIRE_DIMENSIONS);
}

/* Every input of an embeddings request: one string, or an array of them. */
static cJSON *
wire_embeddings_of(const cJSON *input)
{
	cJSON		*all = cJSON_CreateArray();
	const cJSON	*item;
	char		*text;
	int		 tokens_only = 1;

	/* An array of numbers is one tokenized input, not many inputs. */
	if (cJSON_IsArray(input)) {
		cJSON_ArrayForEach(item, input) {
			if (!cJSON_IsNumber(item))
				tokens_only = 0;
		}
	}
	if (!cJSON_IsArray(input) || (tokens_only &&
	    cJSON_GetArraySize(input) > 0)) {
		text = wire_input_text(input);
		cJSON_AddItemToArray(all, wire_embedding(text));
		free(text);
		return all;
	}
	cJSON_ArrayForEach(item, input) {
		text = wire_input_text(item);
		cJSON_AddItemToArray(all, wire_embedding(text));
		free(text);
	}
	return all;
}

static int
wire_check_input(struct exchange *ex, char *err, size_t errlen)
{
	const cJSON	*input = wire_get(ex->body, "input"), *item;

	if (cJSON_IsString(input)) {
		ex->prompt_tokens = wire_words(input->valuestring);
		return 0;
	}
	if (!cJSON_IsArray(input)) {
		snprintf(err, errlen, "'input' is a required property and "
		    "must be a string or an array");
		return -1;
	}
	cJSON_ArrayForEach(item, input) {
		if (!cJSON_IsString(item) && !cJSON_IsNumber(item) &&
		    !cJSON_IsArray(item)) {
			snprintf(err, errlen, "Invalid type for 'input': "
			    "expected strings or token arrays");
			return -1;
		}
	}
	ex->prompt_tokens = wire_prompt_words(input, NULL);
	return 0;
}

/* --- OpenAI --------------------------------------------------------------- */

static cJSON *
wire_openai_usage(const struct exchange *ex, int details)
{
	cJSON	*u = cJSON_CreateObject(), *d;

	wire_add_int(u, "prompt_tokens", ex->prompt_tokens);
	wire_add_int(u, "completion_tokens", ex->completion_tokens);
	wire_add_int(u, "total_tokens",
	    (long long)ex->prompt_tokens + ex->completion_tokens);
	if (details) {
		d = cJSON_AddObjectToObject(u, "prompt_tokens_details");
		wire_add_int(d, "cached_tokens", ex->opts.cached);
		wire_add_int(d, "audio_tokens", 0);
		d = cJSON_AddObjectToObject(u, "completion_tokens_details");
		wire_add_int(d, "reasoning_tokens", 0);
		wire_add_int(d, "audio_tokens", 0);
	}
	return u;
}

/* The fields every OpenAI completion object and chunk start with. */
static cJSON *
wire_openai_head(const struct exchange *ex, const char *prefix,
    const char *object)
{
	cJSON	*o = cJSON_CreateObject();
	char	 id[64];

	wire_id(id, sizeof(id), prefix, ex);
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "object", object);
	wire_add_int(o, "created", (long long)ex->created);
	cJSON_AddStringToObject(o, "model", ex->model);
	return o;
}

/* n, logprobs and top_logprobs, checked as OpenAI checks them. */
static int
wire_openai_choices(struct exchange *ex, char *err, size_t errlen)
{
	const cJSON	*n = wire_get(ex->body, "n");
	const cJSON	*lp = wire_get(ex->body, "logprobs");
	const cJSON	*top = wire_get(ex->body, "top_logprobs");

	if (n != NULL && !cJSON_IsNull(n)) {
		/* The range first: casting a huge double to int is UB. */
		if (!cJSON_IsNumber(n) || n->valuedouble < 1 ||
		    n->valuedouble > FAKE_MAX_CHOICES ||
		    n->valuedouble != (double)(int)n->valuedouble) {
			snprintf(err, errlen, "Invalid value for 'n': expected "
			    "an integer from 1 to %d", FAKE_MAX_CHOICES);
			return -1;
		}
		ex->n = (int)n->valuedouble;
	}
	if (lp != NULL && !cJSON_IsNull(lp) && !cJSON_IsBool(lp)) {
		snprintf(err, errlen, "Invalid type for 'logprobs': expected a "
		    "boolean");
		return -1;
	}
	ex->logprobs = cJSON_IsTrue(lp);
	if (top == NULL || cJSON_IsNull(top))
		return 0;
	if (!cJSON_IsNumber(top) || top->valuedouble < 0 ||
	    top->valuedouble > FAKE_MAX_TOP_LOGPROBS ||
	    top->valuedouble != (double)(int)top->valuedouble) {
		snprintf(err, errlen, "Invalid value for 'top_logprobs': "
		    "expected an integer from 0 to %d", FAKE_MAX_TOP_LOGPROBS);
		return -1;
	}
	if (!ex->logprobs) {
		snprintf(err, errlen, "Invalid value for 'top_logprobs': "
		    "'logprobs' must be true when 'top_logprobs' is set");
		return -1;
	}
	ex->top_logprobs = (int)top->valuedouble;
	return 0;
}

/* Whether the request offers the function name in tools. */
static int
wire_offers_tool(const cJSON *body, const char *name)
{
	const cJSON	*tool, *fn, *fname, *choice;

	choice = wire_get(body, "tool_choice");
	if (cJSON_IsString(choice) && strcmp(choice->valuestring, "none") == 0)
		return 0;
	cJSON_ArrayForEach(tool, wire_get(body, "tools")) {
		fn = wire_get(tool, "function");
		fname = wire_get(fn, "name");
		if (cJSON_IsString(fname) && strcmp(fname->valuestring, name) == 0)
			return 1;
	}
	return 0;
}

/*
 * tool=NAME: a request that offers function NAME is answered with a call
 * to it; one whose last message is a tool's result is answered with that
 * result, so a client's round trip shows in the answer.
 */
static void
wire_openai_tool(struct exchange *ex, const cJSON *last)
{
	const cJSON	*role = wire_get(last, "role");
	const char	*name = ex->opts.tool;

	if (name == NULL)
		return;
	if (cJSON_IsString(role) && strcmp(role->valuestring, "tool") == 0) {
		ex->decided = wire_content_text(wire_get(last, "content"));
		return;
	}
	if (!wire_offers_tool(ex->body, name))
		return;
	ex->tool = xstrdup(name);
	ex->decided = xstrdup(ex->opts.args != NULL ? ex->opts.args :
	    FAKE_DEFAULT_ARGS);
}

static int
wire_openai_chat_parse(struct exchange *ex, char *err, size_t errlen)
{
	const cJSON	*messages, *m, *role, *last = NULL;
	char		*text;

	messages = wire_get(ex->body, "messages");
	if (!cJSON_IsArray(messages)) {
		snprintf(err, errlen, "'messages' is a required property");
		return -1;
	}
	if (wire_openai_choices(ex, err, errlen) == -1)
		return -1;
	cJSON_ArrayForEach(m, messages) {
		last = m;
		if ((text = wire_content_text(wire_get(m, "content"))) == NULL)
			continue;
		ex->prompt_tokens += wire_words(text);
		role = wire_get(m, "role");
		if (cJSON_IsString(role) &&
		    strcmp(role->valuestring, "user") == 0) {
			free(ex->echo);
			ex->echo = text;
		} else
			free(text);
	}
	wire_openai_tool(ex, last);
	ex->stream = cJSON_IsTrue(wire_get(ex->body, "stream"));
	ex->include_usage = cJSON_IsTrue(wire_get(wire_get(ex->body,
	    "stream_options"), "include_usage"));
	return 0;
}

/* A token's text as OpenAI's "bytes": its UTF-8 bytes as numbers. */
static cJSON *
wire_token_bytes(const char *s, size_t len)
{
	cJSON	*a = cJSON_CreateArray();
	size_t	 i;

	for (i = 0; i < len; i++)
		cJSON_AddItemToArray(a,
		    cJSON_CreateNumber((unsigned char)s[i]));
	return a;
}

static cJSON *
wire_token(const char *s, size_t len, double logprob)
{
	cJSON	*t = cJSON_CreateObject();
	char	*text = xstrndup(s, len);

	cJSON_AddStringToObject(t, "token", text);
	free(text);
	cJSON_AddNumberToObject(t, "logprob", logprob);
	cJSON_AddItemToObject(t, "bytes", wire_token_bytes(s, len));
	return t;
}

/*
 * A choice's logprobs for text: one token per word with the spaces before
 * it, as GPT tokenizers cut, so the tokens join to the text; each token's
 * top_logprobs list it first, then "alt1"... with lower logprobs.
 */
static cJSON *
wire_logprobs(const struct exchange *ex, const char *text)
{
	cJSON		*o = cJSON_CreateObject(), *content, *t, *top;
	const char	*p = text, *start;
	char		 alt[16];
	int		 i, k = 0;

	content = cJSON_AddArrayToObject(o, "content");
	while (*p != '\0') {
		start = p;
		while (isspace((unsigned char)*p))
			p++;
		while (*p != '\0' && !isspace((unsigned char)*p))
			p++;
		t = wire_token(start, p - start, -0.125 * (k % 8));
		top = cJSON_AddArrayToObject(t, "top_logprobs");
		for (i = 0; i < ex->top_logprobs; i++) {
			if (i == 0) {
				cJSON_AddItemToArray(top, wire_token(start,
				    p - start, -0.125 * (k % 8)));
				continue;
			}
			snprintf(alt, sizeof(alt), "alt%d", i);
			cJSON_AddItemToArray(top, wire_token(alt, strlen(alt),
			    -1.0 - i));
		}
		cJSON_AddItemToArray(content, t);
		k++;
	}
	cJSON_AddNullToObject(o, "refusal");
	return o;
}

/* The tool call of the answer; arguments NULL leaves them out. */
static cJSON *
wire_tool_calls(const struct exchange *ex, int delta, const char *arguments)
{
	cJSON	*calls = cJSON_CreateArray(), *c, *fn;
	char	 id[64];

	c = cJSON_CreateObject();
	if (delta)
		wire_add_int(c, "index", 0);
	if (!delta || arguments == NULL) {
		snprintf(id, sizeof(id), "call_fakellm%06llu",
		    (unsigned long long)ex->seq);
		cJSON_AddStringToObject(c, "id", id);
		cJSON_AddStringToObject(c, "type", "function");
	}
	fn = cJSON_AddObjectToObject(c, "function");
	if (!delta || arguments == NULL)
		cJSON_AddStringToObject(fn, "name", ex->tool);
	cJSON_AddStringToObject(fn, "arguments",
	    arguments != NULL ? arguments : "");
	cJSON_AddItemToArray(calls, c);
	return calls;
}

static const char *
wire_finish_reason(const struct exchange *ex)
{
	return ex->tool != NULL ? "tool_calls" : "stop";
}

/* Choice i of a whole answer: every choice says the same. */
/*
 * The message's (or a delta's) refusal, null, and the reasoning think=
 * asks for under its key: refusal itself, or one more.
 */
static void
wire_openai_think(const struct exchange *ex, cJSON *m)
{
	const char	*key = ex->opts.think_key != NULL ?
			    ex->opts.think_key : "reasoning_content";

	if (ex->opts.think == NULL || strcmp(key, "refusal") != 0)
		cJSON_AddNullToObject(m, "refusal");
	if (ex->opts.think != NULL)
		cJSON_AddStringToObject(m, key, ex->opts.think);
}

static cJSON *
wire_openai_chat_choice(struct exchange *ex, int i)
{
	cJSON	*c = cJSON_CreateObject(), *m;

	wire_add_int(c, "index", i);
	m = cJSON_AddObjectToObject(c, "message");
	cJSON_AddStringToObject(m, "role", "assistant");
	if (ex->tool != NULL) {
		cJSON_AddNullToObject(m, "content");
		wire_openai_think(ex, m);
		cJSON_AddItemToObject(m, "tool_calls",
		    wire_tool_calls(ex, 0, ex->answer));
	} else {
		cJSON_AddStringToObject(m, "content", ex->answer);
		wire_openai_think(ex, m);
	}
	if (ex->logprobs && ex->tool == NULL)
		cJSON_AddItemToObject(c, "logprobs", wire_logprobs(ex,
		    ex->answer));
	else
		cJSON_AddNullToObject(c, "logprobs");
	cJSON_AddStringToObject(c, "finish_reason", wire_finish_reason(ex));
	return c;
}

static cJSON *
wire_openai_chat_reply(struct exchange *ex)
{
	cJSON	*o, *choices;
	int	 i;

	o = wire_openai_head(ex, "chatcmpl", "chat.completion");
	choices = cJSON_AddArrayToObject(o, "choices");
	for (i = 0; i < ex->n; i++)
		cJSON_AddItemToArray(choices, wire_openai_chat_choice(ex, i));
	if (ex->opts.usage)
		cJSON_AddItemToObject(o, "usage", wire_openai_usage(ex, 1));
	cJSON_AddStringToObject(o, "system_fingerprint", WIRE_FINGERPRINT);
	return o;
}

/*
 * Choice i of a stream event. A tool call streams as OpenAI's does: the
 * role event names the call, content events carry the arguments in
 * pieces, the finish event has an empty delta.
 */
static cJSON *
wire_openai_chat_delta(struct exchange *ex, int i, enum wire_chunk kind,
    const char *piece)
{
	cJSON	*c = cJSON_CreateObject(), *d;

	wire_add_int(c, "index", i);
	d = cJSON_AddObjectToObject(c, "delta");
	switch (kind) {
	case WIRE_CHUNK_ROLE:
		cJSON_AddStringToObject(d, "role", "assistant");
		if (ex->tool != NULL) {
			cJSON_AddNullToObject(d, "content");
			cJSON_AddItemToObject(d, "tool_calls",
			    wire_tool_calls(ex, 1, NULL));
		} else
			cJSON_AddStringToObject(d, "content", "");
		wire_openai_think(ex, d);
		break;
	case WIRE_CHUNK_CONTENT:
		if (ex->tool != NULL)
			cJSON_AddItemToObject(d, "tool_calls",
			    wire_tool_calls(ex, 1, piece));
		else
			cJSON_AddStringToObject(d, "content", piece);
		break;
	default:
		break;
	}
	if (kind == WIRE_CHUNK_CONTENT && ex->logprobs && ex->tool == NULL)
		cJSON_AddItemToObject(c, "logprobs", wire_logprobs(ex, piece));
	else
		cJSON_AddNullToObject(c, "logprobs");
	if (kind == WIRE_CHUNK_FINISH)
		cJSON_AddStringToObject(c, "finish_reason",
		    wire_finish_reason(ex));
	else
		cJSON_AddNullToObject(c, "finish_reason");
	return c;
}

static cJSON *
wire_openai_chat_chunk(struct exchange *ex, enum wire_chunk kind,
    const char *piece)
{
	cJSON	*o, *choices;
	int	 i;

	o = wire_openai_head(ex, "chatcmpl", "chat.completion.chunk");
	cJSON_AddStringToObject(o, "system_fingerprint", WIRE_FINGERPRINT);
	choices = cJSON_AddArrayToObject(o, "choices");
	if (kind == WIRE_CHUNK_USAGE) {
		cJSON_AddItemToObject(o, "usage", wire_openai_usage(ex, 1));
		return o;
	}
	for (i = 0; i < ex->n; i++)
		cJSON_AddItemToArray(choices,
		    wire_openai_chat_delta(ex, i, kind, piece));
	if (ex->include_usage)
		cJSON_AddNullToObject(o, "usage");
	return o;
}

/*
 * POST /v1/fim/completions, Mistral's (and Codestral's, DeepSeek's) fill
 * in the middle: prompt and suffix in, a chat completion's shape out.
 */
static int
wire_openai_fim_parse(struct exchange *ex, char *err, size_t errlen)
{
	const cJSON	*prompt = wire_get(ex->body, "prompt");
	const cJSON	*suffix = wire_get(ex->body, "suffix");

	if (!cJSON_IsString(prompt)) {
		snprintf(err, errlen, "'prompt' is a required property and "
		    "must be a string");
		return -1;
	}
	if (suffix != NULL && !cJSON_IsNull(suffix) &&
	    !cJSON_IsString(suffix)) {
		snprintf(err, errlen, "Invalid type for 'suffix': expected a "
		    "string");
		return -1;
	}
	ex->prompt_tokens = wire_prompt_words(prompt, &ex->echo);
	if (cJSON_IsString(suffix))
		ex->prompt_tokens += wire_words(suffix->valuestring);
	ex->stream = cJSON_IsTrue(wire_get(ex->body, "stream"));
	ex->include_usage = cJSON_IsTrue(wire_get(wire_get(ex->body,
	    "stream_options"), "include_usage"));
	return 0;
}

static int
wire_openai_completions_parse(struct exchange *ex, char *err, size_t errlen)
{
	const cJSON	*prompt = wire_get(ex->body, "prompt");
	const cJSON	*lp = wire_get(ex->body, "logprobs");

	if (prompt != NULL && !cJSON_IsString(prompt) &&
	    !cJSON_IsArray(prompt)) {
		snprintf(err, errlen, "Invalid type for 'prompt': expected a "
		    "string or an array");
		return -1;
	}
	/* Legacy logprobs: how many alternatives, 0 to 5; null for none. */
	if (lp != NULL && !cJSON_IsNull(lp)) {
		if (!cJSON_IsNumber(lp) || lp->valuedouble < 0 ||
		    lp->valuedouble > WIRE_MAX_LEGACY_LOGPROBS ||
		    lp->valuedouble != (double)(int)lp->valuedouble) {
			snprintf(err, errlen, "Invalid value for 'logprobs': "
			    "expected an integer from 0 to %d",
			    WIRE_MAX_LEGACY_LOGPROBS);
			return -1;
		}
		ex->logprobs = 1;
		ex->top_logprobs = (int)lp->valuedouble;
	}
	ex->prompt_tokens = wire_prompt_words(prompt, &ex->echo);
	ex->stream = cJSON_IsTrue(wire_get(ex->body, "stream"));
	ex->include_usage = cJSON_IsTrue(wire_get(wire_get(ex->body,
	    "stream_options"), "include_usage"));
	return 0;
}

/*
 * The legacy completions' logprobs of text: parallel arrays of tokens,
 * their logprobs, the top alternatives as {token: logprob} and offsets,
 * the tokens cut as wire_logprobs() cuts them.
 */
static cJSON *
wire_legacy_logprobs(const struct exchange *ex, const char *text)
{
	cJSON		*o = cJSON_CreateObject(), *chat, *t, *alt, *top, *a;
	cJSON		*tokens, *lps, *tops, *offsets;
	const char	*tok;
	long long	 offset = 0;

	chat = wire_logprobs(ex, text);
	tokens = cJSON_AddArrayToObject(o, "tokens");
	lps = cJSON_AddArrayToObject(o, "token_logprobs");
	tops = cJSON_AddArrayToObject(o, "top_logprobs");
	offsets = cJSON_AddArrayToObject(o, "text_offset");
	cJSON_ArrayForEach(t, wire_get(chat, "content")) {
		tok = wire_get(t, "token")->valuestring;
		cJSON_AddItemToArray(tokens, cJSON_CreateString(tok));
		cJSON_AddItemToArray(lps, cJSON_CreateNumber(
		    wire_get(t, "logprob")->valuedouble));
		top = cJSON_CreateObject();
		cJSON_ArrayForEach(alt, wire_get(t, "top_logprobs")) {
			a = cJSON_CreateNumber(wire_get(alt, "logprob")->
			    valuedouble);
			cJSON_AddItemToObject(top, wire_get(alt, "token")->
			    valuestring, a);
		}
		cJSON_AddItemToArray(tops, top);
		cJSON_AddItemToArray(offsets, cJSON_CreateNumber(offset));
		offset += (long long)strlen(tok);
	}
	cJSON_Delete(chat);
	return o;
}

static cJSON *
wire_openai_completions_choice(const struct exchange *ex, const char *text,
    int finished)
{
	cJSON	*c = cJSON_CreateObject();

	cJSON_AddStringToObject(c, "text", text);
	wire_add_int(c, "index", 0);
	/* A stream's last event has no text, so no logprobs. */
	if (ex->logprobs && !(finished && ex->stream))
		cJSON_AddItemToObject(c, "logprobs",
		    wire_legacy_logprobs(ex, text));
	else
		cJSON_AddNullToObject(c, "logprobs");
	if (finished)
		cJSON_AddStringToObject(c, "finish_reason", "stop");
	else
		cJSON_AddNullToObject(c, "finish_reason");
	return c;
}

static cJSON *
wire_openai_completions_reply(struct exchange *ex)
{
	cJSON	*o, *choices;

	o = wire_openai_head(ex, "cmpl", "text_completion");
	choices = cJSON_AddArrayToObject(o, "choices");
	cJSON_AddItemToArray(choices,
	    wire_openai_completions_choice(ex, ex->answer, 1));
	if (ex->opts.usage)
		cJSON_AddItemToObject(o, "usage", wire_openai_usage(ex, 0));
	cJSON_AddStringToObject(o, "system_fingerprint", WIRE_FINGERPRINT);
	return o;
}

static cJSON *
wire_openai_completions_chunk(struct exchange *ex, enum wire_chunk kind,
    const char *piece)
{
	cJSON	*o, *choices;

	o = wire_openai_head(ex, "cmpl", "text_completion");
	choices = cJSON_AddArrayToObject(o, "choices");
	switch (kind) {
	case WIRE_CHUNK_USAGE:
		cJSON_AddItemToObject(o, "usage", wire_openai_usage(ex, 0));
		return o;
	case WIRE_CHUNK_CONTENT:
		cJSON_AddItemToArray(choices,
		    wire_openai_completions_choice(ex, piece, 0));
		break;
	default:
		cJSON_AddItemToArray(choices,
		    wire_openai_completions_choice(ex, "", 1));
		break;
	}
	cJSON_AddStringToObject(o, "system_fingerprint", WIRE_FINGERPRINT);
	if (ex->include_usage)
		cJSON_AddNullToObject(o, "usage");
	return o;
}

/*
 * encoding_format "base64", as the OpenAI SDKs ask by default: the vector
 * as little-endian float32 values, base64-encoded.
 */
static cJSON *
wire_embedding_base64(const cJSON *vec)
{
	unsigned char	 raw[WIRE_DIMENSIONS * 4];
	char		 b64[sizeof(raw) * 2];
	const cJSON	*v;
	float		 f;
	uint32_t	 bits;
	size_t		 n = 0;

	cJSON_ArrayForEach(v, vec) {
		if (n + 4 > sizeof(raw))
			break;
		f = (float)v->valuedouble;
		memcpy(&bits, &f, sizeof(bits));
		raw[n++] = bits & 0xff;
		raw[n++] = (bits >> 8) & 0xff;
		raw[n++] = (bits >> 16) & 0xff;
		raw[n++] = (bits >> 24) & 0xff;
	}
	sodium_bin2base64(b64, sizeof(b64), raw, n,
	    sodium_base64_VARIANT_ORIGINAL);
	return cJSON_CreateString(b64);
}

static cJSON *
wire_openai_embeddings_reply(struct exchange *ex)
{
	const cJSON	*fmt = wire_get(ex->body, "encoding_format");
	cJSON		*o, *data, *all, *vec, *d, *u;
	int		 i = 0, base64;

	base64 = cJSON_IsString(fmt) && strcmp(fmt->valuestring, "base64") == 0;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "object", "list");
	data = cJSON_AddArrayToObject(o, "data");
	all = wire_embeddings_of(wire_get(ex->body, "input"));
	while ((vec = cJSON_DetachItemFromArray(all, 0)) != NULL) {
		d = cJSON_CreateObject();
		cJSON_AddStringToObject(d, "object", "embedding");
		wire_add_int(d, "index", i++);
		if (base64) {
			cJSON_AddItemToObject(d, "embedding",
			    wire_embedding_base64(vec));
			cJSON_Delete(vec);
		} else
			cJSON_AddItemToObject(d, "embedding", vec);
		cJSON_AddItemToArray(data, d);
	}
	cJSON_Delete(all);
	cJSON_AddStringToObject(o, "model", ex->model);
	if (ex->opts.usage) {
		u = cJSON_AddObjectToObject(o, "usage");
		wire_add_int(u, "prompt_tokens", ex->prompt_tokens);
		wire_add_int(u, "total_tokens", ex->prompt_tokens);
	}
	return o;
}

/* --- rerank --------------------------------------------------------------- */

/*
 * POST /v1/rerank as vLLM, Jina and Cohere serve it: a query and documents
 * (strings or {"text": ...}) in; results by relevance, best first.
 */
static int
wire_rerank_parse(struct exchange *ex, char *err, size_t errlen)
{
	const cJSON	*query = wire_get(ex->body, "query");
	const cJSON	*docs = wire_get(ex->body, "documents");
	const cJSON	*top = wire_get(ex->body, "top_n"), *d, *text;
	int		 i = 0;

	if (!cJSON_IsString(query)) {
		snprintf(err, errlen, "'query' is a required property and "
		    "must be a string");
		return -1;
	}
	if (!cJSON_IsArray(docs)) {
		snprintf(err, errlen, "'documents' is a required property "
		    "and must be an array");
		return -1;
	}
	if (top != NULL && !cJSON_IsNull(top) && (!cJSON_IsNumber(top) ||
	    top->valuedouble < 0 || top->valuedouble > INT32_MAX)) {
		snprintf(err, errlen, "Invalid value for 'top_n': expected a "
		    "non-negative integer");
		return -1;
	}
	ex->prompt_tokens = wire_words(query->valuestring);
	cJSON_ArrayForEach(d, docs) {
		text = cJSON_IsObject(d) ? wire_get(d, "text") : d;
		if (!cJSON_IsString(text)) {
			snprintf(err, errlen, "Invalid type for 'documents[%d]': "
			    "expected a string or an object with a string "
			    "'text'", i);
			return -1;
		}
		ex->prompt_tokens += wire_words(text->valuestring);
		i++;
	}
	return 0;
}

/* The share of the query's words found in text, case folded. */
static double
wire_relevance(const char *query, const char *text)
{
	char	*copy = xstrdup(query), *next, *word;
	int	 words = 0, found = 0;

	for (next = copy; (word = strsep(&next, " \t\r\n")) != NULL;) {
		if (*word == '\0')
			continue;
		words++;
		if (strcasestr(text, word) != NULL)
			found++;
	}
	free(copy);
	return words > 0 ? (double)found / words : 0;
}

struct wire_ranked {
	int		 index;
	double		 score;
	const char	*text;
};

static int
wire_ranked_cmp(const void *a, const void *b)
{
	const struct wire_ranked	*x = a, *y = b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return x->index - y->index;
}

static cJSON *
wire_rerank_reply(struct exchange *ex)
{
	const cJSON		*query = wire_get(ex->body, "query");
	const cJSON		*docs = wire_get(ex->body, "documents");
	const cJSON		*top = wire_get(ex->body, "top_n"), *d, *ret;
	struct wire_ranked	*r;
	cJSON			*o, *results, *item, *u;
	char			 id[64];
	int			 n = cJSON_GetArraySize(docs), i = 0, keep;

	r = xcalloc(n > 0 ? n : 1, sizeof(*r));
	cJSON_ArrayForEach(d, docs) {
		r[i].index = i;
		r[i].text = (cJSON_IsObject(d) ? wire_get(d, "text") :
		    d)->valuestring;
		r[i].score = wire_relevance(query->valuestring, r[i].text);
		i++;
	}
	qsort(r, n, sizeof(*r), wire_ranked_cmp);
	keep = n;
	if (cJSON_IsNumber(top) && top->valuedouble >= 1 &&
	    top->valuedouble < n)
		keep = (int)top->valuedouble;
	ret = wire_get(ex->body, "return_documents");

	o = cJSON_CreateObject();
	wire_id(id, sizeof(id), "rerank", ex);
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "model", ex->model);
	u = cJSON_AddObjectToObject(o, "usage");
	wire_add_int(u, "total_tokens", ex->prompt_tokens);
	results = cJSON_AddArrayToObject(o, "results");
	for (i = 0; i < keep; i++) {
		item = cJSON_CreateObject();
		wire_add_int(item, "index", r[i].index);
		if (!cJSON_IsFalse(ret))
			cJSON_AddStringToObject(cJSON_AddObjectToObject(item,
			    "document"), "text", r[i].text);
		cJSON_AddNumberToObject(item, "relevance_score", r[i].score);
		cJSON_AddItemToArray(results, item);
	}
	free(r);
	return o;
}

/* --- OpenAI's Responses API ---------------------------------------------- */

/*
 * input: a string, or items; a message item's content a string or parts
 * with "text". instructions count as prompt. The last user text is the
 * echo.
 */
static int
wire_responses_parse(struct exchange *ex, char *err, size_t errlen)
{
	const cJSON	*input = wire_get(ex->body, "input"), *item, *role;
	const cJSON	*instr = wire_get(ex->body, "instructions");
	char		*text;

	if (cJSON_IsString(instr))
		ex->prompt_tokens += wire_words(instr->valuestring);
	if (cJSON_IsString(input)) {
		ex->prompt_tokens += wire_words(input->valuestring);
		ex->echo = xstrdup(input->valuestring);
	} else if (cJSON_IsArray(input)) {
		cJSON_ArrayForEach(item, input) {
			if (!cJSON_IsObject(item)) {
				snprintf(err, errlen, "Invalid type for "
				    "'input': expected an object");
				return -1;
			}
			if ((text = wire_content_text(wire_get(item,
			    "content"))) == NULL)
				continue;
			ex->prompt_tokens += wire_words(text);
			role = wire_get(item, "role");
			if (cJSON_IsString(role) &&
			    strcmp(role->valuestring, "user") == 0) {
				free(ex->echo);
				ex->echo = text;
			} else
				free(text);
		}
	} else {
		snprintf(err, errlen, "Missing required parameter: 'input'.");
		return -1;
	}
	ex->stream = cJSON_IsTrue(wire_get(ex->body, "stream"));
	return 0;
}

/* A Response's usage, unless usage=0. */
static cJSON *
wire_responses_usage(const struct exchange *ex)
{
	cJSON	*u, *d;

	if (!ex->opts.usage)
		return cJSON_CreateNull();
	u = cJSON_CreateObject();
	wire_add_int(u, "input_tokens", ex->prompt_tokens);
	d = cJSON_AddObjectToObject(u, "input_tokens_details");
	wire_add_int(d, "cached_tokens", ex->opts.cached);
	wire_add_int(u, "output_tokens", ex->completion_tokens);
	d = cJSON_AddObjectToObject(u, "output_tokens_details");
	wire_add_int(d, "reasoning_tokens", 0);
	wire_add_int(u, "total_tokens",
	    (long long)ex->prompt_tokens + ex->completion_tokens);
	return u;
}

/* The output_text part, with text so far. */
static cJSON *
wire_responses_part(const char *text)
{
	cJSON	*p = cJSON_CreateObject();

	cJSON_AddStringToObject(p, "type", "output_text");
	cJSON_AddStringToObject(p, "text", text);
	cJSON_AddItemToObject(p, "annotations", cJSON_CreateArray());
	return p;
}

/* The assistant's message item: complete with the answer, or empty. */
static cJSON *
wire_responses_item(const struct exchange *ex, int done)
{
	cJSON	*m = cJSON_CreateObject(), *c;
	char	 id[64];

	wire_id(id, sizeof(id), "msg", ex);
	cJSON_AddStringToObject(m, "id", id);
	cJSON_AddStringToObject(m, "type", "message");
	cJSON_AddStringToObject(m, "status", done ? "completed" :
	    "in_progress");
	cJSON_AddStringToObject(m, "role", "assistant");
	c = cJSON_AddArrayToObject(m, "content");
	if (done)
		cJSON_AddItemToArray(c, wire_responses_part(ex->answer));
	return m;
}

/* A Response object, as OpenAI shapes it; done: with output and usage. */
static cJSON *
wire_responses_object(const struct exchange *ex, int done)
{
	cJSON		*o = cJSON_CreateObject(), *out, *t, *f;
	const cJSON	*v;
	char		 id[64];

	wire_id(id, sizeof(id), "resp", ex);
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "object", "response");
	wire_add_int(o, "created_at", (long long)ex->created);
	cJSON_AddStringToObject(o, "status", done ? "completed" :
	    "in_progress");
	cJSON_AddNullToObject(o, "error");
	cJSON_AddNullToObject(o, "incomplete_details");
	v = wire_get(ex->body, "instructions");
	cJSON_AddItemToObject(o, "instructions", cJSON_IsString(v) ?
	    cJSON_CreateString(v->valuestring) : cJSON_CreateNull());
	v = wire_get(ex->body, "max_output_tokens");
	cJSON_AddItemToObject(o, "max_output_tokens", cJSON_IsNumber(v) ?
	    cJSON_CreateNumber(v->valuedouble) : cJSON_CreateNull());
	cJSON_AddStringToObject(o, "model", ex->model);
	out = cJSON_AddArrayToObject(o, "output");
	if (done)
		cJSON_AddItemToArray(out, wire_responses_item(ex, 1));
	cJSON_AddBoolToObject(o, "parallel_tool_calls", 1);
	cJSON_AddNullToObject(o, "previous_response_id");
	cJSON_AddBoolToObject(o, "store",
	    !cJSON_IsFalse(wire_get(ex->body, "store")));
	wire_add_int(o, "temperature", 1);
	t = cJSON_AddObjectToObject(o, "text");
	f = cJSON_AddObjectToObject(t, "format");
	cJSON_AddStringToObject(f, "type", "text");
	cJSON_AddStringToObject(o, "tool_choice", "auto");
	cJSON_AddItemToObject(o, "tools", cJSON_CreateArray());
	wire_add_int(o, "top_p", 1);
	cJSON_AddStringToObject(o, "truncation", "disabled");
	cJSON_AddItemToObject(o, "usage", done ? wire_responses_usage(ex) :
	    cJSON_CreateNull());
	cJSON_AddNullToObject(o, "user");
	v = wire_get(ex->body, "metadata");
	cJSON_AddItemToObject(o, "metadata", cJSON_IsObject(v) ?
	    cJSON_Duplicate(v, 1) : cJSON_CreateObject());
	return o;
}

static cJSON *
wire_responses_reply(struct exchange *ex)
{
	return wire_responses_object(ex, 1);
}

/* One stream event of the given type, numbered in sequence. */
static cJSON *
wire_responses_event(struct exchange *ex, const char *type)
{
	cJSON	*e = cJSON_CreateObject();

	cJSON_AddStringToObject(e, "type", type);
	wire_add_int(e, "sequence_number", ex->events++);
	return e;
}

/* An event about the message item (and its part): where it is. */
static cJSON *
wire_responses_at(struct exchange *ex, const char *type, int part)
{
	cJSON	*e = wire_responses_event(ex, type);
	char	 id[64];

	wire_id(id, sizeof(id), "msg", ex);
	cJSON_AddStringToObject(e, "item_id", id);
	wire_add_int(e, "output_index", 0);
	if (part)
		wire_add_int(e, "content_index", 0);
	return e;
}

/*
 * The stream, as OpenAI sends it: created, in_progress, the item and its
 * part added (the opening "role" step); a text delta per piece; then the
 * text, part and item done and response.completed with the usage.
 */
static cJSON *
wire_responses_chunk(struct exchange *ex, enum wire_chunk kind,
    const char *piece)
{
	cJSON	*a, *e;

	if (kind == WIRE_CHUNK_CONTENT) {
		e = wire_responses_at(ex, "response.output_text.delta", 1);
		cJSON_AddStringToObject(e, "delta", piece);
		return e;
	}
	a = cJSON_CreateArray();
	if (kind == WIRE_CHUNK_ROLE) {
		e = wire_responses_event(ex, "response.created");
		cJSON_AddItemToObject(e, "response",
		    wire_responses_object(ex, 0));
		cJSON_AddItemToArray(a, e);
		e = wire_responses_event(ex, "response.in_progress");
		cJSON_AddItemToObject(e, "response",
		    wire_responses_object(ex, 0));
		cJSON_AddItemToArray(a, e);
		e = wire_responses_event(ex, "response.output_item.added");
		wire_add_int(e, "output_index", 0);
		cJSON_AddItemToObject(e, "item", wire_responses_item(ex, 0));
		cJSON_AddItemToArray(a, e);
		e = wire_responses_at(ex, "response.content_part.added", 1);
		cJSON_AddItemToObject(e, "part", wire_responses_part(""));
		cJSON_AddItemToArray(a, e);
		return a;
	}
	e = wire_responses_at(ex, "response.output_text.done", 1);
	cJSON_AddStringToObject(e, "text", ex->answer);
	cJSON_AddItemToArray(a, e);
	e = wire_responses_at(ex, "response.content_part.done", 1);
	cJSON_AddItemToObject(e, "part", wire_responses_part(ex->answer));
	cJSON_AddItemToArray(a, e);
	e = wire_responses_event(ex, "response.output_item.done");
	wire_add_int(e, "output_index", 0);
	cJSON_AddItemToObject(e, "item", wire_responses_item(ex, 1));
	cJSON_AddItemToArray(a, e);
	e = wire_responses_event(ex, "response.completed");
	cJSON_AddItemToObject(e, "response", wire_responses_object(ex, 1));
	cJSON_AddItemToArray(a, e);
	return a;
}

/* --- Ollama --------------------------------------------------------------- */

static cJSON *
wire_ollama_head(const struct exchange *ex)
{
	cJSON	*o = cJSON_CreateObject();
	char	 when[64];

	wire_time(when, sizeof(when), ex->created);
	cJSON_AddStringToObject(o, "model", ex->model);
	cJSON_AddStringToObject(o, "created_at", when);
	return o;
}

/* The fields of Ollama's last object: timings and, unless usage=0, counts. */
static void
wire_ollama_done(const struct exchange *ex, cJSON *o)
{
	wire_add_int(o, "total_duration", 5000000);
	wire_add_int(o, "load_duration", 1000000);
	if (ex->opts.usage)
		wire_add_int(o, "prompt_eval_count",
		    ex->prompt_tokens);
	wire_add_int(o, "prompt_eval_duration", 1000000);
	if (ex->opts.usage)
		wire_add_int(o, "eval_count",
		    ex->completion_tokens);
	wire_add_int(o, "eval_duration", 3000000);
}

static void
wire_ollama_stream_flag(struct exchange *ex)
{
	/* Ollama streams unless told "stream": false. */
	ex->stream = !cJSON_IsFalse(wire_get(ex->body, "stream"));
}

static int
wire_ollama_chat_parse(struct exchange *ex, char *err, size_t errlen)
{
	const cJSON	*messages, *m, *role, *last = NULL;
	char		*text;

	messages = wire_get(ex->body, "messages");
	if (messages != NULL && !cJSON_IsArray(messages)) {
		snprintf(err, errlen, "messages must be an array");
		return -1;
	}
	cJSON_ArrayForEach(m, messages) {
		last = m;
		if ((text = wire_content_text(wire_get(m, "content"))) == NULL)
			continue;
		ex->prompt_tokens += wire_words(text);
		role = wire_get(m, "role");
		if (cJSON_IsString(role) &&
		    strcmp(role->valuestring, "user") == 0) {
			free(ex->echo);
			ex->echo = text;
		} else
			free(text);
	}
	wire_openai_tool(ex, last);	/* Ollama's tools are OpenAI's */
	wire_ollama_stream_flag(ex);
	return 0;
}

/*
 * The tool call of an Ollama answer, whole: its arguments an object (the
 * answer parsed), as Ollama writes them.
 */
static void
wire_ollama_tool_calls(const struct exchange *ex, cJSON *m)
{
	cJSON	*calls, *c, *fn, *args;

	if ((args = cJSON_Parse(ex->answer)) == NULL ||
	    !cJSON_IsObject(args)) {
		cJSON_Delete(args);
		args = cJSON_CreateObject();
	}
	calls = cJSON_AddArrayToObject(m, "tool_calls");
	c = cJSON_CreateObject();
	fn = cJSON_AddObjectToObject(c, "function");
	cJSON_AddStringToObject(fn, "name", ex->tool);
	cJSON_AddItemToObject(fn, "arguments", args);
	cJSON_AddItemToArray(calls, c);
}

static cJSON *
wire_ollama_chat_chunk(struct exchange *ex, enum wire_chunk kind,
    const char *piece)
{
	cJSON	*o = wire_ollama_head(ex), *m;
	int	 last = kind != WIRE_CHUNK_CONTENT;

	m = cJSON_AddObjectToObject(o, "message");
	cJSON_AddStringToObject(m, "role", "assistant");
	cJSON_AddStringToObject(m, "content", last || ex->tool != NULL ? "" :
	    piece);
	if (ex->opts.think != NULL && !last && !ex->think_sent) {
		cJSON_AddStringToObject(m, "thinking", ex->opts.think);
		ex->think_sent = 1;
	}
	/* Ollama sends a tool call whole, in one line. */
	if (ex->tool != NULL && !last && !ex->tool_sent) {
		wire_ollama_tool_calls(ex, m);
		ex->tool_sent = 1;
	}
	if (last)
		cJSON_AddStringToObject(o, "done_reason", "stop");
	cJSON_AddBoolToObject(o, "done", last);
	if (last)
		wire_ollama_done(ex, o);
	return o;
}

static cJSON *
wire_ollama_chat_reply(struct exchange *ex)
{
	cJSON	*o = wire_ollama_head(ex), *m;

	m = cJSON_AddObjectToObject(o, "message");
	cJSON_AddStringToObject(m, "role", "assistant");
	cJSON_AddStringToObject(m, "content", ex->tool != NULL ? "" :
	    ex->answer);
	if (ex->opts.think != NULL)
		cJSON_AddStringToObject(m, "thinking", ex->opts.think);
	if (ex->tool != NULL)
		wire_ollama_tool_calls(ex, m);
	cJSON_AddStringToObject(o, "done_reason", "stop");
	cJSON_AddBoolToObject(o, "done", 1);
	wire_ollama_done(ex, o);
	return o;
}

static int
wire_ollama_generate_parse(struct exchange *ex, char *err, size_t errlen)
{
	const cJSON	*prompt = wire_get(ex->body, "prompt");
	const cJSON	*system = wire_get(ex->body, "system");

	if (prompt != NULL && !cJSON_IsString(prompt)) {
		snprintf(err, errlen, "prompt must be a string");
		return -1;
	}
	ex->prompt_tokens = wire_prompt_words(prompt, &ex->echo);
	if (cJSON_IsString(system))
		ex->prompt_tokens += wire_words(system->valuestring);
	wire_ollama_stream_flag(ex);
	return 0;
}

static cJSON *
wire_ollama_generate_chunk(struct exchange *ex, enum wire_chunk kind,
    const char *piece)
{
	cJSON	*o = wire_ollama_head(ex);
	int	 last = kind != WIRE_CHUNK_CONTENT;
	int	 context[] = { 1, 2, 3 };

	cJSON_AddStringToObject(o, "response", last ? "" : piece);
	cJSON_AddBoolToObject(o, "done", last);
	if (last) {
		cJSON_AddStringToObject(o, "done_reason", "stop");
		cJSON_AddItemToObject(o, "context",
		    cJSON_CreateIntArray(context, 3));
		wire_ollama_done(ex, o);
	}
	return o;
}

static cJSON *
wire_ollama_generate_reply(struct exchange *ex)
{
	cJSON	*o;

	o = wire_ollama_generate_chunk(ex, WIRE_CHUNK_FINISH, NULL);
	cJSON_ReplaceItemInObjectCaseSensitive(o, "response",
	    cJSON_CreateString(ex->answer));
	return o;
}

static cJSON *
wire_ollama_embed_reply(struct exchange *ex)
{
	cJSON	*o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "model", ex->model);
	cJSON_AddItemToObject(o, "embeddings",
	    wire_embeddings_of(wire_get(ex->body, "input")));
	wire_add_int(o, "total_duration", 2000000);
	wire_add_int(o, "load_duration", 1000000);
	if (ex->opts.usage)
		wire_add_int(o, "prompt_eval_count",
		    ex->prompt_tokens);
	return o;
}

const struct wire_api wire_openai_chat = {
	"openai-chat", WIRE_OPENAI, 1, 1, 0,
	wire_openai_chat_parse, wire_openai_chat_reply, wire_openai_chat_chunk
};
const struct wire_api wire_openai_completions = {
	"openai-completions", WIRE_OPENAI, 1, 0, 0,
	wire_openai_completions_parse, wire_openai_completions_reply,
	wire_openai_completions_chunk
};
const struct wire_api wire_openai_embeddings = {
	"openai-embeddings", WIRE_OPENAI, 1, 0, 0,
	wire_check_input, wire_openai_embeddings_reply, NULL
};
const struct wire_api wire_openai_fim = {
	"openai-fim", WIRE_OPENAI, 1, 1, 0,
	wire_openai_fim_parse, wire_openai_chat_reply, wire_openai_chat_chunk
};
const struct wire_api wire_rerank = {
	"rerank", WIRE_OPENAI, 0, 0, 0,
	wire_rerank_parse, wire_rerank_reply, NULL
};
const struct wire_api wire_openai_responses = {
	"openai-responses", WIRE_OPENAI, 1, 1, 1,
	wire_responses_parse, wire_responses_reply, wire_responses_chunk
};
const struct wire_api wire_ollama_chat = {
	"ollama-chat", WIRE_OLLAMA, 0, 0, 0,
	wire_ollama_chat_parse, wire_ollama_chat_reply, wire_ollama_chat_chunk
};
const struct wire_api wire_ollama_generate = {
	"ollama-generate", WIRE_OLLAMA, 0, 0, 0,
	wire_ollama_generate_parse, wire_ollama_generate_reply,
	wire_ollama_generate_chunk
};
const struct wire_api wire_ollama_embed = {
	"ollama-embed", WIRE_OLLAMA, 0, 0, 0,
	wire_check_input, wire_ollama_embed_reply, NULL
};

/* --- errors and listings ------------------------------------------------- */

static const struct wire_status *
wire_status_find(int status)
{
	size_t	i;

	for (i = 0; i < sizeof(wire_statuses) / sizeof(*wire_statuses); i++) {
		if (wire_statuses[i].status == status)
			return &wire_statuses[i];
	}
	return NULL;
}

/* The reason phrase for status, or NULL to let libevent choose. */
const char *
wire_reason(int status)
{
	const struct wire_status	*ws = wire_status_find(status);

	return ws != NULL ? ws->reason : NULL;
}

/*
 * An error body with HTTP status. message NULL means an injected status=N:
 * OpenAI's own message, type and code for it. Caller owns the result.
 */
cJSON *
wire_error(enum wire_kind kind, int status, const char *message)
{
	const struct wire_status	*ws = wire_status_find(status);
	cJSON				*o, *e;
	char				 generic[64];
	int				 injected = message == NULL;

	if (message == NULL) {
		snprintf(generic, sizeof(generic), "fake-llm status=%d", status);
		message = ws != NULL ? ws->message : generic;
	}

	o = cJSON_CreateObject();
	if (kind == WIRE_OLLAMA) {
		cJSON_AddStringToObject(o, "error", message);
		return o;
	}
	e = cJSON_AddObjectToObject(o, "error");
	cJSON_AddStringToObject(e, "message", message);
	if (ws != NULL)
		cJSON_AddStringToObject(e, "type", ws->type);
	else
		cJSON_AddStringToObject(e, "type", status >= 500 ?
		    "server_error" : "invalid_request_error");
	cJSON_AddNullToObject(e, "param");
	if (injected && ws != NULL && ws->code != NULL)
		cJSON_AddStringToObject(e, "code", ws->code);
	else
		cJSON_AddNullToObject(e, "code");
	return o;
}

/* One entry of GET /v1/models. */
cJSON *
wire_model(const char *id)
{
	cJSON	*m = cJSON_CreateObject();

	cJSON_AddStringToObject(m, "id", id);
	cJSON_AddStringToObject(m, "object", "model");
	wire_add_int(m, "created", WIRE_MODELS_CREATED);
	cJSON_AddStringToObject(m, "owned_by", "fake-llm");
	return m;
}

cJSON *
wire_models(void)
{
	cJSON	*o = cJSON_CreateObject(), *data;
	size_t	 i;

	cJSON_AddStringToObject(o, "object", "list");
	data = cJSON_AddArrayToObject(o, "data");
	for (i = 0; i < sizeof(wire_model_names) / sizeof(*wire_model_names);
	    i++)
		cJSON_AddItemToArray(data, wire_model(wire_model_names[i]));
	return o;
}

cJSON *
wire_tags(void)
{
	cJSON		*o = cJSON_CreateObject(), *models, *m, *d, *fam;
	char		 digest[65];
	uint64_t	 h;
	size_t		 i;
	int		 j;

	models = cJSON_AddArrayToObject(o, "models");
	for (i = 0; i < sizeof(wire_model_names) / sizeof(*wire_model_names);
	    i++) {
		for (j = 0; j < 4; j++) {
			h = wire_hash(wire_model_names[i], j);
			snprintf(digest + j * 16, 17, "%016llx",
			    (unsigned long long)h);
		}
		m = cJSON_CreateObject();
		cJSON_AddStringToObject(m, "name", wire_model_names[i]);
		cJSON_AddStringToObject(m, "model", wire_model_names[i]);
		cJSON_AddStringToObject(m, "modified_at",
		    "2024-01-01T00:00:00.000000000Z");
		wire_add_int(m, "size", 1000000 * (long long)(i + 1));
		cJSON_AddStringToObject(m, "digest", digest);
		d = cJSON_AddObjectToObject(m, "details");
		cJSON_AddStringToObject(d, "parent_model", "");
		cJSON_AddStringToObject(d, "format", "gguf");
		cJSON_AddStringToObject(d, "family", "fake");
		fam = cJSON_AddArrayToObject(d, "families");
		cJSON_AddItemToArray(fam, cJSON_CreateString("fake"));
		cJSON_AddStringToObject(d, "parameter_size", "1M");
		cJSON_AddStringToObject(d, "quantization_level", "Q4_0");
		cJSON_AddItemToArray(models, m);
	}
	return o;
}

cJSON *
wire_version(void)
{
	cJSON	*o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "version", "0.6.0");
	return o;
}
