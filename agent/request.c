/*
 * The one scan of an inference request's body, on the worker thread that
 * received it: strict JSON (no key twice in one object, at any depth),
 * the members the pipeline needs, and every text the backend will read.
 *
 * What is text: every string value, every object key and every number,
 * except
 *   - a value under a structural key that checks out as such: "role" one
 *     of the roles, "type" one of the types (and a few other keys with
 *     their own words: "detail", "tool_choice", "format"...), media under
 *     "images", "data", "url", "image_url" or "file_data" that decodes to
 *     an image, audio or PDF header; anything else under those keys is
 *     text like any other;
 *   - keys that are the API's and JSON Schema's own words ("content",
 *     "properties"...): they say nothing the client chose; every other
 *     key is text (a tool's parameter names are read by the model);
 *   - numbers that are settings: at top level, under a settings key
 *     ("seed", "minimum"...) or directly inside "options" or "logit_bias";
 *   - the top-level "model", which the backend never sees.
 * Numbers in a top-level "prompt", "input" or "context" are token ids:
 * no guardrail can read them, so token_ids says they are there. Ids
 * ("id", "tool_call_id") are text: a client picks them, any string can
 * be id-shaped, and chat templates show them to the model.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "jscan.h"
#include "xmalloc.h"

/* What makes the value under a known key structural. */
enum request_check {
	REQUEST_PLAIN,		/* nothing: strings under it are text */
	REQUEST_WORDS,		/* one of the key's words */
	REQUEST_MEDIA,		/* base64 media, or a data: URL of it */
	REQUEST_NUMBER,		/* a number is a setting, not text */
	REQUEST_PARAMS,		/* numbers right inside it are settings */
};

/* The top-level members the pipeline reads. */
enum request_field {
	FIELD_NONE,
	FIELD_MODEL,
	FIELD_STREAM,
	FIELD_STREAM_OPTIONS,
	FIELD_TEMPERATURE,
	FIELD_MAX_TOKENS,
	FIELD_MAX_COMPLETION_TOKENS,
	FIELD_MESSAGES,
	FIELD_PROMPT,
	FIELD_INPUT,
	FIELD_OPTIONS,
	FIELD_SYSTEM,
	FIELD_MAX_OUTPUT_TOKENS,	/* the Responses API's */
	FIELD_INSTRUCTIONS,
	FIELD_N,		/* choices */
	FIELD_LOGPROBS,
	FIELD_TOP_LOGPROBS,
	FIELD_FUNCTIONS,	/* the deprecated function calling */
	FIELD_AUDIO,
	FIELD_MODALITIES,
	FIELD_CONTEXT,		/* Ollama's token ids */
	FIELD_OTHER,
};

static const size_t request_field_span[] = {
	[FIELD_MODEL] = offsetof(struct request, model),
	[FIELD_STREAM] = offsetof(struct request, stream),
	[FIELD_STREAM_OPTIONS] = offsetof(struct request, stream_options),
	[FIELD_TEMPERATURE] = offsetof(struct request, temperature),
	[FIELD_MAX_TOKENS] = offsetof(struct request, max_tokens),
	[FIELD_MAX_COMPLETION_TOKENS] =
	    offsetof(struct request, max_completion_tokens),
	[FIELD_MESSAGES] = offsetof(struct request, messages),
	[FIELD_PROMPT] = offsetof(struct request, prompt),
	[FIELD_INPUT] = offsetof(struct request, input),
	[FIELD_OPTIONS] = offsetof(struct request, options),
	[FIELD_SYSTEM] = offsetof(struct request, system),
	[FIELD_MAX_OUTPUT_TOKENS] = offsetof(struct request, max_output_tokens),
	[FIELD_INSTRUCTIONS] = offsetof(struct request, instructions),
	[FIELD_N] = offsetof(struct request, n),
	[FIELD_LOGPROBS] = offsetof(struct request, logprobs),
	[FIELD_TOP_LOGPROBS] = offsetof(struct request, top_logprobs),
	[FIELD_FUNCTIONS] = offsetof(struct request, functions),
	[FIELD_AUDIO] = offsetof(struct request, audio),
	[FIELD_MODALITIES] = offsetof(struct request, modalities),
};

/* Word lists, sorted (strcmp order) for bsearch. */
struct request_words {
	const char *const	*w;
	size_t			 n;
};
#define REQUEST_WORDS(a)	{ a, sizeof(a) / sizeof(a[0]) }
static const char *const request_roles_w[] = {
	"assistant", "developer", "function", "system", "tool", "user"
};
static const struct request_words request_roles =
    REQUEST_WORDS(request_roles_w);
