/*
 * The inference routes: resolve a request in the order DESIGN.md gives
 * (token, domain, model, model state), rewrite only what must change in
 * the body, forward it, and relay the answer (SSE event by event).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "agent.h"
#include "jscan.h"
#include "log.h"
#include "sse.h"
#include "xmalloc.h"

#define PROXY_MAX_DEPTH		64
#define PROXY_MAX_RESPONSE	(64 * 1024 * 1024)
#define PROXY_MAX_EVENT		(4 * 1024 * 1024)

/* One inference request from acceptance to the end of its reply. */
struct proxy_call {
	struct worker			*worker;
	struct http_request		*req;
	struct registry			*reg;
	const struct reg_model		*model;
	enum route_kind			 route;
	int				 stream;
	char				*body;		/* what goes upstream */
	size_t				 body_len;
	struct upstream			*up;
	long				 status;
	int				 relaying;	/* SSE headers sent */
	int				 paused;
	struct sse			*sse;
	char				*resp;		/* buffered answer */
	size_t				 resp_len;
	size_t				 resp_cap;
	char				*resp_type;
};

static void
proxy_call_free(struct proxy_call *call)
{
	if (call == NULL)
		return;
	upstream_cancel(call->up);
	if (call->reg != NULL)
		registry_release(call->reg);
	sse_free(call->sse);
	free(call->body);
	free(call->resp);
	free(call->resp_type);
	free(call);
}

static int
proxy_str_eq(const char *s, size_t len, const char *lit)
{
	return strlen(lit) == len && memcmp(s, lit, len) == 0;
}

/* The bearer token from the Authorization header, or NULL. */
static const char *
proxy_bearer(const struct http_request *r, size_t *len)
{
	const char	*v;
	size_t		 n;

	if ((v = http_header_get(r, "authorization", &n)) == NULL ||
	    n < 7 || strncasecmp(v, "bearer ", 7) != 0)
		return NULL;
	v += 7;
	n -= 7;
	while (n > 0 && *v == ' ') {
		v++;
		n--;
	}
	*len = n;
	return v;
}

/* Room one model's list entry can take, its strings escaped at worst. */
static size_t
proxy_model_room(const struct reg_model *m)
{
	return 6 * (m->key_len + strlen(m->provider->name)) + 80;
}

/* One model in the OpenAI list shape, written at p; returns its length. */
static size_t
proxy_model_json(char *p, size_t room, const struct reg_model *m)
{
	char	*start = p;

	p += sprintf(p, "{\"id\":");
	p += jscan_quote(p, room - (p - start), m->key, m->key_len);
	p += sprintf(p, ",\"object\":\"model\",\"created\":0,\"owned_by\":");
	p += jscan_quote(p, room - (p - start), m->provider->name,
	    strlen(m->provider->name));
	*p++ = '}';
	return p - start;
}

/*
 * GET .../v1/models: the domain's active models. The snapshot holds the
 * whole list ready; a token with an allow-list gets it filtered.
 */
static void
proxy_models(struct http_request *r, const struct reg_domain *d,
    const struct reg_token *t)
{
	char	*body, *p;
	size_t	 i, cap;

	if (t->models == NULL) {
		http_reply(r, 200, "application/json", d->models_json,
		    d->models_json_len, NULL);
		return;
	}
	cap = 64;
	for (i = 0; i < d->nmodels; i++)
		cap += proxy_model_room(&d->models[i]);
	p = body = xmalloc(cap);
	p += sprintf(p, "{\"object\":\"list\",\"data\":[");
	for (i = 0; i < d->nmodels; i++) {
		const struct reg_model *m = &d->models[i];

		if (!m->active || !registry_token_allows(t, m))
			continue;
		if (p[-1] == '}')
			*p++ = ',';
		p += proxy_model_json(p, cap - (p - body), m);
	}
	p += sprintf(p, "]}");
	http_reply(r, 200, "application/json", body, p - body, NULL);
	free(body);
}

