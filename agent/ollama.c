/*
 * Ollama's native API on /proxy/DOMAIN/api/...: its model list, its error
 * shape, and what a stream line says about text and usage. The requests
 * go through proxy.c's pipeline like any other; this file only knows the
 * wire format.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "jscan.h"
#include "xmalloc.h"

#define OLLAMA_MAX_DEPTH	64

/* Room one model's entry can take, its key escaped at worst. */
static size_t
ollama_tag_room(const struct reg_model *m)
{
	return 12 * m->key_len + 6 * strlen(m->provider->name) + 192;
}

/* One model in /api/tags's shape, at p; returns its length. */
static size_t
ollama_tag_json(char *p, size_t room, const struct reg_model *m)
{
	char	*start = p;

	p += sprintf(p, "{\"name\":");
	p += jscan_quote(p, room - (p - start), m->key, m->key_len);
	p += sprintf(p, ",\"model\":");
	p += jscan_quote(p, room - (p - start), m->key, m->key_len);
	p += sprintf(p, ",\"modified_at\":\"1970-01-01T00:00:00Z\",\"size\":0,"
	    "\"digest\":\"\",\"details\":{\"family\":");
	p += jscan_quote(p, room - (p - start), m->provider->name,
	    strlen(m->provider->name));
	p += sprintf(p, "}}");
	return p - start;
}

void
ollama_tags(struct http_request *r, const struct reg_domain *d,
    const struct reg_token *t)
{
	char	*body, *p;
	size_t	 i, cap = 32;

	for (i = 0; i < d->nmodels; i++)
		cap += ollama_tag_room(&d->models[i]) + 1;
	p = body = xmalloc(cap);
	p += sprintf(p, "{\"models\":[");
	for (i = 0; i < d->nmodels; i++) {
		const struct reg_model *m = &d->models[i];

		if (!m->active || !registry_token_allows(t, m))
			continue;
		if (p[-1] == '}')
			*p++ = ',';
		p += ollama_tag_json(p, cap - (p - body), m);
	}
	p += sprintf(p, "]}");
	http_reply(r, 200, "application/json", body, p - body, NULL);
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
 * (message.content for chat, response for generate, of any type), whether
 * a chat's message is no object, whether it is the last ("done": true),
 * and its counts. With dups, a key twice in any object is refused.
 * Returns -1 if it is not such an object.
 */
int
ollama_scan(const char *buf, size_t len, enum route_kind route,
    struct ollama_obj *o, struct jscan_keys *dups)
{
	struct jscan_span	 message, response, done;
	struct jscan_want	 want[] = {
		{ "message", &message },
		{ "response", &response },
		{ "done", &done },
		{ "prompt_eval_count", &o->prompt_eval_count },
		{ "eval_count", &o->eval_count },
	};

	memset(&o->text, 0, sizeof(o->text));
	o->done = o->odd = 0;
	if (jscan_object_strict(buf, len, OLLAMA_MAX_DEPTH, want,
	    sizeof(want) / sizeof(want[0]), dups, NULL, 0) == -1)
		return -1;
	o->done = done.present && done.type == JSCAN_TRUE;
	if (route == ROUTE_COMPLETIONS)
		o->text = response;
	else if (message.present && message.type != JSCAN_OBJECT)
		o->odd = 1;
	else if (message.present)
		jscan_object_get(buf, &message, "content", &o->text);
	return 0;
}

/* Placeholders until the full versions land (version, ps, show). */
void
ollama_version(struct http_request *r)
{
	http_reply(r, 200, "application/json", "{\"version\":\"0.0.0\"}", 19,
	    NULL);
}

void
ollama_ps(struct http_request *r, const struct reg_domain *d,
    const struct reg_token *t)
{
	(void)d;
	(void)t;
	http_reply(r, 200, "application/json", "{\"models\":[]}", 13, NULL);
}

void
ollama_show(struct http_request *r, const struct reg_domain *d,
    const struct reg_token *t, const char *key, size_t len)
{
	(void)d;
	(void)t;
	(void)key;
	(void)len;
	ollama_error_reply(r, API_MODEL_NOT_FOUND, "model not found");
}