static const char *const request_types_w[] = {
	"approximate", "array", "boolean", "content", "custom", "file",
	"function", "image", "image_url", "input_audio", "input_file",
	"input_image", "input_text", "integer", "json_object", "json_schema",
	"null", "number", "object", "output_text", "refusal", "string", "text",
	"tool_result", "tool_use"
};
static const struct request_words request_types =
    REQUEST_WORDS(request_types_w);
static const char *const request_details_w[] = { "auto", "high", "low" };
static const struct request_words request_details =
    REQUEST_WORDS(request_details_w);
static const char *const request_encodings_w[] = { "base64", "float" };
static const struct request_words request_encodings =
    REQUEST_WORDS(request_encodings_w);
static const char *const request_formats_w[] = {
	"aac", "date", "date-time", "duration", "email", "flac", "float",
	"hostname", "int32", "int64", "ipv4", "ipv6", "json", "mp3", "opus",
	"pcm16", "time", "uri", "uuid", "wav"
};
static const struct request_words request_formats =
    REQUEST_WORDS(request_formats_w);
static const char *const request_auto_none_w[] = { "auto", "none" };
static const struct request_words request_auto_none =
    REQUEST_WORDS(request_auto_none_w);
static const char *const request_modalities_w[] = { "audio", "text" };
static const struct request_words request_modalities =
    REQUEST_WORDS(request_modalities_w);
static const char *const request_efforts_w[] = {
	"high", "low", "medium", "minimal"
};
static const struct request_words request_efforts =
    REQUEST_WORDS(request_efforts_w);
static const char *const request_tiers_w[] = {
	"auto", "default", "flex", "priority", "scale"
};
static const struct request_words request_tiers =
    REQUEST_WORDS(request_tiers_w);
static const char *const request_levels_w[] = { "high", "low", "medium" };
static const struct request_words request_levels =
    REQUEST_WORDS(request_levels_w);
static const char *const request_system_w[] = { "developer", "system" };
static const struct request_words request_system =
    REQUEST_WORDS(request_system_w);
static const char *const request_choices_w[] = {
	"auto", "none", "required"
};
static const struct request_words request_choices =
    REQUEST_WORDS(request_choices_w);

/*
 * The API's and JSON Schema's own keys, sorted (strcmp order). A key
 * listed here is not text itself; check says what its value may be.
 */