/* GET .../v1/models/KEY: one model, or the same 404 as an unknown one. */
static void
proxy_model(struct http_request *r, const struct reg_domain *d,
    const struct reg_token *t, const char *key, size_t len)
{
	const struct reg_model	*m = registry_find_model(d, key, len);
	char			*body, *p;
	size_t			 cap;

	if (m == NULL || !m->active || !registry_token_allows(t, m)) {
		api_error_reply(r, API_MODEL_NOT_FOUND, "model", "The model"
		    " '%.*s' does not exist or you do not have access to it.",
		    (int)(len > 128 ? 128 : len), key);
		return;
	}
	cap = proxy_model_room(m);
	p = body = xmalloc(cap);
	p += proxy_model_json(p, cap, m);
	http_reply(r, 200, "application/json", body, p - body, NULL);
	free(body);
}

/* --- relaying the answer ------------------------------------------------- */

static void
proxy_on_response(void *arg, long status, const char *ctype)
{
	struct proxy_call	*call = arg;

	call->status = status;
	if (call->stream && status >= 200 && status < 300 && ctype != NULL &&
	    strncasecmp(ctype, "text/event-stream", 17) == 0) {
		call->relaying = 1;
		call->sse = sse_new(PROXY_MAX_EVENT);
		http_stream_start(call->req, 200, "text/event-stream");
		return;
	}
	free(call->resp_type);
	call->resp_type = xstrdup(ctype != NULL ? ctype : "application/json");
}

static int
proxy_relay_event(void *arg, const char *event, size_t len)
{
	struct proxy_call	*call = arg;

	if (http_stream_write(call->req, event, len) > HTTP_STREAM_HIGH_WATER &&
	    !call->paused) {
		call->paused = 1;
		upstream_pause(call->up);
	}
	return 0;
}

/* The client caught up: let the backend send again. */
static void
proxy_on_drain(void *arg)
{
	struct proxy_call	*call = arg;

	if (call->paused && call->up != NULL) {
		call->paused = 0;
		upstream_resume(call->up);
	}
}

static int
proxy_on_data(void *arg, const char *data, size_t len)
{
	struct proxy_call	*call = arg;

	if (call->relaying)
		return sse_feed(call->sse, data, len, proxy_relay_event, call);
	if (call->resp_len + len > PROXY_MAX_RESPONSE)
		return -1;
	if (call->resp_len + len > call->resp_cap) {
		call->resp_cap = (call->resp_len + len) * 2;
		call->resp = xreallocarray(call->resp, 1, call->resp_cap);
	}
	memcpy(call->resp + call->resp_len, data, len);
	call->resp_len += len;
	return 0;
}

/* A backend error status, told to the client without backend internals. */
static void
proxy_reply_backend_error(struct proxy_call *call)
{
	struct http_request	*r = call->req;
	long			 st = call->status;

	switch (st) {
	case 400:
	case 413:
	case 422:
	case 429:
		/* About the request itself: the client needs the backend's words. */
		http_reply(r, (int)st, call->resp_type, call->resp,
		    call->resp_len, NULL);
		return;
	case 401:
	case 403:
		log_warnx("provider %s rejected the credential (HTTP %ld)",
		    call->model->provider->name, st);
		api_error_reply(r, API_UPSTREAM_ERROR, NULL, "the model's"
		    " provider rejected the gateway's credential");
		return;
	case 404:
		api_error_reply(r, API_UPSTREAM_ERROR, NULL, "the model's"
		    " backend does not serve it");
		return;
	default:
		api_error_reply(r, API_UPSTREAM_ERROR, NULL, "the model's"
		    " backend answered HTTP %ld", st);
		return;
	}
}

