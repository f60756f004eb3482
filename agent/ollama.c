/*
 * Ollama's API on /api/... and /proxy/DOMAIN/api/...: the routes that are
 * no inference (version, tags, ps, show), its error shape, and what a
 * stream line says about text and usage. Inference goes through proxy.c's
 * pipeline like any other; this file only knows the wire format. Runs on
 * the worker loops.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "agent.h"
#include "jscan.h"
#include "log.h"
#include "xmalloc.h"

#define OLLAMA_MAX_DEPTH	64

/*
 * What /api/version says. Clients gate features on it: 0.9.0 is the first
 * release with everything Cube serves on these routes (tools, streamed
 * tool calls 0.8, structured outputs 0.5, /api/embed 0.3, think 0.9) and
 * clears the floors clients set (VS Code's Copilot asks for 0.6.4), while
 * not claiming what later releases added and Cube does not serve (web
 * search, /api/create from blobs, image generation).
 */
#define OLLAMA_VERSION		"0.9.0"

/* A model in /api/ps stays loaded: Ollama's "Forever" (keep_alive -1). */
#define OLLAMA_NEVER_EXPIRES	"9999-12-31T23:59:59Z"

/* The longest model name a 404 repeats. */
#define OLLAMA_NAME_ECHO	128	/* ollama_error_body keeps 170 */

void
ollama_time(char buf[OLLAMA_TIME_LEN], int64_t sec, long nsec)
{
	struct tm	 tm;
	time_t		 t = (time_t)sec;
	char		 frac[16];
	size_t		 n;
	int		 i;

	if (gmtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	n = strftime(buf, OLLAMA_TIME_LEN, "%Y-%m-%dT%H:%M:%S", &tm);
	if (nsec > 0 && nsec < 1000000000L) {
		/* Go's RFC3339Nano: the fraction without its trailing zeros. */
		snprintf(frac, sizeof(frac), ".%09ld", nsec);
		for (i = 9; frac[i] == '0'; i--)
			frac[i] = '\0';
		n += snprintf(buf + n, OLLAMA_TIME_LEN - n, "%s", frac);
	}
	snprintf(buf + n, OLLAMA_TIME_LEN - n, "Z");
}

/* cJSON builders fail only out of memory. */
static cJSON *
ollama_check(cJSON *o)
{
	if (o == NULL)
		fatalx("%s: out of memory", __func__);
	return o;
}

static void
ollama_add(cJSON *o, const char *name, cJSON *v)
{
	cJSON_AddItemToObject(o, name, ollama_check(v));
}

/* The printed body of o, which it frees; *len its length. */
static char *
ollama_print(cJSON *o, size_t *len)
{
	char	*s, *body;

	if ((s = cJSON_PrintUnformatted(o)) == NULL)
		fatalx("%s: out of memory", __func__);
	cJSON_Delete(o);
	*len = strlen(s);
	body = xstrdup(s);
	cJSON_free(s);
	return body;
}

/*
 * A stable digest for a model as Ollama's is of its manifest: SHA-256 of
 * the domain, the key and when the model last changed, so it changes when
 * the model is edited and says nothing about the backend.
 */
static void
ollama_digest(char hex[65], const struct reg_domain *d,
    const struct reg_model *m)
{
	crypto_hash_sha256_state	 st;
	unsigned char			 h[crypto_hash_sha256_BYTES];
	char				 when[32];

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const unsigned char *)d->id,
	    strlen(d->id) + 1);
	crypto_hash_sha256_update(&st, (const unsigned char *)m->key,
	    m->key_len + 1);
	snprintf(when, sizeof(when), "%" PRId64, m->updated_at);
	crypto_hash_sha256_update(&st, (const unsigned char *)when,
	    strlen(when));
	crypto_hash_sha256_final(&st, h);
	sodium_bin2hex(hex, 65, h, sizeof(h));
}

/*
 * details as ollama-js's ModelDetails types it. Cube knows no weights
 * file: format, parameter_size and quantization_level are empty; the
 * family is the provider's name, as /v1/models's owned_by.
 */