static const struct request_key {
	const char		*name;
	enum request_check	 check;
	const struct request_words *words;
	enum request_field	 field;		/* at top level */
} request_keys[] = {
	{ "$defs", REQUEST_PLAIN, NULL, 0 },
	{ "$ref", REQUEST_PLAIN, NULL, 0 },
	{ "$schema", REQUEST_PLAIN, NULL, 0 },
	{ "additionalProperties", REQUEST_PLAIN, NULL, 0 },
	{ "allOf", REQUEST_PLAIN, NULL, 0 },
	{ "anyOf", REQUEST_PLAIN, NULL, 0 },
	{ "arguments", REQUEST_PLAIN, NULL, 0 },
	{ "audio", REQUEST_PLAIN, NULL, FIELD_AUDIO },
	{ "best_of", REQUEST_NUMBER, NULL, 0 },
	{ "const", REQUEST_PLAIN, NULL, 0 },
	{ "content", REQUEST_PLAIN, NULL, 0 },
	{ "context", REQUEST_PLAIN, NULL, FIELD_CONTEXT },
	{ "data", REQUEST_MEDIA, NULL, 0 },
	{ "default", REQUEST_PLAIN, NULL, 0 },
	{ "definitions", REQUEST_PLAIN, NULL, 0 },
	{ "description", REQUEST_PLAIN, NULL, 0 },
	{ "detail", REQUEST_WORDS, &request_details, 0 },
	{ "dimensions", REQUEST_NUMBER, NULL, 0 },
	{ "echo", REQUEST_NUMBER, NULL, 0 },
	{ "encoding_format", REQUEST_WORDS, &request_encodings, 0 },
	{ "enum", REQUEST_PLAIN, NULL, 0 },
	{ "examples", REQUEST_PLAIN, NULL, 0 },
	{ "exclusiveMaximum", REQUEST_NUMBER, NULL, 0 },
	{ "exclusiveMinimum", REQUEST_NUMBER, NULL, 0 },
	{ "file", REQUEST_PLAIN, NULL, 0 },
	{ "file_data", REQUEST_MEDIA, NULL, 0 },
	{ "file_id", REQUEST_PLAIN, NULL, 0 },
	{ "filename", REQUEST_PLAIN, NULL, 0 },
	{ "format", REQUEST_WORDS, &request_formats, 0 },
	{ "frequency_penalty", REQUEST_NUMBER, NULL, 0 },
	{ "function", REQUEST_PLAIN, NULL, 0 },
	{ "function_call", REQUEST_WORDS, &request_auto_none, 0 },
	{ "functions", REQUEST_PLAIN, NULL, FIELD_FUNCTIONS },
	{ "id", REQUEST_PLAIN, NULL, 0 },
	{ "image_url", REQUEST_MEDIA, NULL, 0 },
	{ "images", REQUEST_MEDIA, NULL, 0 },
	{ "include_usage", REQUEST_PLAIN, NULL, 0 },
	{ "input", REQUEST_PLAIN, NULL, FIELD_INPUT },
	{ "input_audio", REQUEST_PLAIN, NULL, 0 },
	{ "instructions", REQUEST_PLAIN, NULL, FIELD_INSTRUCTIONS },
	{ "items", REQUEST_PLAIN, NULL, 0 },
	{ "json_schema", REQUEST_PLAIN, NULL, 0 },
	{ "keep_alive", REQUEST_NUMBER, NULL, 0 },
	{ "logit_bias", REQUEST_PARAMS, NULL, 0 },
	{ "logprobs", REQUEST_NUMBER, NULL, FIELD_LOGPROBS },
	{ "maxItems", REQUEST_NUMBER, NULL, 0 },
	{ "maxLength", REQUEST_NUMBER, NULL, 0 },
	{ "maxProperties", REQUEST_NUMBER, NULL, 0 },
	{ "max_completion_tokens", REQUEST_NUMBER, NULL,
	    FIELD_MAX_COMPLETION_TOKENS },
	{ "max_output_tokens", REQUEST_NUMBER, NULL, FIELD_MAX_OUTPUT_TOKENS },
	{ "max_tokens", REQUEST_NUMBER, NULL, FIELD_MAX_TOKENS },
	{ "maximum", REQUEST_NUMBER, NULL, 0 },
	{ "messages", REQUEST_PLAIN, NULL, FIELD_MESSAGES },
	{ "metadata", REQUEST_PLAIN, NULL, 0 },
	{ "minItems", REQUEST_NUMBER, NULL, 0 },
	{ "minLength", REQUEST_NUMBER, NULL, 0 },
	{ "minProperties", REQUEST_NUMBER, NULL, 0 },
	{ "min_p", REQUEST_NUMBER, NULL, 0 },
	{ "minimum", REQUEST_NUMBER, NULL, 0 },
	{ "modalities", REQUEST_WORDS, &request_modalities,
	    FIELD_MODALITIES },
	{ "model", REQUEST_PLAIN, NULL, FIELD_MODEL },
	{ "multipleOf", REQUEST_NUMBER, NULL, 0 },
	{ "n", REQUEST_NUMBER, NULL, FIELD_N },
	{ "name", REQUEST_PLAIN, NULL, 0 },
	{ "not", REQUEST_PLAIN, NULL, 0 },
	{ "nullable", REQUEST_PLAIN, NULL, 0 },
	{ "num_ctx", REQUEST_NUMBER, NULL, 0 },
	{ "num_predict", REQUEST_NUMBER, NULL, 0 },
	{ "oneOf", REQUEST_PLAIN, NULL, 0 },
	{ "options", REQUEST_PARAMS, NULL, FIELD_OPTIONS },
	{ "parallel_tool_calls", REQUEST_PLAIN, NULL, 0 },
	{ "parameters", REQUEST_PLAIN, NULL, 0 },
	{ "pattern", REQUEST_PLAIN, NULL, 0 },
	{ "patternProperties", REQUEST_PLAIN, NULL, 0 },
	{ "prediction", REQUEST_PLAIN, NULL, 0 },
	{ "prefixItems", REQUEST_PLAIN, NULL, 0 },
	{ "presence_penalty", REQUEST_NUMBER, NULL, 0 },
	{ "prompt", REQUEST_PLAIN, NULL, FIELD_PROMPT },
	{ "properties", REQUEST_PLAIN, NULL, 0 },
	{ "propertyNames", REQUEST_PLAIN, NULL, 0 },
	{ "raw", REQUEST_PLAIN, NULL, 0 },
	{ "reasoning_effort", REQUEST_WORDS, &request_efforts, 0 },
	{ "refusal", REQUEST_PLAIN, NULL, 0 },
	{ "repeat_penalty", REQUEST_NUMBER, NULL, 0 },
	{ "required", REQUEST_PLAIN, NULL, 0 },
	{ "response_format", REQUEST_PLAIN, NULL, 0 },
	{ "role", REQUEST_WORDS, &request_roles, 0 },
	{ "schema", REQUEST_PLAIN, NULL, 0 },
	{ "seed", REQUEST_NUMBER, NULL, 0 },
	{ "service_tier", REQUEST_WORDS, &request_tiers, 0 },
	{ "stop", REQUEST_PLAIN, NULL, 0 },
	{ "store", REQUEST_PLAIN, NULL, 0 },
	{ "stream", REQUEST_PLAIN, NULL, FIELD_STREAM },
	{ "stream_options", REQUEST_PLAIN, NULL, FIELD_STREAM_OPTIONS },
	{ "strict", REQUEST_PLAIN, NULL, 0 },
	{ "suffix", REQUEST_PLAIN, NULL, 0 },
	{ "system", REQUEST_PLAIN, NULL, FIELD_SYSTEM },
	{ "temperature", REQUEST_NUMBER, NULL, FIELD_TEMPERATURE },
	{ "template", REQUEST_PLAIN, NULL, 0 },
	{ "text", REQUEST_PLAIN, NULL, 0 },
	{ "think", REQUEST_WORDS, &request_levels, 0 },
	{ "thinking", REQUEST_PLAIN, NULL, 0 },
	{ "title", REQUEST_PLAIN, NULL, 0 },
	{ "tool_call_id", REQUEST_PLAIN, NULL, 0 },
	{ "tool_calls", REQUEST_PLAIN, NULL, 0 },
	{ "tool_choice", REQUEST_WORDS, &request_choices, 0 },
	{ "tool_name", REQUEST_PLAIN, NULL, 0 },
	{ "tools", REQUEST_PLAIN, NULL, 0 },
	{ "top_k", REQUEST_NUMBER, NULL, 0 },
	{ "top_logprobs", REQUEST_NUMBER, NULL, FIELD_TOP_LOGPROBS },
	{ "top_p", REQUEST_NUMBER, NULL, 0 },
	{ "truncate", REQUEST_PLAIN, NULL, 0 },
	{ "type", REQUEST_WORDS, &request_types, 0 },
	{ "uniqueItems", REQUEST_PLAIN, NULL, 0 },
	{ "url", REQUEST_MEDIA, NULL, 0 },
	{ "user", REQUEST_PLAIN, NULL, 0 },
	{ "voice", REQUEST_PLAIN, NULL, 0 },
};
#define REQUEST_NKEYS	(sizeof(request_keys) / sizeof(request_keys[0]))
#define REQUEST_WORD_MAX	32	/* longer than any listed word or key */