static void
proxy_on_done(void *arg, enum upstream_result res, const char *why)
{
	struct proxy_call	*call = arg;
	struct http_request	*r = call->req;
	char			 ev[512];
	size_t			 n;

	call->up = NULL;
	r->on_abort = NULL;
	r->on_drain = NULL;
	if (res != UPSTREAM_OK)
		log_warnx("upstream %s for model %s: %s", res ==
		    UPSTREAM_TIMEOUT ? "timeout" : "error", call->model->key,
		    why);
	if (call->relaying) {
		/* An event the backend ended with a bare CR is still held. */
		if (res == UPSTREAM_OK)
			sse_finish(call->sse, proxy_relay_event, call);
		/* Headers are out: an error can only be said in the stream. */
		if (res != UPSTREAM_OK) {
			n = api_error_body(ev + 6, sizeof(ev) - 8, res ==
			    UPSTREAM_TIMEOUT ? API_UPSTREAM_TIMEOUT :
			    API_UPSTREAM_ERROR, NULL, res == UPSTREAM_TIMEOUT ?
			    "the model's backend went silent mid-stream" :
			    "the model's backend broke off the stream");
			memcpy(ev, "data: ", 6);
			memcpy(ev + 6 + n, "\n\n", 2);
			http_stream_write(r, ev, n + 8);
		}
		http_stream_end(r);
	} else if (res == UPSTREAM_TIMEOUT)
		api_error_reply(r, API_UPSTREAM_TIMEOUT, NULL,
		    "the model's backend did not answer in time");
	else if (res == UPSTREAM_ERROR)
		api_error_reply(r, API_UPSTREAM_ERROR, NULL,
		    "the model's backend refused or dropped the connection");
	else if (call->status >= 200 && call->status < 300)
		http_reply(r, 200, call->resp_type, call->resp, call->resp_len,
		    NULL);
	else
		proxy_reply_backend_error(call);
	proxy_call_free(call);
}

/* The client hung up: cancel the backend request at once. */
static void
proxy_on_abort(void *arg)
{
	proxy_call_free(arg);
}

static const struct upstream_cb proxy_upstream_cb = {
	proxy_on_response,
	proxy_on_data,
	proxy_on_done,
};

/* --- the pipeline -------------------------------------------------------- */

static void
proxy_inference(struct proxy_call *call, const struct reg_domain *d,
    const struct reg_token *t)
{
	struct http_request	*r = call->req;
	struct rewrite_fields	 f;
	struct jscan_span	 stream;
	struct jscan_want	 want[] = {
		{ "model", &f.model },
		{ "stream", &stream },
		{ "temperature", &f.temperature },
		{ "max_tokens", &f.max_tokens },
		{ "max_completion_tokens", &f.max_completion_tokens },
		{ "messages", &f.messages },
	};
	const struct reg_model	*m;
	const char		*url;
	char			 err[256], key[256];
	ssize_t			 klen;

	if (jscan_object(r->body, r->body_len, PROXY_MAX_DEPTH, want,
	    sizeof(want) / sizeof(want[0]), err, sizeof(err)) == -1) {
		api_error_reply(r, API_INVALID_REQUEST, NULL, "%s", err);
		goto done;
	}
	if (!f.model.present || f.model.type != JSCAN_STRING ||
	    (klen = jscan_string(r->body, &f.model, key, sizeof(key))) <= 0) {
		api_error_reply(r, API_INVALID_REQUEST, "model", "'model' must"
		    " be a model key (a non-empty string)");
		goto done;
	}
	if ((m = registry_find_model(d, key, klen)) == NULL ||
	    !registry_token_allows(t, m)) {
		api_error_reply(r, API_MODEL_NOT_FOUND, "model", "The model"
		    " '%s' does not exist or you do not have access to it.",
		    key);
		goto done;
	}
	if (!m->active) {
		api_error_reply(r, API_MODEL_INACTIVE, "model", "The model"
		    " '%s' is inactive.", key);
		goto done;
	}
	if ((call->route == ROUTE_EMBEDDINGS) !=
	    (m->category == MODEL_EMBEDDING)) {
		api_error_reply(r, API_INVALID_REQUEST, "model", "The model"
		    " '%s' is %s model.", key, m->category == MODEL_EMBEDDING ?
		    "an embedding" : "not an embedding");
		goto done;
	}
	if (m->provider->errored) {
		api_error_reply(r, API_UPSTREAM_ERROR, NULL, "The model's"
		    " provider is failing its health checks.");
		goto done;
	}
	if (stream.present && stream.type != JSCAN_TRUE &&
	    stream.type != JSCAN_FALSE && stream.type != JSCAN_NULL) {
		api_error_reply(r, API_INVALID_REQUEST, "stream",
		    "'stream' must be a boolean");
		goto done;
	}
	call->model = m;
	call->stream = stream.present && stream.type == JSCAN_TRUE;
	call->body = rewrite_body(r->body, r->body_len, &f, m, call->route,
	    &call->body_len);

	url = call->route == ROUTE_CHAT ? m->url_chat :
	    call->route == ROUTE_COMPLETIONS ? m->url_completions :
	    m->url_embeddings;
	call->up = upstream_start(call->worker->upstream, url,
	    m->provider->auth, call->body, call->body_len, &proxy_upstream_cb,
	    call);
	r->on_abort = proxy_on_abort;
	r->on_drain = proxy_on_drain;
	r->cb_arg = call;
	return;
done:
	proxy_call_free(call);
}