static cJSON *
ollama_details(const struct reg_model *m)
{
	cJSON	*o = ollama_check(cJSON_CreateObject());
	cJSON	*fam = ollama_check(cJSON_CreateArray());

	ollama_add(o, "parent_model", cJSON_CreateString(""));
	ollama_add(o, "format", cJSON_CreateString(""));
	ollama_add(o, "family", cJSON_CreateString(m->provider->name));
	cJSON_AddItemToArray(fam,
	    ollama_check(cJSON_CreateString(m->provider->name)));
	ollama_add(o, "families", fam);
	ollama_add(o, "parameter_size", cJSON_CreateString(""));
	ollama_add(o, "quantization_level", cJSON_CreateString(""));
	return o;
}

/* One model as /api/tags (ps: 0) or /api/ps (ps: 1) lists it. */
static cJSON *
ollama_entry(const struct reg_domain *d, const struct reg_model *m, int ps)
{
	cJSON	*o = ollama_check(cJSON_CreateObject());
	char	 digest[65], when[OLLAMA_TIME_LEN];

	ollama_digest(digest, d, m);
	ollama_time(when, m->updated_at, 0);
	ollama_add(o, "name", cJSON_CreateString(m->key));
	ollama_add(o, "model", cJSON_CreateString(m->key));
	if (!ps)
		ollama_add(o, "modified_at", cJSON_CreateString(when));
	ollama_add(o, "size", cJSON_CreateNumber(0));
	ollama_add(o, "digest", cJSON_CreateString(digest));
	ollama_add(o, "details", ollama_details(m));
	if (ps) {
		ollama_add(o, "expires_at",
		    cJSON_CreateString(OLLAMA_NEVER_EXPIRES));
		ollama_add(o, "size_vram", cJSON_CreateNumber(0));
	}
	return o;
}

/* {models: [...]}: the domain's active models the token may use. */
static char *
ollama_list_body(const struct reg_domain *d, const struct reg_token *t,
    int ps, size_t *len)
{
	cJSON	*o = ollama_check(cJSON_CreateObject());
	cJSON			*a = ollama_check(cJSON_CreateArray());
	const struct reg_model	*m;
	size_t			 i = 0;

	while ((m = model_list_next(d, t, &i)) != NULL)
		cJSON_AddItemToArray(a, ollama_entry(d, m, ps));
	ollama_add(o, "models", a);
	return ollama_print(o, len);
}

char *
ollama_tags_body(const struct reg_domain *d, const struct reg_token *t,
    size_t *len)
{
	return ollama_list_body(d, t, 0, len);
}

char *
ollama_ps_body(const struct reg_domain *d, const struct reg_token *t,
    size_t *len)
{
	return ollama_list_body(d, t, 1, len);
}

char *
ollama_version_body(size_t *len)
{
	cJSON	*o = ollama_check(cJSON_CreateObject());

	ollama_add(o, "version", cJSON_CreateString(OLLAMA_VERSION));
	return ollama_print(o, len);
}

/* {"error": msg} with status into *status. */
static char *
ollama_error_dup(int *status, int code, const char *msg, size_t *len)
{
	char	buf[1100], m[512];

	/* A copy: gcc reads ollama_error_body's strnlen bound against a literal. */
	snprintf(m, sizeof(m), "%s", msg);
	*status = code;
	*len = ollama_error_body(buf, sizeof(buf), m);
	return xstrndup(buf, *len);
}

/*
 * /api/show's answer for a model, in what ollama-js's ShowResponse and
 * Open WebUI read: the model's defaults as a Modelfile's parameters. The
 * system prompt is the operator's and stays out; so does the backend.
 */