/* Where the walk is: one frame per open object or array. */
struct request_frame {
	int			 array;
	int			 member;	/* object: the key just read */
	int			 holder;	/* the key whose value it is */
	enum request_field	 field;		/* inside which top member */
	int			 params;	/* numbers right in it: settings */
	struct jscan_span	*slot;		/* object: where the value goes */
};

struct request_walk {
	struct request		*rq;
	struct request_frame	 frame[REQUEST_MAX_DEPTH + 1];
};

/* Media headers a base64 payload may start with. */
static const struct {
	size_t		 at;
	const char	*magic;
	size_t		 len;
} request_magics[] = {
	{ 0, "\x89PNG\r\n\x1a\n", 8 },
	{ 0, "\xff\xd8\xff", 3 },		/* JPEG */
	{ 0, "GIF8", 4 },
	{ 0, "RIFF", 4 },			/* WebP, WAV */
	{ 0, "ID3", 3 },			/* MP3 */
	{ 0, "OggS", 4 },
	{ 0, "fLaC", 4 },
	{ 0, "\x1a\x45\xdf\xa3", 4 },		/* WebM */
	{ 0, "%PDF-", 5 },
	{ 4, "ftyp", 4 },			/* MP4, M4A, HEIC */
};
#define REQUEST_MEDIA_MIN	16	/* base64 characters at least */