void
proxy_handle(struct http_request *r, void *arg)
{
	struct worker		*w = arg;
	struct proxy_call	*call;
	const struct reg_token	*t;
	const struct reg_domain	*d;
	struct registry		*reg;
	struct route		 route;
	const char		*tok;
	size_t			 tok_len;

	if (proxy_str_eq(r->path, r->path_len, "/healthz")) {
		http_reply(r, 200, "application/json", "{\"status\":\"ok\"}",
		    15, NULL);
		return;
	}
	if (route_match(r->path, r->path_len, &route) == -1) {
		api_error_reply(r, API_NOT_FOUND, NULL, "Unknown route %.*s",
		    (int)(r->path_len > 128 ? 128 : r->path_len), r->path);
		return;
	}
	if (!proxy_str_eq(r->method, r->method_len, route.method)) {
		api_error_reply(r, API_METHOD_NOT_ALLOWED, NULL, "Use %s for"
		    " this route", route.method);
		return;
	}
	if (route.kind == ROUTE_ATTESTATION) {
		attestation_http(r, w);
		return;
	}
	if ((reg = registry_acquire()) == NULL) {
		api_error_reply(r, API_UNAVAILABLE, NULL, "starting up");
		return;
	}

	/* 1. token: who is asking, and for which domain. */
	if ((tok = proxy_bearer(r, &tok_len)) == NULL) {
		registry_release(reg);
		api_error_reply(r, API_INVALID_API_KEY, NULL, "Missing API key:"
		    " send 'Authorization: Bearer <token>'.");
		return;
	}
	if ((t = registry_find_token(reg, w->agent->vault, tok, tok_len,
	    time(NULL))) == NULL) {
		registry_release(reg);
		api_error_reply(r, API_INVALID_API_KEY, NULL, "Invalid, expired"
		    " or revoked API key.");
		return;
	}
	/* 2. domain: another domain's token learns nothing about this one. */
	d = t->domain;
	if (route.domain != NULL && registry_find_domain(reg, route.domain,
	    route.domain_len) != d) {
		registry_release(reg);
		api_error_reply(r, API_DOMAIN_NOT_FOUND, NULL, "Domain '%.*s'"
		    " not found.", (int)(route.domain_len > 64 ? 64 :
		    route.domain_len), route.domain);
		return;
	}
	if (route.kind == ROUTE_MODEL) {
		proxy_model(r, d, t, route.model, route.model_len);
		registry_release(reg);
		return;
	}
	if (route.kind == ROUTE_MODELS) {
		proxy_models(r, d, t);
		registry_release(reg);
		return;
	}

	call = xcalloc(1, sizeof(*call));
	call->worker = w;
	call->req = r;
	call->reg = reg;
	call->route = route.kind;
	proxy_inference(call, d, t);
}