static char *
ollama_show_model(const struct reg_model *m, size_t *len)
{
	cJSON	*o = ollama_check(cJSON_CreateObject());
	cJSON	*caps = ollama_check(cJSON_CreateArray());
	char	 temp[64] = "", predict[64] = "", when[OLLAMA_TIME_LEN];
	char	*modelfile, *params;

	if (m->has_temperature)
		snprintf(temp, sizeof(temp), "temperature %g", m->temperature);
	if (m->max_tokens > 0)
		snprintf(predict, sizeof(predict), "num_predict %" PRId64,
		    m->max_tokens);
	xasprintf(&params, "%s%s%s", temp, *temp && *predict ? "\n" : "",
	    predict);
	xasprintf(&modelfile, "# Served by Cube\nFROM %s\n%s%s%s%s%s%s",
	    m->key, *temp ? "PARAMETER " : "", temp, *temp ? "\n" : "",
	    *predict ? "PARAMETER " : "", predict, *predict ? "\n" : "");
	ollama_add(o, "modelfile", cJSON_CreateString(modelfile));
	ollama_add(o, "parameters", cJSON_CreateString(params));
	free(modelfile);
	free(params);
	ollama_add(o, "template", cJSON_CreateString("{{ .Prompt }}"));
	ollama_add(o, "details", ollama_details(m));
	ollama_add(o, "model_info", cJSON_CreateObject());
	if (m->category == MODEL_EMBEDDING)
		cJSON_AddItemToArray(caps,
		    ollama_check(cJSON_CreateString("embedding")));
	else {
		cJSON_AddItemToArray(caps,
		    ollama_check(cJSON_CreateString("completion")));
		if (m->tools)
			cJSON_AddItemToArray(caps,
			    ollama_check(cJSON_CreateString("tools")));
		if (m->vision)
			cJSON_AddItemToArray(caps,
			    ollama_check(cJSON_CreateString("vision")));
	}
	ollama_add(o, "capabilities", caps);
	ollama_time(when, m->updated_at, 0);
	ollama_add(o, "modified_at", cJSON_CreateString(when));
	return ollama_print(o, len);
}

char *
ollama_show_body(const struct reg_domain *d, const struct reg_token *t,
    const char *req, size_t reqlen, int *status, size_t *len)
{
	struct jscan_span	 model, name, *s;
	struct jscan_want	 want[] = {
		{ "model", &model },
		{ "name", &name },
	};
	const struct reg_model	*m;
	char			 err[256], msg[OLLAMA_NAME_ECHO + 64];
	char			*key;
	ssize_t			 n;
	size_t			 echo;

	if (jscan_object(req, reqlen, OLLAMA_MAX_DEPTH, want,
	    sizeof(want) / sizeof(want[0]), err, sizeof(err)) == -1)
		return ollama_error_dup(status, 400, err, len);
	s = model.present ? &model : &name;
	if (!s->present)
		return ollama_error_dup(status, 400, "model is required", len);
	if (s->type != JSCAN_STRING)
		return ollama_error_dup(status, 400, s == &model ?
		    "model must be a string" : "name must be a string", len);
	key = xmalloc(s->end - s->start + 1);
	if ((n = jscan_string(req, s, key, s->end - s->start + 1)) < 0)
		fatalx("%s: string does not fit", __func__);
	if (n == 0) {
		free(key);
		return ollama_error_dup(status, 400, "model is required", len);
	}
	/* Another domain's model and an unknown one are the same 404. */
	m = ollama_find_model(d, key, (size_t)n);
	if (m != NULL && (!m->active || !registry_token_allows(t, m)))
		m = NULL;
	if (m == NULL) {
		echo = jscan_utf8_cut(key, strnlen(key, (size_t)n),
		    OLLAMA_NAME_ECHO);
		snprintf(msg, sizeof(msg), "model '%.*s' not found",
		    (int)echo, key);
		free(key);
		return ollama_error_dup(status, 404, msg, len);
	}
	free(key);
	*status = 200;
	return ollama_show_model(m, len);
}

void
ollama_version(struct http_request *r)
{
	char	*body;
	size_t	 len;

	body = ollama_version_body(&len);
	http_reply(r, 200, "application/json", body, len, NULL);
	free(body);
}