/* A short string's content, unescaped, in w[REQUEST_WORD_MAX]; or -1. */
static ssize_t
request_word(const char *body, const struct jscan_span *s, int escaped,
    char *w)
{
	size_t	n = s->end - s->start - 2;

	if (n >= REQUEST_WORD_MAX * 6)
		return -1;
	if (escaped)
		return jscan_string(body, s, w, REQUEST_WORD_MAX);
	if (n >= REQUEST_WORD_MAX)
		return -1;
	memcpy(w, body + s->start + 1, n);
	w[n] = '\0';
	return n;
}

static int
request_key_cmp(const void *a, const void *b)
{
	return strcmp(a, ((const struct request_key *)b)->name);
}

/* A known key's index, or -1. */
static int
request_key_find(const char *body, const struct jscan_token *t)
{
	const struct request_key	*k;
	char				 w[REQUEST_WORD_MAX];
	ssize_t				 n;

	if ((n = request_word(body, &t->span, t->escaped, w)) <= 0 ||
	    (t->escaped && strlen(w) != (size_t)n))
		return -1;
	k = bsearch(w, request_keys, REQUEST_NKEYS, sizeof(request_keys[0]),
	    request_key_cmp);
	return k == NULL ? -1 : (int)(k - request_keys);
}

static int
request_word_cmp(const void *a, const void *b)
{
	return strcmp(a, *(const char *const *)b);
}

/* Is the string one of words? */
static int
request_is_word(const char *body, const struct jscan_token *t,
    const struct request_words *words)
{
	char	 w[REQUEST_WORD_MAX];
	ssize_t	 n;

	if ((n = request_word(body, &t->span, t->escaped, w)) <= 0 ||
	    (t->escaped && strlen(w) != (size_t)n))
		return 0;
	return bsearch(w, words->w, words->n, sizeof(words->w[0]),
	    request_word_cmp) != NULL;
}

static int
request_b64(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Is s[0..n) (a string's raw content, where only "\/" may be escaped)
 * base64 whose bytes start with a media header?
 */
static int
request_base64_media(const char *s, size_t n)
{
	unsigned char	head[12];
	size_t		i, nchars = 0, nhead = 0, pad = 0, k;
	unsigned	acc = 0;
	int		v, bits = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '\\') {
			if (i + 1 >= n || s[i + 1] != '/')
				return 0;
			i++;
		}
		if (s[i] == '=') {
			if (++pad > 2)
				return 0;
			continue;
		}
		if (pad > 0 || (v = request_b64((unsigned char)s[i])) < 0)
			return 0;
		nchars++;
		if (nhead < sizeof(head)) {
			acc = (acc << 6) | (unsigned)v;
			if ((bits += 6) >= 8) {
				bits -= 8;
				head[nhead++] = (acc >> bits) & 0xff;
			}
		}
	}
	if (nchars < REQUEST_MEDIA_MIN || (nchars + pad) % 4 == 1 ||
	    (pad > 0 && (nchars + pad) % 4 != 0))
		return 0;
	for (k = 0; k < sizeof(request_magics) / sizeof(request_magics[0]);
	    k++)
		if (request_magics[k].at + request_magics[k].len <= nhead &&
		    memcmp(head + request_magics[k].at, request_magics[k].magic,
		    request_magics[k].len) == 0)
			return 1;
	return 0;
}

/* Base64 media, or a data: URL of it ("data:image/png;base64,..."). */
static int
request_media(const char *s, size_t n)
{
	size_t	i;

	if (n < 5 || memcmp(s, "data:", 5) != 0)
		return request_base64_media(s, n);
	for (i = 5; i < n && i < 128 && s[i] != ','; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    strchr("/\\;=.+-", s[i]) != NULL))
			return 0;
	if (i >= n || s[i] != ',' || i < 12 ||
	    memcmp(s + i - 7, ";base64", 7) != 0)
		return 0;
	return request_base64_media(s + i + 1, n - i - 1);
}

/* Does the string under known key k check out as structural? */
static int
request_structural(const char *body, const struct jscan_token *t, int k)
{
	const struct request_key	*key = &request_keys[k];

	switch (key->check) {
	case REQUEST_WORDS:
		return request_is_word(body, t, key->words);
	case REQUEST_MEDIA:
		return request_media(body + t->span.start + 1,
		    t->span.end - t->span.start - 2);
	default:
		return 0;
	}
}