void
ollama_ps(struct http_request *r, const struct reg_domain *d,
    const struct reg_token *t)
{
	char	*body;
	size_t	 len;

	body = ollama_ps_body(d, t, &len);
	http_reply(r, 200, "application/json", body, len, NULL);
	free(body);
}

void
ollama_show(struct http_request *r, const struct reg_domain *d,
    const struct reg_token *t, const char *req, size_t reqlen)
{
	char	*body;
	size_t	 len;
	int	 status;

	body = ollama_show_body(d, t, req, reqlen, &status, &len);
	http_reply(r, status, "application/json", body, len, NULL);
	free(body);
}

void
ollama_tags(struct http_request *r, const struct reg_domain *d,
    const struct reg_token *t)
{
	char	*body;
	size_t	 len;

	body = ollama_tags_body(d, t, &len);
	http_reply(r, 200, "application/json", body, len, NULL);
	free(body);
}

size_t
ollama_error_body(char *buf, size_t len, const char *message)
{
	char	 msg[1024];
	int	 rc;

	jscan_quote(msg, sizeof(msg), message,
	    strnlen(message, (sizeof(msg) - 3) / 6));
	rc = snprintf(buf, len, "{\"error\":%s}", msg);
	if (rc < 0)
		return 0;
	return (size_t)rc >= len ? len - 1 : (size_t)rc;
}

void
ollama_error_reply(struct http_request *r, enum api_error e,
    const char *message)
{
	char	body[1100];
	size_t	len;

	len = ollama_error_body(body, sizeof(body), message);
	http_reply(r, api_error_status(e), "application/json", body, len,
	    e == API_INVALID_API_KEY ?
	    "WWW-Authenticate: Bearer realm=\"cube\"\r\n" : NULL);
}

/*
 * One Ollama object (a whole answer or a stream line): its text span
 * (message.content for chat, response for generate, of any type), a chat
 * message's tool_calls span (of any type), whether
 * a chat's message is no object, whether it is the last ("done": true),
 * and its counts. With dups, a key twice in any object is refused.
 * Returns -1 if it is not such an object.
 */
int
ollama_scan(const char *buf, size_t len, enum route_kind route,
    struct ollama_obj *o, struct jscan_keys *dups)
{
	struct jscan_span	 message, response, thinking, done;
	struct jscan_want	 want[] = {
		{ "message", &message },
		{ "response", &response },
		{ "thinking", &thinking },
		{ "context", &o->context },
		{ "done", &done },
		{ "prompt_eval_count", &o->prompt_eval_count },
		{ "eval_count", &o->eval_count },
	};

	struct jscan_want	 in_message[] = {
		{ "content", &o->text },
		{ "thinking", &o->thinking },
		{ "tool_calls", &o->calls },
	};

	memset(&o->text, 0, sizeof(o->text));
	memset(&o->thinking, 0, sizeof(o->thinking));
	memset(&o->calls, 0, sizeof(o->calls));
	o->done = o->odd = 0;
	if (jscan_object_strict(buf, len, OLLAMA_MAX_DEPTH, want,
	    sizeof(want) / sizeof(want[0]), dups, NULL, 0) == -1)
		return -1;
	o->done = done.present && done.type == JSCAN_TRUE;
	if (route == ROUTE_COMPLETIONS) {
		o->text = response;
		o->thinking = thinking;
	} else if (message.present && message.type != JSCAN_OBJECT)
		o->odd = 1;
	else if (message.present)
		jscan_object_fields(buf, &message, in_message,
		    sizeof(in_message) / sizeof(in_message[0]));
	return 0;
}

const struct reg_model *
ollama_find_model(const struct reg_domain *d, const char *name, size_t len)
{
	const struct reg_model	*m;

	if ((m = registry_find_model(d, name, len)) == NULL && len > 7 &&
	    memcmp(name + len - 7, ":latest", 7) == 0)
		m = registry_find_model(d, name, len - 7);
	return m;
}