static void
request_add_text(struct request *rq, const struct jscan_token *t,
    uint32_t flags)
{
	struct request_text	*a;

	if (rq->texts == NULL && rq->ntexts == REQUEST_TEXTS_INLINE) {
		rq->textcap = 4 * REQUEST_TEXTS_INLINE;
		rq->texts = xreallocarray(NULL, rq->textcap,
		    sizeof(*rq->texts));
		memcpy(rq->texts, rq->texts_inline, sizeof(rq->texts_inline));
	} else if (rq->texts != NULL && rq->ntexts == rq->textcap) {
		rq->texts = xreallocarray(rq->texts, rq->textcap,
		    2 * sizeof(*rq->texts));
		rq->textcap *= 2;
	}
	a = rq->texts != NULL ? rq->texts : rq->texts_inline;
	a[rq->ntexts].start = t->span.start;
	a[rq->ntexts].end = t->span.end;
	a[rq->ntexts].flags = flags | (t->escaped ? REQUEST_TEXT_ESCAPED : 0);
	rq->ntexts++;
}

/* A member's value of the object at depth: into its slot, if it has one. */
static void
request_fill(struct request_frame *f, const struct jscan_span *v)
{
	if (f->slot == NULL)
		return;
	*f->slot = *v;
	f->slot->present = 1;
	f->slot = NULL;
}

/*
 * A value at depth: one message (or prompt, or input) when it is a
 * top-level member's, or an element of a top-level array of them.
 */
static void
request_count(struct request_walk *w, int depth)
{
	enum request_field	f = w->frame[1].member >= 0 ?
				    request_keys[w->frame[1].member].field :
				    FIELD_OTHER;

	if (depth == 1 ? (f == FIELD_MESSAGES || f == FIELD_PROMPT ||
	    f == FIELD_INPUT || f == FIELD_SYSTEM) : (depth == 2 &&
	    w->frame[2].array && (w->frame[2].field == FIELD_MESSAGES ||
	    w->frame[2].field == FIELD_PROMPT ||
	    w->frame[2].field == FIELD_INPUT ||
	    w->frame[2].field == FIELD_SYSTEM)))
		w->rq->nmessages++;
}

static void
request_key(struct request_walk *w, const struct jscan_token *t)
{
	struct request		*rq = w->rq;
	struct request_frame	*f = &w->frame[t->depth];
	const char		*name;
	int			 k;

	k = f->member = request_key_find(rq->body, t);
	if (k < 0)
		request_add_text(rq, t, REQUEST_TEXT_KEY);
	f->slot = NULL;
	if (t->depth == 1) {
		if (k >= 0 && request_keys[k].field != FIELD_NONE &&
		    request_keys[k].field < FIELD_CONTEXT)
			f->slot = (struct jscan_span *)((char *)rq +
			    request_field_span[request_keys[k].field]);
		return;
	}
	if (t->depth != 2 || k < 0)
		return;
	name = request_keys[k].name;
	if (f->field == FIELD_STREAM_OPTIONS &&
	    strcmp(name, "include_usage") == 0)
		f->slot = &rq->include_usage;
	else if (f->field == FIELD_OPTIONS && strcmp(name, "temperature") == 0)
		f->slot = &rq->options_temperature;
	else if (f->field == FIELD_OPTIONS && strcmp(name, "num_predict") == 0)
		f->slot = &rq->num_predict;
}

static void
request_open(struct request_walk *w, const struct jscan_token *t)
{
	struct request_frame	*f = &w->frame[t->depth], *up;

	memset(f, 0, sizeof(*f));
	f->array = t->span.type == JSCAN_ARRAY;
	f->member = f->holder = -1;
	if (t->depth == 1)
		return;
	up = &w->frame[t->depth - 1];
	f->holder = up->array ? up->holder : up->member;
	f->field = t->depth == 2 ? (up->member >= 0 &&
	    request_keys[up->member].field != FIELD_NONE ?
	    request_keys[up->member].field : FIELD_OTHER) : up->field;
	f->params = f->holder >= 0 &&
	    request_keys[f->holder].check == REQUEST_PARAMS;
	/* A top-level array counts its elements, not itself. */
	if (t->depth != 2 || !f->array)
		request_count(w, t->depth - 1);
}

static void
request_value(struct request_walk *w, const struct jscan_token *t)
{
	struct request		*rq = w->rq;
	struct request_frame	*f = &w->frame[t->depth];
	enum request_field	 field;
	int			 holder;

	holder = f->array ? f->holder : f->member;
	field = t->depth > 1 ? f->field : holder >= 0 &&
	    request_keys[holder].field != FIELD_NONE ?
	    request_keys[holder].field : FIELD_OTHER;
	if (!f->array)
		request_fill(f, &t->span);
	request_count(w, t->depth);
	switch (t->span.type) {
	case JSCAN_STRING:
		if (t->depth == 1 && field == FIELD_MODEL)
			return;		/* replaced: the backend never sees it */
		if (holder >= 0 && request_structural(rq->body, t, holder)) {
			/* A message's role says whether one is a system's. */
			if (t->depth == 3 && (field == FIELD_MESSAGES ||
			    field == FIELD_INPUT) &&
			    w->frame[2].array && !f->array &&
			    strcmp(request_keys[holder].name, "role") == 0 &&
			    request_is_word(rq->body, t, &request_system))
				rq->has_system = 1;
			return;
		}
		request_add_text(rq, t, 0);
		rq->prompt_bytes += t->span.end - t->span.start - 2;
		return;
	case JSCAN_NUMBER:
		if (field == FIELD_PROMPT || field == FIELD_INPUT ||
		    field == FIELD_CONTEXT) {
			rq->token_ids = 1;
			return;
		}
		if (t->depth == 1 || f->params || (holder >= 0 &&
		    request_keys[holder].check == REQUEST_NUMBER))
			return;
		request_add_text(rq, t, REQUEST_TEXT_NUMBER);
		return;
	default:
		return;
	}
}

static int
request_step(void *arg, const struct jscan_token *t)
{
	struct request_walk	*w = arg;

	switch (t->step) {
	case JSCAN_KEY:
		request_key(w, t);
		break;
	case JSCAN_OPEN:
		request_open(w, t);
		break;
	case JSCAN_VALUE:
		request_value(w, t);
		break;
	case JSCAN_CLOSE:
		if (t->depth > 1 && !w->frame[t->depth - 1].array)
			request_fill(&w->frame[t->depth - 1], &t->span);
		break;
	}
	return 0;
}

/*
 * A token cap as the backend will read it: any JSON number that is an
 * integer from min to REQUEST_MAX_TOKENS. Returns 0, or -1 with err set.
 */
static int
request_cap(const struct request *rq, const struct jscan_span *v,
    const char *name, int64_t min, int64_t *out, char *err, size_t errlen)
{
	if (!v->present || v->type == JSCAN_NULL)
		return 0;
	if (v->type != JSCAN_NUMBER || jscan_integer(rq->body, v, out) != 0 ||
	    *out < min || *out > REQUEST_MAX_TOKENS) {
		snprintf(err, errlen, "'%s' must be an integer from %lld to %d",
		    name, (long long)min, REQUEST_MAX_TOKENS);
		return -1;
	}
	return 0;
}

/* The caps the client set, checked; the largest the backend will read. */
static int
request_caps(struct request *rq, int ollama, char *err, size_t errlen)
{
	int64_t	a = -1, b = -1, c = -1;

	if (ollama) {
		if (rq->options.present && rq->options.type != JSCAN_OBJECT &&
		    rq->options.type != JSCAN_NULL) {
			rq->param = "options";
			snprintf(err, errlen, "'options' must be an object");
			return -1;
		}
		/* -1 and -2 are Ollama's "no limit": as if it were unset. */
		rq->param = "options.num_predict";
		if (request_cap(rq, &rq->num_predict, "num_predict", -2, &a,
		    err, errlen) == -1)
			return -1;
		rq->max_output = a >= 0 ? a : -1;
		rq->param = NULL;
		return 0;
	}
	rq->param = "max_tokens";
	if (request_cap(rq, &rq->max_tokens, "max_tokens", 0, &a, err,
	    errlen) == -1)
		return -1;
	rq->param = "max_completion_tokens";
	if (request_cap(rq, &rq->max_completion_tokens,
	    "max_completion_tokens", 0, &b, err, errlen) == -1)
		return -1;
	rq->param = "max_output_tokens";
	if (request_cap(rq, &rq->max_output_tokens, "max_output_tokens", 0, &c,
	    err, errlen) == -1)
		return -1;
	rq->param = NULL;
	rq->max_output = a > b ? a : b;
	if (c > rq->max_output)
		rq->max_output = c;
	return 0;
}

int
request_scan(struct request *rq, const char *body, size_t len, int ollama,
    char *err, size_t errlen)
{
	struct request_walk	w;

	/* Start afresh, keeping what an earlier scan grew. */
	memset(rq, 0, offsetof(struct request, texts));
	rq->ntexts = 0;
	rq->body = body;
	rq->len = len;
	rq->max_output = -1;
	rq->ollama = ollama;
	w.rq = rq;
	if (jscan_walk(body, len, REQUEST_MAX_DEPTH, &rq->keys, request_step,
	    &w, err, errlen) == -1)
		return -1;
	return request_caps(rq, ollama, err, errlen);
}

void
request_clear(struct request *rq)
{
	jscan_keys_free(&rq->keys);
	free(rq->texts);
	free(rq->scratch);
	memset(rq, 0, sizeof(*rq));
}

const struct request_text *
request_texts(const struct request *rq, size_t *n)
{
	*n = rq->ntexts;
	return rq->texts != NULL ? rq->texts : rq->texts_inline;
}

const char *
request_text(struct request *rq, const struct request_text *t, size_t *len)
{
	struct jscan_span	s = { JSCAN_STRING, t->start, t->end, 1 };
	ssize_t			n;

	if (t->flags & REQUEST_TEXT_NUMBER) {
		*len = t->end - t->start;
		return rq->body + t->start;
	}
	if (!(t->flags & REQUEST_TEXT_ESCAPED)) {
		*len = t->end - t->start - 2;
		return rq->body + t->start + 1;
	}
	/* Unescaped, a string is never longer than its span. */
	if (rq->scratchcap < t->end - t->start) {
		rq->scratchcap = t->end - t->start;
		free(rq->scratch);
		rq->scratch = xmalloc(rq->scratchcap);
	}
	if ((n = jscan_string(rq->body, &s, rq->scratch, rq->scratchcap)) < 0)
		n = 0;		/* cannot happen: a validated string */
	*len = n;
	return rq->scratch;
}

char *
request_apply(const char *body, size_t len, struct request_splice *sp,
    size_t n, size_t *out_len)
{
	char	*out;
	size_t	 i, total, pos;

	/* In body order, stable: an insertion sort (n is small or sorted). */
	for (i = 1; i < n; i++) {
		struct request_splice	 tmp = sp[i];
		size_t			 j;

		for (j = i; j > 0 && sp[j - 1].at > tmp.at; j--)
			sp[j] = sp[j - 1];
		sp[j] = tmp;
	}
	for (total = len, i = 0; i < n; i++)
		total += sp[i].ins_len - sp[i].cut;
	out = xmalloc(total + 1);
	for (pos = 0, total = 0, i = 0; i < n; i++) {
		memcpy(out + total, body + pos, sp[i].at - pos);
		total += sp[i].at - pos;
		memcpy(out + total, sp[i].ins, sp[i].ins_len);
		total += sp[i].ins_len;
		pos = sp[i].at + sp[i].cut;
	}
	memcpy(out + total, body + pos, len - pos);
	total += len - pos;
	out[total] = '\0';
	*out_len = total;
	return out;
}

/* Where an offset of the old body is in the new one. */
static size_t
request_move(size_t p, const struct request_splice *sp, size_t n)
{
	size_t	i;
	ssize_t	delta = 0;

	for (i = 0; i < n && sp[i].at + sp[i].cut <= p; i++)
		delta += (ssize_t)sp[i].ins_len - (ssize_t)sp[i].cut;
	return p + delta;
}

void
request_rebase(struct request *rq, const char *body, size_t len,
    const struct request_splice *sp, size_t n)
{
	struct jscan_span	*spans[] = {
		&rq->model, &rq->stream, &rq->stream_options, &rq->temperature,
		&rq->max_tokens, &rq->max_completion_tokens, &rq->messages,
		&rq->prompt, &rq->input, &rq->options, &rq->system,
		&rq->include_usage, &rq->options_temperature, &rq->num_predict,
		&rq->max_output_tokens, &rq->instructions,
	};
	size_t			 i;

	for (i = 0; i < sizeof(spans) / sizeof(spans[0]); i++) {
		if (!spans[i]->present)
			continue;
		spans[i]->start = request_move(spans[i]->start, sp, n);
		spans[i]->end = request_move(spans[i]->end, sp, n);
	}
	rq->body = body;
	rq->len = len;
	rq->ntexts = 0;
}
