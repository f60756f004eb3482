/*
 * The inference routes: resolve a request in the order DESIGN.md gives
 * (token, domain, model, model state), rewrite only what must change in
 * the body, forward it, and relay the answer (SSE event by event). Each
 * inference request leaves a trace: the step that rejected it, or its
 * tokens and cost, handed to the trace writer when the call ends.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include <cjson/cJSON.h>

#include "agent.h"
#include "jscan.h"
#include "log.h"
#include "money.h"
#include "ndjson.h"
#include "receipt.h"
#include "sse.h"
#include "textbuf.h"
#include "xmalloc.h"

#define PROXY_MAX_RESPONSE	(64 * 1024 * 1024)
#define PROXY_MAX_ERROR_BODY	(64 * 1024)	/* of a backend's error */
#define PROXY_MAX_EVENT		(4 * 1024 * 1024)
#define PROXY_MAX_PROMPT_TEXT	(64 * 1024)	/* prompt kept in a trace */
#define PROXY_PLAYGROUND	"playground"	/* the token_id of its traces */
#define PROXY_MSG_LOCAL		"the gateway is out of resources; retry"
#define PROXY_CHALLENGE		"WWW-Authenticate: Bearer realm=\"cube\"\r\n"
#define PROXY_ATTEMPTS_MAX	16	/* of one request, fallbacks included */

/* One attempt on a deployment, for the trace. */
struct proxy_attempt {
	const struct reg_model		*model;
	const struct reg_deployment	*dep;
	long				 status;	/* 0: none came */
	const char			*error;		/* static, or NULL */
	int64_t				 ms;
};

_Static_assert(RECEIPT_MAX <= HTTP_FIELD_VALUE_MAX, "Cube-Receipt fits");
_Static_assert(RECEIPT_DOMAIN_MAX >= 36, "a domain id fits a receipt");
_Static_assert(RECEIPT_ID_BYTES == HTTP_REQUEST_ID_BYTES,
    "x-request-id is the receipt's id");

/* What waits for a receipt's signature (proxy_sign()). */
enum proxy_signing {
	PROXY_SIGN_NONE,
	PROXY_SIGN_REPLY,	/* a whole reply, held */
	PROXY_SIGN_STREAM,	/* a stream's end */
	PROXY_SIGN_TRACE,	/* the trace only: the client left */
};

/* One inference request from acceptance to the end of its reply. */
struct proxy_call {
	struct worker			*worker;
	struct http_request		*req;
	struct registry			*reg;
	const struct reg_domain		*domain;	/* the token's */
	const struct reg_token		*token;
	struct reg_token		 jwt;		/* a JWT's identity */
	const struct reg_model		*model;
	const struct reg_model		*routed;	/* resolved: signed */
	enum route_kind			 route;		/* the pipeline's */
	enum route_kind			 client_route;	/* as the path named it */
	int				 stream;
	char				*body;		/* what goes upstream */
	size_t				 body_len;
	struct upstream			*up;
	long				 status;
	int				 relaying;	/* SSE headers sent */
	int				 paused;
	struct sse			*sse;
	char				*evdata;	/* an event's data */
	size_t				 evcap;
	int				 ollama;	/* Ollama's format, to the client */
	int				 backend_ollama; /* and from the backend */
	int				 out_nd;	/* the client's stream: NDJSON */
	struct ndjson			*nd;		/* the backend's stream lines */
	/* A translated route (dialect.c): its translator and output. */
	const struct dialect_ops	*dialect;
	struct dialect_call		*dcall;
	struct dialect_buf		 dout;
	int				 native;	/* /v1/responses passed
							   through as it is */
	char				*resp;		/* buffered answer */
	size_t				 resp_len;
	size_t				 resp_cap;
	char				 resp_type[UPSTREAM_MEDIA_TYPE_MAX + 1];
	struct http_fields		*relay;		/* a 429's, for the client */
	const char			*cut;		/* why we cut the backend off */
	struct trace			*trace;		/* NULL: not traced */
	/* The client's trace context: its flags, and whether it sent one. */
	unsigned char			 trace_flags;
	int				 trace_joined;
	int64_t				 start_ms;	/* monotonic */
	struct meter			 meter;
	int				 forwarded;	/* sent upstream */
	size_t				 prompt_bytes;	/* text it sent */
	int				 strip_usage;	/* usage we asked for */
	struct limit_ticket		 limit;		/* rate limit / budget */
	/*
	 * Deployments: the model whose deployments are tried (the one asked
	 * for, then its fallbacks; its pricing bills), the deployment of
	 * this attempt (outstanding counted until it ends) and whether it
	 * is a half-open breaker's probe, the target's deployments tried,
	 * the attempts on it, the next fallback, and when retries stop.
	 */
	const struct reg_model		*target;
	const struct reg_deployment	*dep;
	int				 probe;
	uint32_t			 tried;
	int				 target_attempts;
	size_t				 next_fallback;
	int64_t				 deadline_ms;	/* monotonic */
	int64_t				 attempt_ms;	/* when this one began */
	struct proxy_attempt		 attempts[PROXY_ATTEMPTS_MAX];
	size_t				 nattempts;
	/*
	 * The answer's "model" is the key asked for: the model as it names
	 * the model id the deployment answers with (answer_view, when that
	 * is not the asked model's first).
	 */
	const struct reg_model		*answer_as;
	struct reg_model		 answer_view;
	/*
	 * What the guardrails did (guard_report_hits() reads it; tracing
	 * records it), the stream's output filter, and whether it blocked.
	 */
	struct guard_report		 guards;
	struct guard_answer		*answer;
	struct guard_ollama		*answer_ollama;
	int				 blocked;
	/*
	 * The reply's receipt (receipt.h), for a request routed to a model:
	 * its id (the request's), the SHA-256 of the body the client sent,
	 * the hash of what it has been sent so far, and whether it is
	 * signed (once per request).
	 */
	unsigned char			 id[RECEIPT_ID_BYTES];
	int				 signed_once;
	unsigned char			 request_sha256[RECEIPT_HASH_BYTES];
	struct sha256			 response_hash;	/* kept by the pool */
	char				 last;		/* its last byte */
	/*
	 * Held back for the receipt: SSE's [DONE] (the receipt goes right
	 * before it), the Ollama line that ends a stream (the receipt is
	 * added to it). Anything sent after them lets them go first.
	 */
	int				 done_held;
	char				*held;
	size_t				 held_len;
	size_t				 held_cap;
	/*
	 * What waits for the receipt's signature, with the worker's batch
	 * (receipt-batch.c): a whole reply (its status, type, body,
	 * and relayed fields in held, after the body when held has it too),
	 * a stream's end (the receipt goes into held's line at held_brace,
	 * when it has one), or the trace only. Whether the client left
	 * meanwhile, and whether the call is to be freed once signed.
	 */
	enum proxy_signing		 signing;
	int				 reply_status;
	const char			*reply_type;	/* static, or resp_type */
	const char			*reply_body;	/* the call's own */
	size_t				 reply_body_len;
	size_t				 reply_fields_len;
	const char			*held_brace;
	int				 client_gone;
	int				 free_when_signed;
};

static void	proxy_reply(struct proxy_call *, int, const char *,
		    const char *, size_t, const struct http_fields *);

static const char *const proxy_routes_ollama[] = {
	[ROUTE_CHAT] = "ollama_chat",
	[ROUTE_COMPLETIONS] = "ollama_generate",
	[ROUTE_EMBEDDINGS] = "ollama_embed",
	[ROUTE_OLLAMA_EMBEDDINGS] = "ollama_embed",
};

/* The route each client route takes through the pipeline. */
static const struct {
	enum route_kind	 pipeline;
	const char	*trace;
} proxy_route_map[] = {
	[ROUTE_CHAT] = { ROUTE_CHAT, "chat" },
	[ROUTE_COMPLETIONS] = { ROUTE_COMPLETIONS, "completions" },
	[ROUTE_EMBEDDINGS] = { ROUTE_EMBEDDINGS, "embeddings" },
	[ROUTE_MESSAGES] = { ROUTE_CHAT, "messages" },
	[ROUTE_RESPONSES] = { ROUTE_CHAT, "responses" },
	[ROUTE_OLLAMA_EMBEDDINGS] = { ROUTE_EMBEDDINGS, "ollama_embed" },
	/* FIM reads like completions; a reranker is an embedding model. */
	[ROUTE_FIM] = { ROUTE_COMPLETIONS, "fim" },
	[ROUTE_RERANK] = { ROUTE_EMBEDDINGS, "rerank" },
};

/*
 * Tokens and cost of a finished call: the backend's usage, else an
 * estimate from the prompt and the answer text delivered, for any call
 * that reached the backend and got an answer (or part of one). Cost is
 * the model's pricing in this snapshot; cached tokens at their own price.
 */
static void
proxy_trace_tokens(struct proxy_call *call, struct trace *t)
{
	/* A fallback's own pricing bills what it answered. */
	const struct reg_model	*m = call->target != NULL ? call->target :
				    call->model;
	struct meter		*mt = &call->meter;
	int64_t			 tokens[3], prices[3];

	if (mt->has_usage) {
		t->prompt_tokens = mt->prompt_tokens;
		t->completion_tokens = mt->completion_tokens;
		t->cached_tokens = mt->cached_tokens;
	} else if (call->forwarded && (t->status < 400 ||
	    mt->content_bytes > 0)) {
		t->estimated = 1;
		t->prompt_tokens = meter_estimate(call->prompt_bytes);
		t->completion_tokens = meter_estimate(mt->content_bytes);
	}
	tokens[0] = t->prompt_tokens - t->cached_tokens;
	tokens[1] = t->cached_tokens;
	tokens[2] = t->completion_tokens;
	prices[0] = m->price_input;
	prices[1] = m->price_cached;
	prices[2] = m->price_output;
	t->cost = money_tokens_cost(tokens, prices, 3);
	if (mt->text != NULL) {
		t->completion_text = mt->text;
		mt->text = NULL;
	}
}

/*
 * The span's ids: the trace and parent from a valid client traceparent
 * (W3C), or a new trace; our span id is always new. Invalid context is
 * ignored, never refused.
 */
static void
proxy_trace_context(struct proxy_call *call, struct http_request *r)
{
	struct trace		*t = call->trace;
	struct trace_context	 tc;
	const char		*v;
	size_t			 len, i, n = 0;

	traceparent_random_id(t->span_id, sizeof(t->span_id));
	/* Two traceparent fields make it invalid (W3C 3.2). */
	for (i = 0; i < r->nheaders; i++)
		n += r->headers[i].name_len == 11 &&
		    strncasecmp(r->headers[i].name, "traceparent", 11) == 0;
	v = http_header_get(r, "traceparent", &len);
	if (n == 1 && traceparent_parse(v, len, &tc) == 0) {
		memcpy(t->trace_id, tc.trace_id, sizeof(t->trace_id));
		memcpy(t->parent_id, tc.parent_id, sizeof(t->parent_id));
		call->trace_flags = tc.flags;
		call->trace_joined = 1;
		return;
	}
	traceparent_random_id(t->trace_id, sizeof(t->trace_id));
	/* Every trace is recorded, and exported when a collector is set. */
	call->trace_flags = 0x01;
}

/*
 * What the backend is told of the trace: our span as its parent, and the
 * client's tracestate as it came when the client's traceparent was valid.
 */
static const struct upstream_trace *
proxy_trace_upstream(struct proxy_call *call, struct upstream_trace *ut)
{
	const char	*v;
	size_t		 len;

	if (call->trace == NULL)
		return NULL;
	traceparent_format(ut->traceparent, call->trace->trace_id,
	    call->trace->span_id, call->trace_flags);
	ut->tracestate = NULL;
	ut->tracestate_len = 0;
	if (call->trace_joined && (v = http_header_get(call->req, "tracestate",
	    &len)) != NULL && tracestate_valid(v, len)) {
		ut->tracestate = v;
		ut->tracestate_len = len;
	}
	return ut;
}

/*
 * Does a member ask for something: anything but absent, false, null or a
 * number that is 0? A backend may take "true" or "1" for true (pydantic
 * does): fail closed.
 */
static int
proxy_asks(const struct request *rq, const struct jscan_span *v)
{
	char	num[64];
	size_t	len = v->end - v->start;

	if (!v->present || v->type == JSCAN_FALSE || v->type == JSCAN_NULL)
		return 0;
	if (v->type != JSCAN_NUMBER || len >= sizeof(num))
		return 1;
	memcpy(num, rq->body + v->start, len);
	num[len] = '\0';
	return strtod(num, NULL) != 0;
}

/* The client's temperature, if it sent a number; NaN otherwise. */
static double
proxy_trace_temperature(const struct request *rq)
{
	const struct jscan_span	*s = rq->temperature.present ?
	    &rq->temperature : &rq->options_temperature;
	char			 buf[64], *end;
	size_t			 n;
	double			 v;

	if (!s->present || s->type != JSCAN_NUMBER)
		return NAN;
	n = s->end - s->start;
	if (n == 0 || n >= sizeof(buf))
		return NAN;
	memcpy(buf, rq->body + s->start, n);
	buf[n] = '\0';
	v = strtod(buf, &end);
	return *end == '\0' && isfinite(v) ? v : NAN;
}

/*
 * The attempts as the trace keeps them, when there was more than one or
 * the one went to a fallback; NULL otherwise (the trace's own fields say
 * it all, and the single-deployment path allocates nothing more).
 */
static char *
proxy_attempts_json(const struct proxy_call *call)
{
	const struct proxy_attempt	*a;
	cJSON				*arr, *o;
	char				*s;
	size_t				 i;

	if (call->nattempts == 0 || (call->nattempts == 1 &&
	    call->attempts[0].model == call->model))
		return NULL;
	if ((arr = cJSON_CreateArray()) == NULL)
		fatalx("%s: out of memory", __func__);
	for (i = 0; i < call->nattempts; i++) {
		a = &call->attempts[i];
		if ((o = cJSON_CreateObject()) == NULL ||
		    cJSON_AddStringToObject(o, "model", a->model->key) ==
		    NULL || cJSON_AddStringToObject(o, "provider",
		    a->dep->provider->name) == NULL ||
		    cJSON_AddStringToObject(o, "model_id", a->dep->model_id) ==
		    NULL || (a->status > 0 ? cJSON_AddNumberToObject(o,
		    "status", (double)a->status) : cJSON_AddNullToObject(o,
		    "status")) == NULL || (a->error != NULL ?
		    cJSON_AddStringToObject(o, "error", a->error) :
		    cJSON_AddNullToObject(o, "error")) == NULL ||
		    cJSON_AddNumberToObject(o, "ms", (double)a->ms) == NULL)
			fatalx("%s: out of memory", __func__);
		cJSON_AddItemToArray(arr, o);
	}
	if ((s = cJSON_PrintUnformatted(arr)) == NULL)
		fatalx("%s: out of memory", __func__);
	cJSON_Delete(arr);
	return s;
}

/* Hand the call's trace to the writer, if it belongs to a domain. */
static void
proxy_trace_submit(struct proxy_call *call)
{
	struct trace	*t = call->trace;

	call->trace = NULL;
	if (t == NULL || t->domain_id[0] == '\0') {
		trace_free(t);
		return;
	}
	t->latency_ms = deployment_now_ms() - call->start_ms;
	t->guardrails = guard_report_json(&call->guards);
	t->attempts = proxy_attempts_json(call);
	if (call->model != NULL) {
		proxy_trace_tokens(call, t);
		limit_settle(&call->limit, t->prompt_tokens +
		    t->completion_tokens, t->cost, trace_now_ms());
	}
	trace_batch_add(call->worker->traces, t);
}

/*
 * Each worker thread keeps a few finished calls with their answer and
 * output buffers, so a request allocates neither (the buffers are wiped
 * of what they held, and given back when they grew large). The list goes
 * with the thread (pthread key destructor).
 */
#define PROXY_CALLS_KEPT	16	/* per worker, at most */
#define PROXY_BUF_KEPT		(16 * 1024)	/* larger buffers are freed */

struct proxy_calls {
	struct proxy_call	*kept[PROXY_CALLS_KEPT];
	size_t			 n;
};

static pthread_key_t	proxy_calls_key;
static pthread_once_t	proxy_calls_once = PTHREAD_ONCE_INIT;
static int		proxy_calls_keyed;	/* 0: no pools, calls are freed */

static void
proxy_call_destroy(struct proxy_call *call)
{
	free(call->resp);
	free(call->evdata);
	free(call->held);
	dialect_buf_free(&call->dout);
	sha256_free(&call->response_hash);
	free(call);
}

static void
proxy_calls_free(void *arg)
{
	struct proxy_calls	*pc = arg;
	size_t			 i;

	for (i = 0; i < pc->n; i++)
		proxy_call_destroy(pc->kept[i]);
	free(pc);
}

static void
proxy_calls_init(void)
{
	proxy_calls_keyed = pthread_key_create(&proxy_calls_key,
	    proxy_calls_free) == 0;
}

static struct proxy_calls *
proxy_calls(void)
{
	struct proxy_calls	*pc;

	pthread_once(&proxy_calls_once, proxy_calls_init);
	if (!proxy_calls_keyed)
		return NULL;
	if ((pc = pthread_getspecific(proxy_calls_key)) == NULL) {
		/* Without a slot the thread keeps nothing: no pool, no stop. */
		if ((pc = calloc(1, sizeof(*pc))) == NULL)
			return NULL;
		if (pthread_setspecific(proxy_calls_key, pc) != 0) {
			free(pc);
			return NULL;
		}
	}
	return pc;
}

/* A zeroed call, with the buffers of a finished one when there is one. */
static struct proxy_call *
proxy_call_get(void)
{
	struct proxy_calls	*pc = proxy_calls();
	struct proxy_call	*call;
	char			*resp, *evdata, *held;
	size_t			 resp_cap, evcap, held_cap;
	struct dialect_buf	 dout;
	struct sha256		 hash;

	if (pc == NULL || pc->n == 0)
		return xcalloc(1, sizeof(*call));
	call = pc->kept[--pc->n];
	resp = call->resp;
	resp_cap = call->resp_cap;
	evdata = call->evdata;
	evcap = call->evcap;
	held = call->held;
	held_cap = call->held_cap;
	dout = call->dout;
	hash = call->response_hash;
	memset(call, 0, sizeof(*call));
	call->response_hash = hash;
	call->resp = resp;
	call->resp_cap = resp_cap;
	call->evdata = evdata;
	call->evcap = evcap;
	call->held = held;
	call->held_cap = held_cap;
	call->dout.p = dout.p;
	call->dout.cap = dout.cap;
	return call;
}

/* A buffer kept for the next call: wiped, or freed when it grew large. */
static void
proxy_buf_keep(char **p, size_t *cap)
{
	if (*cap > PROXY_BUF_KEPT) {
		free(*p);
		*p = NULL;
		*cap = 0;
	} else if (*p != NULL)
		explicit_bzero(*p, *cap);
}

/* Keep a finished call for the next request, its buffers wiped. */
static void
proxy_call_put(struct proxy_call *call)
{
	struct proxy_calls	*pc = proxy_calls();

	proxy_buf_keep(&call->resp, &call->resp_cap);
	proxy_buf_keep(&call->evdata, &call->evcap);
	proxy_buf_keep(&call->held, &call->held_cap);
	if (call->dout.cap > PROXY_BUF_KEPT)
		dialect_buf_free(&call->dout);
	else if (call->dout.p != NULL)
		explicit_bzero(call->dout.p, call->dout.cap);
	if (pc == NULL || pc->n == PROXY_CALLS_KEPT) {
		proxy_call_destroy(call);
		return;
	}
	pc->kept[pc->n++] = call;
}

static void
proxy_call_free(struct proxy_call *call)
{
	if (call == NULL)
		return;
	/*
	 * Its reply waits for the batch's signature: freed once it is out.
	 * The backend is done with now: a client that hung up mid-stream has
	 * its connection freed next, and more of the stream must not reach
	 * it (nor be read for nothing) while the signature waits.
	 */
	if (call->signing != PROXY_SIGN_NONE) {
		upstream_cancel(call->up);
		call->up = NULL;
		call->free_when_signed = 1;
		return;
	}
	if (call->relaying)
		metrics_stream(-1);
	/* An attempt still out ends without a verdict (the client left). */
	if (call->dep != NULL)
		deployment_end(call->dep->state, DEPLOY_NO_VERDICT, call->probe,
		    deployment_now_ms());
	call->dep = NULL;
	proxy_trace_submit(call);
	limit_settle(&call->limit, 0, 0, 0);	/* untraced: nothing used */
	meter_clear(&call->meter);
	jwt_identity_clear(&call->jwt);
	upstream_cancel(call->up);
	if (call->model != NULL)
		guard_report_log(&call->guards, call->model->key);
	guard_answer_free(call->answer);
	guard_ollama_free(call->answer_ollama);
	if (call->dcall != NULL && call->dialect->close != NULL)
		call->dialect->close(call->dcall);
	ndjson_free(call->nd);
	if (call->reg != NULL)
		registry_local_release(call->worker->regs, call->reg);
	sse_free(call->sse);
	free(call->body);
	free(call->relay);
	call->worker->calls--;
	receipt_batch_call_ended(call->worker->receipts);
	proxy_call_put(call);
}

/* An error body in the shape of the client's route. */
static size_t
proxy_error_body(const struct proxy_call *call, char *buf, size_t len,
    enum api_error e, const char *param, const char *msg)
{
	if (call->dialect != NULL)
		return call->dialect->error_body(buf, len, e, param, msg);
	if (call->ollama)
		return ollama_error_body(buf, len, msg);
	return api_error_body(buf, len, e, param, msg);
}

/* Answer with an error, and say in the trace which step refused. */
static void
proxy_reject(struct proxy_call *call, enum trace_step step, enum api_error e,
    const char *param, const char *fmt, ...)
{
	char	 msg[512], body[2048];
	size_t	 n;
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (call->trace != NULL) {
		call->trace->status = api_error_status(e);
		call->trace->error = api_error_code(e);
		call->trace->step = step;
	}
	n = proxy_error_body(call, body, sizeof(body), e, param, msg);
	if (call->routed != NULL)
		/* Routed to a model: the reply is signed. */
		proxy_reply(call, api_error_status(e), "application/json",
		    body, n, NULL);
	else
		http_reply(call->req, api_error_status(e), "application/json",
		    body, n, e == API_INVALID_API_KEY ? PROXY_CHALLENGE : NULL);
}

/* Does modalities ask for anything but text ("\u0061udio" is audio)? */
static int
proxy_modalities_not_text(const struct request *rq)
{
	const struct jscan_span	*v = &rq->modalities;
	struct jscan_span	 e;
	size_t			 cursor = 0;
	char			 word[8];

	if (!v->present || v->type == JSCAN_NULL)
		return 0;
	if (v->type != JSCAN_ARRAY)
		return 1;
	while (jscan_array_next(rq->body, v, &cursor, &e))
		if (e.type != JSCAN_STRING || jscan_string(rq->body, &e, word,
		    sizeof(word)) != 4 || memcmp(word, "text", 4) != 0)
			return 1;
	return 0;
}

/*
 * What a model's output guardrails cannot read, refused before the
 * backend is asked (400, naming the parameter): log probabilities spell
 * out the answer token by token and the likely tokens besides; the
 * deprecated functions answer in message.function_call, which they do
 * not read (tools do); audio is no text. -1 when refused.
 */
static int
proxy_unguardable(struct proxy_call *call, const struct request *rq,
    const char *key)
{
	const char	*param = NULL, *why = NULL;

	if (proxy_asks(rq, &rq->logprobs))
		param = "logprobs";
	else if (proxy_asks(rq, &rq->top_logprobs))
		param = "top_logprobs";
	if (param != NULL)
		why = "log probabilities would show the text they hold back";
	else if (rq->functions.present &&
	    rq->functions.type != JSCAN_NULL) {
		param = "functions";
		why = "they read tool calls: send tools instead of the"
		    " deprecated functions";
	} else if ((rq->audio.present && rq->audio.type != JSCAN_NULL) ||
	    proxy_modalities_not_text(rq)) {
		param = rq->audio.present ? "audio" : "modalities";
		why = "they read text, not audio";
	}
	if (param == NULL)
		return 0;
	proxy_reject(call, TRACE_STEP_REQUEST, API_INVALID_REQUEST, param,
	    "The model '%s' has output guardrails: %s.", key, why);
	return -1;
}

/*
 * The bearer token from the Authorization header, or NULL. Anthropic's
 * clients send theirs in x-api-key instead, taken on its routes only.
 */
static const char *
proxy_bearer(const struct http_request *r, int x_api_key, size_t *len)
{
	const char	*v;
	size_t		 n;

	if ((v = http_header_get(r, "authorization", &n)) == NULL &&
	    x_api_key && (v = http_header_get(r, "x-api-key", &n)) != NULL) {
		while (n > 0 && v[n - 1] == ' ')
			n--;
		*len = n;
		return n > 0 ? v : NULL;
	}
	if (v == NULL || n < 7 || strncasecmp(v, "bearer ", 7) != 0)
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

/*
 * GET .../v1/models: the domain's active models. The snapshot holds the
 * whole list ready; a token with an allow-list gets it filtered.
 */
static void
proxy_models(struct http_request *r, const struct reg_domain *d,
    const struct reg_token *t)
{
	char	*body;
	size_t	 len;

	if (t->models == NULL) {
		http_reply(r, 200, "application/json", d->models_json,
		    d->models_json_len, NULL);
		return;
	}
	body = model_list_openai(d, t, &len);
	http_reply(r, 200, "application/json", body, len, NULL);
	free(body);
}

/* GET .../v1/models/KEY: one model, or the same 404 as an unknown one. */
static void
proxy_model(struct http_request *r, const struct reg_domain *d,
    const struct reg_token *t, const char *key, size_t len)
{
	const struct reg_model	*m = registry_find_model(d, key, len);
	char			*body;
	size_t			 n;

	if (m == NULL || !m->active || !registry_token_allows(t, m)) {
		api_error_reply(r, API_MODEL_NOT_FOUND, "model", "The model"
		    " '%.*s' does not exist or you do not have access to it.",
		    (int)(len > 128 ? 128 : len), key);
		return;
	}
	body = model_list_openai_one(m, &n);
	http_reply(r, 200, "application/json", body, n, NULL);
	free(body);
}

/* --- relaying the answer ------------------------------------------------- */

/*
 * How each way a transfer can fail is told: before the answer's head went
 * out (a reply) or after (an error event ending the stream). A local
 * shortage is the gateway's, not the backend's: 503 and a retry.
 */
static const struct proxy_failure {
	enum api_error	 error;
	enum trace_step	 step;
	const char	*log;
	const char	*before;
	const char	*during;
} proxy_failures[] = {
	[UPSTREAM_ERROR] = { API_UPSTREAM_ERROR, TRACE_STEP_UPSTREAM,
	    "upstream error", "the model's backend refused or dropped the"
	    " connection", "the model's backend broke off the stream" },
	[UPSTREAM_TIMEOUT] = { API_UPSTREAM_TIMEOUT, TRACE_STEP_UPSTREAM,
	    "upstream timeout", "the model's backend did not answer in time",
	    "the model's backend went silent mid-stream" },
	[UPSTREAM_BAD_ANSWER] = { API_UPSTREAM_ERROR, TRACE_STEP_UPSTREAM,
	    "unreadable answer", "the model's backend sent an answer the"
	    " gateway cannot read", "the model's backend sent a stream the"
	    " gateway cannot read" },
	[UPSTREAM_LOCAL] = { API_UNAVAILABLE, TRACE_STEP_GATEWAY,
	    "out of resources", PROXY_MSG_LOCAL, PROXY_MSG_LOCAL },
};

/*
 * Backend statuses about the request itself, kept for the client with the
 * backend's own error object when it sent one; any other is a 502.
 */
static const struct proxy_kept_status {
	long		 status;
	enum api_error	 error;		/* its shape when the body has none */
} proxy_kept_statuses[] = {
	{ 400, API_INVALID_REQUEST },
	{ 413, API_REQUEST_TOO_LARGE },
	{ 422, API_INVALID_REQUEST },
	{ 429, API_RATE_LIMIT_EXCEEDED },
};

/*
 * A backend's error object (OpenAI's shape, as backend_error_body() told
 * it) retold in the dialect's: its message and param, our status's type.
 */
static size_t
proxy_dialect_error(struct proxy_call *call, char *buf, size_t size,
    size_t len, enum api_error e)
{
	cJSON		*doc, *err, *msg, *param;
	char		 message[1024], par[128];
	const char	*m = "the model's backend refused the request";

	par[0] = '\0';
	if ((doc = cJSON_ParseWithLength(buf, len)) != NULL &&
	    (err = cJSON_GetObjectItemCaseSensitive(doc, "error")) != NULL) {
		msg = cJSON_GetObjectItemCaseSensitive(err, "message");
		param = cJSON_GetObjectItemCaseSensitive(err, "param");
		if (cJSON_IsString(msg))
			m = msg->valuestring;
		if (cJSON_IsString(param))
			snprintf(par, sizeof(par), "%s", param->valuestring);
	}
	snprintf(message, sizeof(message), "%s", m);
	cJSON_Delete(doc);
	return call->dialect->error_body(buf, size, e, par[0] != '\0' ? par :
	    NULL, message);
}

/*
 * An error reply in the route's shape, traced: the backend's error object
 * retold when backend is not NULL and holds one, else message.
 */
static void
proxy_reply_error(struct proxy_call *call, int status, enum api_error e,
    enum trace_step step, const char *backend, size_t backend_len,
    const struct http_fields *fields, const char *message)
{
	char	body[BACKEND_ERROR_BODY_MAX];
	size_t	n;

	n = backend_error_body(body, sizeof(body), call->ollama, backend,
	    backend_len, e, message);
	if (call->dialect != NULL && call->dialect != &dialect_ollama)
		n = proxy_dialect_error(call, body, sizeof(body), n, e);
	call->trace->status = status;
	call->trace->error = backend != NULL ?
	    trace_error_intern("backend_error") : api_error_code(e);
	call->trace->step = step;
	proxy_reply(call, status, "application/json", body, n, fields);
}

/*
 * The rate-limit headers a backend's 429 came with (upstream-header.c
 * checked each, http_fields_add() again), for SDKs to back off by.
 */
static struct http_fields *
proxy_relay_headers(const struct upstream_response *resp)
{
	struct http_fields	*f;
	size_t			 i;

	if (resp->nrelay == 0)
		return NULL;
	f = xmalloc(sizeof(*f));
	http_fields_init(f);
	for (i = 0; i < resp->nrelay; i++)
		http_fields_add(f, resp->relay[i].name,
		    strlen(resp->relay[i].name), resp->relay[i].value,
		    strlen(resp->relay[i].value));
	return f;
}

static void
proxy_on_response(void *arg, const struct upstream_response *resp)
{
	struct proxy_call	*call = arg;
	const char		*ctype = resp->content_type;
	long			 status = resp->status;

	call->status = status;
	call->guards.output = 1;
	if (status == 429)
		call->relay = proxy_relay_headers(resp);
	if (call->stream && status >= 200 && status < 300 && ctype != NULL &&
	    strncasecmp(ctype, "text/event-stream", 17) == 0) {
		call->relaying = 1;
		metrics_stream(1);
		call->sse = sse_new(PROXY_MAX_EVENT);
		if (!guard_list_empty(&call->model->guard_out))
			call->answer = guard_answer_new(
			    &call->model->guard_out, &call->guards,
			    call->route);
		if (call->dialect != NULL) {
			call->out_nd = call->dialect == &dialect_ollama;
			http_stream_start(call->req, 200,
			    call->dialect->stream_type);
		} else
			http_stream_start(call->req, 200, "text/event-stream");
		return;
	}
	if (call->backend_ollama && call->stream && status >= 200 &&
	    status < 300 &&
	    ctype != NULL && strncasecmp(ctype, "application/x-ndjson",
	    20) == 0) {
		call->relaying = 1;
		metrics_stream(1);
		call->nd = ndjson_new(PROXY_MAX_EVENT);
		call->out_nd = 1;
		if (!guard_list_empty(&call->model->guard_out))
			call->answer_ollama = guard_ollama_new(
			    &call->model->guard_out, &call->guards,
			    call->route);
		http_stream_start(call->req, 200, "application/x-ndjson");
		return;
	}
	/* upstream.c let only a valid media type through, if any. */
	textbuf_copy(call->resp_type, sizeof(call->resp_type),
	    ctype != NULL ? ctype : "application/json");
}

/* Bytes of a stream's body to the client, hashed for its receipt. */
static size_t
proxy_stream_send(struct proxy_call *call, const char *data, size_t len)
{
	if (len > 0) {
		sha256_update(&call->response_hash, data, len);
		call->last = data[len - 1];
	}
	return http_stream_write(call->req, data, len);
}

/* The request's hash for its receipt, and the reply's begun: -1, no memory. */
static int
proxy_hash_start(struct proxy_call *call, const char *body, size_t len)
{
	if (sha256_begin(&call->response_hash) == -1)
		return -1;
	sha256_update(&call->response_hash, body, len);
	if (sha256_end(&call->response_hash, call->request_sha256) == -1)
		return -1;
	return sha256_begin(&call->response_hash);
}

/*
 * The reply's receipt fields, its body hash now final. Once per request,
 * and only for one routed to a model: -1 for none.
 */
static int
proxy_receipt_fields(struct proxy_call *call, struct receipt *rc)
{
	if (call->routed == NULL || call->trace == NULL || call->signed_once)
		return -1;
	call->signed_once = 1;
	memset(rc, 0, sizeof(*rc));
	memcpy(rc->id, call->id, sizeof(rc->id));
	rc->time_ms = (uint64_t)trace_now_ms();
	memcpy(rc->request_sha256, call->request_sha256,
	    sizeof(rc->request_sha256));
	if (sha256_end(&call->response_hash, rc->response_sha256) == -1) {
		log_warnx("%s: SHA-256 failed: the reply goes unsigned",
		    __func__);
		return -1;
	}
	textbuf_copy(rc->domain, sizeof(rc->domain), call->domain->id);
	textbuf_copy(rc->model, sizeof(rc->model), call->routed->key);
	textbuf_copy(rc->route, sizeof(rc->route), call->trace->route);
	return 0;
}

static void	proxy_signed(void *, const char *, size_t);
static void	proxy_on_abort(void *);

/*
 * Sign the reply's receipt; what (kind) waits for it goes out in
 * proxy_signed(): with the worker's batch, under one signature with the
 * other replies that finish meanwhile (within RECEIPT_BATCH_WAIT_US), or
 * now when the batch is full or off. Until then a client that leaves is
 * only noted.
 */
static void
proxy_sign(struct proxy_call *call, enum proxy_signing kind)
{
	struct receipt	rc;

	call->signing = kind;
	if (proxy_receipt_fields(call, &rc) == -1) {
		proxy_signed(call, NULL, 0);
		return;
	}
	switch (receipt_batch_add(call->worker->receipts, &rc, proxy_signed,
	    call)) {
	case 1:
		if (!call->client_gone) {
			call->req->on_abort = proxy_on_abort;
			call->req->on_drain = NULL;
			call->req->cb_arg = call;
		}
		return;
	case 0:
		receipt_sign_one(call->worker->agent->vault, &rc, proxy_signed,
		    call);
		return;
	default:
		log_warnx("%s: model %s does not fit a receipt", __func__,
		    call->routed->key);
		proxy_signed(call, NULL, 0);
		return;
	}
}

static void	proxy_reply_out(struct proxy_call *, const char *, size_t);
static void	proxy_stream_end_out(struct proxy_call *, const char *,
		    size_t);

/* The receipt is signed (NULL: it could not be): into the trace, and out. */
static void
proxy_signed(void *arg, const char *receipt, size_t len)
{
	struct proxy_call	*call = arg;
	enum proxy_signing	 kind = call->signing;

	call->signing = PROXY_SIGN_NONE;
	if (receipt != NULL && call->trace != NULL) {
		free(call->trace->receipt);
		call->trace->receipt = xstrndup(receipt, len);
	}
	if (!call->client_gone && kind == PROXY_SIGN_REPLY)
		proxy_reply_out(call, receipt, len);
	else if (!call->client_gone && kind == PROXY_SIGN_STREAM)
		proxy_stream_end_out(call, receipt, len);
	if (call->free_when_signed)
		proxy_call_free(call);
}

/* Whether p..p+len lies in a buffer the call keeps until it is freed. */
static int
proxy_owns(const struct proxy_call *call, const char *p, size_t len)
{
	uintptr_t	a = (uintptr_t)p;

	return (call->resp != NULL && a >= (uintptr_t)call->resp &&
	    a + len <= (uintptr_t)call->resp + call->resp_cap) ||
	    (call->dout.p != NULL && a >= (uintptr_t)call->dout.p &&
	    a + len <= (uintptr_t)call->dout.p + call->dout.cap);
}

/*
 * A whole reply: an answer, or an error after routing, with its receipt
 * in the head when the request was routed to a model (x-request-id is
 * the server's, on every reply). What waits for the signature must
 * outlive the caller: a body in the call's answer buffers stays where it
 * is, any other is copied into held, and so are the fields.
 */
static void
proxy_reply(struct proxy_call *call, int status, const char *type,
    const char *body, size_t len, const struct http_fields *fields)
{
	size_t	flen = fields != NULL ? fields->len : 0;
	size_t	copy = proxy_owns(call, body, len) ? 0 : len;

	if (call->routed == NULL) {
		http_reply_fields(call->req, status, type, body, len, fields);
		return;
	}
	sha256_update(&call->response_hash, body, len);
	if (copy + flen > call->held_cap) {
		call->held_cap = copy + flen;
		call->held = xreallocarray(call->held, 1, call->held_cap);
	}
	if (copy > 0)
		memcpy(call->held, body, copy);
	if (flen > 0)
		memcpy(call->held + copy, fields->buf, flen);
	call->reply_status = status;
	call->reply_type = type;
	call->reply_body = copy > 0 ? call->held : body;
	call->reply_body_len = len;
	call->reply_fields_len = flen;
	proxy_sign(call, PROXY_SIGN_REPLY);
}

/* The whole reply out, its receipt first in the head. */
static void
proxy_reply_out(struct proxy_call *call, const char *receipt, size_t n)
{
	struct http_fields	 f;
	size_t			 flen = call->reply_fields_len;
	size_t			 at;

	/* The receipt first: a backend's relayed fields cannot crowd it out. */
	http_fields_init(&f);
	if (receipt != NULL)
		http_fields_add_own(&f, RECEIPT_HEADER, receipt, n);
	if (f.len + flen <= sizeof(f.buf)) {
		/* In held, after the body when it was copied there. */
		at = call->reply_body == call->held ? call->reply_body_len : 0;
		if (flen > 0)
			memcpy(f.buf + f.len, call->held + at, flen);
		f.len += flen;
	} else
		log_warnx("%s: fields dropped: no room beside the receipt",
		    __func__);
	http_reply_fields(call->req, call->reply_status, call->reply_type,
	    call->reply_body, call->reply_body_len, &f);
}

#define PROXY_DONE	"data: [DONE]\n\n"
#define PROXY_DONE_LEN	(sizeof(PROXY_DONE) - 1)

/* What was held back goes out, unchanged: something came after it. */
static void
proxy_stream_release(struct proxy_call *call)
{
	if (call->done_held) {
		call->done_held = 0;
		proxy_stream_send(call, PROXY_DONE, PROXY_DONE_LEN);
	}
	if (call->held_len > 0) {
		proxy_stream_send(call, call->held, call->held_len);
		call->held_len = 0;
	}
}

/*
 * A stream's output, with what may end it held back for the receipt:
 * SSE's [DONE]; an Ollama line that says "done":true, or any when last
 * is set (the error line of a broken stream). Returns the bytes waiting
 * for the client. One copy of one line per stream, at most.
 */
static size_t
proxy_stream_out(struct proxy_call *call, const char *data, size_t len,
    int last)
{
	size_t	start;

	proxy_stream_release(call);
	if (!call->out_nd) {
		if (len >= PROXY_DONE_LEN && memcmp(data + len - PROXY_DONE_LEN,
		    PROXY_DONE, PROXY_DONE_LEN) == 0) {
			call->done_held = 1;
			len -= PROXY_DONE_LEN;
		}
		return proxy_stream_send(call, data, len);
	}
	if (len == 0)
		return proxy_stream_send(call, data, len);
	start = len - 1;	/* past the last line's own newline */
	while (start > 0 && data[start - 1] != '\n')
		start--;
	if (last || memmem(data + start, len - start, "\"done\":true", 11) !=
	    NULL) {
		if (len - start > call->held_cap) {
			call->held_cap = len - start;
			call->held = xreallocarray(call->held, 1,
			    call->held_cap);
		}
		memcpy(call->held, data + start, len - start);
		call->held_len = len - start;
		len = start;
	}
	return proxy_stream_send(call, data, len);
}

/*
 * The stream's end: its receipt over every byte of it but the receipt's
 * own. SSE: a comment line (every SSE client skips comments) right before
 * [DONE], so that a client that stops reading at [DONE] has seen it.
 * Ollama: a "cube_receipt" member added last to the done line that ends
 * the stream (Ollama's clients ignore members they do not know, and stop
 * reading at done); a stream without one (an error line ends it, which
 * clients stop at) has it in the trace only. The trace keeps it always.
 * The stream ends in proxy_stream_end_out(), once it is signed.
 */
static void
proxy_stream_receipt(struct proxy_call *call)
{
	call->held_brace = NULL;
	if (call->held_len > 0) {
		/* The body's last line, signed as is; the receipt goes in it. */
		if ((call->held_brace = memrchr(call->held, '}',
		    call->held_len)) != NULL)
			sha256_update(&call->response_hash, call->held,
			    call->held_len);
		else {
			proxy_stream_send(call, call->held, call->held_len);
			call->held_len = 0;
		}
	}
	if (call->held_brace == NULL && call->last != '\0' &&
	    call->last != '\n')
		proxy_stream_send(call, "\n", 1);
	proxy_sign(call, PROXY_SIGN_STREAM);
}

static void
proxy_stream_end_out(struct proxy_call *call, const char *rc, size_t n)
{
	char		 line[sizeof(RECEIPT_NDJSON_MEMBER) + RECEIPT_MAX + 4];
	const char	*brace = call->held_brace;
	int		 len;

	if (rc == NULL)
		len = 0;
	else if (!call->out_nd)
		len = snprintf(line, sizeof(line), "%s%.*s\n\n",
		    RECEIPT_SSE_PREFIX, (int)n, rc);
	else if (brace != NULL)
		len = snprintf(line, sizeof(line), "%s%.*s\"",
		    RECEIPT_NDJSON_MEMBER, (int)n, rc);
	else
		len = 0;	/* no done line (an error line ends it): traced */
	if (len < 0 || (size_t)len >= sizeof(line))
		len = 0;
	if (brace != NULL) {
		n = (size_t)(brace - call->held);
		http_stream_write(call->req, call->held, n);
		http_stream_write(call->req, line, (size_t)len);
		http_stream_write(call->req, brace, call->held_len - n);
		call->held_len = 0;
	} else
		http_stream_write(call->req, line, (size_t)len);
	if (call->done_held) {
		call->done_held = 0;
		http_stream_write(call->req, PROXY_DONE, PROXY_DONE_LEN);
	}
	http_stream_end(call->req);
}

/* Bytes to the client; past the high water mark, pause the backend. */
static void
proxy_relay_write(struct proxy_call *call, const char *data, size_t len)
{
	if (proxy_stream_out(call, data, len, 0) > HTTP_STREAM_HIGH_WATER &&
	    !call->paused) {
		call->paused = 1;
		upstream_pause(call->up);
	}
}

static int
proxy_dialect_event(void *arg, const char *data, size_t len)
{
	struct proxy_call	*call = arg;

	return call->dialect->event(call->dcall, data, len, &call->dout);
}

/*
 * OpenAI stream bytes (whole events) as the client is to get them: as
 * they are, or translated by the route's dialect. relay: pause the
 * backend past the high water mark. -1 when the dialect cannot read them.
 */
static int
proxy_emit(struct proxy_call *call, const char *data, size_t len, int relay)
{
	int	rc = 0;

	if (call->dialect != NULL) {
		call->dout.len = 0;
		rc = dialect_events(data, len, proxy_dialect_event, call);
		data = call->dout.p;
		len = call->dout.len;
	} else
		data = rewrite_answer_model(call->answer_as, data, len,
		    &call->dout, &len);
	if (len > 0 && relay)
		proxy_relay_write(call, data, len);
	else if (len > 0)
		proxy_stream_out(call, data, len, 0);
	return rc;
}

/* A translated stream ended well: the dialect's closing events. */
static void
proxy_dialect_end(struct proxy_call *call)
{
	if (call->dialect == NULL || call->dialect->end == NULL)
		return;
	call->dout.len = 0;
	call->dialect->end(call->dcall, &call->dout);
	proxy_stream_out(call, call->dout.p, call->dout.len, 1);
}

static int
proxy_relay_event(void *arg, const char *event, size_t len)
{
	struct proxy_call	*call = arg;
	ssize_t			 n;

	/* Its data, decoded once for the meter and the guardrails. */
	if (len + 1 > call->evcap) {
		call->evcap = len + 1;
		call->evdata = xreallocarray(call->evdata, 1, call->evcap);
	}
	n = sse_event_data(event, len, call->evdata, call->evcap);
	/* The usage chunk we asked for is the gateway's, not the client's. */
	if (meter_event_data(&call->meter, call->evdata, n) ==
	    METER_USAGE_ONLY && call->strip_usage)
		return 0;
	/* Output guardrails: the event as they let it out, maybe nothing. */
	if (call->answer != NULL && guard_answer_event_data(call->answer,
	    event, len, call->evdata, n, &event, &len) == GUARD_BLOCKED) {
		proxy_emit(call, event, len, 0);
		call->blocked = 1;
		return -1;	/* stop the backend: the stream is over */
	}
	if (len > 0 && proxy_emit(call, event, len, 1) == -1) {
		call->cut = "the model's backend sent a stream the gateway"
		    " cannot read";
		return -1;
	}
	return 0;
}

/* One line of an Ollama stream: metered, through the guardrails, out. */
static int
proxy_relay_line(void *arg, const char *line, size_t len)
{
	struct proxy_call	*call = arg;

	meter_ollama(&call->meter, line, len, call->route);
	if (call->answer_ollama != NULL && guard_ollama_line(
	    call->answer_ollama, line, len, &line, &len) == GUARD_BLOCKED) {
		proxy_stream_out(call, line, len, 1);
		call->blocked = 1;
		return -1;	/* stop the backend: the stream is over */
	}
	if (len > 0) {
		line = rewrite_answer_model(call->answer_as, line, len,
		    &call->dout, &len);
		proxy_relay_write(call, line, len);
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
	size_t			 max = PROXY_MAX_RESPONSE;

	if (call->trace != NULL && call->trace->ttft_ms < 0)
		call->trace->ttft_ms = deployment_now_ms() - call->start_ms;
	if (call->relaying) {
		if ((call->nd != NULL ? ndjson_feed(call->nd, data, len,
		    proxy_relay_line, call) : sse_feed(call->sse, data, len,
		    proxy_relay_event, call)) == 0)
			return 0;
		/* Unless a guardrail ended it, an event outgrew the limit. */
		if (!call->blocked)
			call->cut = call->nd != NULL ? "the model's backend"
			    " sent a line larger than the gateway takes" :
			    "the model's backend sent an event larger than"
			    " the gateway takes";
		return -1;
	}
	/* An error's body is read only to retell it: a little is enough. */
	if (call->status < 200 || call->status >= 300)
		max = PROXY_MAX_ERROR_BODY;
	if (call->resp_len + len > max) {
		call->cut = "the model's backend sent an answer larger than the"
		    " gateway takes";
		return -1;
	}
	if (call->resp_len + len > call->resp_cap) {
		call->resp_cap = (call->resp_len + len) * 2;
		call->resp = xreallocarray(call->resp, 1, call->resp_cap);
	}
	memcpy(call->resp + call->resp_len, data, len);
	call->resp_len += len;
	return 0;
}

/*
 * A backend error status, told to the client in the route's error shape:
 * what is about the request keeps its status (and a 429 its rate-limit
 * headers); the rest is the gateway's 502. Never the backend's raw bytes.
 */
static void
proxy_reply_backend_error(struct proxy_call *call)
{
	long	st = call->status;
	char	msg[128];
	size_t	i;

	snprintf(msg, sizeof(msg), "the model's backend answered HTTP %ld",
	    st);
	for (i = 0; i < sizeof(proxy_kept_statuses) /
	    sizeof(proxy_kept_statuses[0]); i++) {
		if (proxy_kept_statuses[i].status != st)
			continue;
		proxy_reply_error(call, (int)st, proxy_kept_statuses[i].error,
		    TRACE_STEP_UPSTREAM, call->resp != NULL ? call->resp : "",
		    call->resp_len, st == 429 ? call->relay : NULL,
		    msg);
		return;
	}
	if (st == 401 || st == 403) {
		/* The attempt that got it, which has ended by now. */
		log_warnx("provider %s rejected the credential (HTTP %ld)",
		    call->nattempts > 0 ? call->attempts[call->nattempts -
		    1].dep->provider->name : call->model->provider->name, st);
		snprintf(msg, sizeof(msg), "the model's provider rejected the"
		    " gateway's credential");
	} else if (st == 404)
		snprintf(msg, sizeof(msg), "the model's backend does not serve"
		    " it");
	proxy_reply_error(call, api_error_status(API_UPSTREAM_ERROR),
	    API_UPSTREAM_ERROR, TRACE_STEP_UPSTREAM, NULL, 0, NULL, msg);
}

/* A whole OpenAI answer in the dialect's shape, or a 502. */
static void
proxy_reply_translated(struct proxy_call *call, const char *json, size_t len)
{
	char	*body;
	size_t	 n;

	if ((body = call->dialect->answer(call->dcall, json, len, &n)) ==
	    NULL) {
		call->cut = "the model's backend sent an answer the gateway"
		    " cannot read";
		proxy_reject(call, TRACE_STEP_UPSTREAM, API_UPSTREAM_ERROR,
		    NULL, "%s", call->cut);
		return;
	}
	proxy_reply(call, 200, "application/json", body, n, NULL);
	free(body);
}

/*
 * A whole answer, through the output guardrails; an OpenAI one (not
 * native) metered here, from the usage their walk found when they had
 * one (ollama and native answers are metered before).
 */
static void
proxy_reply_answer(struct proxy_call *call)
{
	struct jscan_span	 usage;
	enum guard_result	 res;
	const char		*body;
	char			*out;
	size_t			 outlen, len;

	if (call->backend_ollama)
		res = guard_ollama_body(&call->model->guard_out, call->route,
		    call->resp, call->resp_len, &out, &outlen, &call->guards);
	else {
		res = guard_answer_body_usage(&call->model->guard_out,
		    call->route, call->resp, call->resp_len, &out, &outlen,
		    &call->guards, &usage);
		if (!call->native)
			meter_answer_usage(&call->meter, call->resp,
			    call->resp_len, &usage);
	}
	switch (res) {
	case GUARD_PASS:
		if (call->dialect != NULL) {
			proxy_reply_translated(call, call->resp,
			    call->resp_len);
			return;
		}
		body = rewrite_answer_model(call->answer_as, call->resp,
		    call->resp_len, &call->dout, &len);
		proxy_reply(call, 200, call->resp_type, body, len, NULL);
		return;
	case GUARD_BLOCKED:
		call->trace->step = TRACE_STEP_OUTPUT_GUARDRAIL;
		break;
	case GUARD_FAILED:
		/* An answer the guardrails cannot read is not delivered. */
		proxy_reject(call, TRACE_STEP_OUTPUT_GUARDRAIL,
		    API_UPSTREAM_ERROR, NULL, GUARD_UNCHECKED);
		return;
	default:
		break;
	}
	if (call->dialect != NULL)
		proxy_reply_translated(call, out, outlen);
	else {
		body = rewrite_answer_model(call->answer_as, out, outlen,
		    &call->dout, &len);
		proxy_reply(call, 200, "application/json", body, len, NULL);
	}
	free(out);
}

/* The transfer failed before the answer's head went out: say why. */
static void
proxy_reply_failure(struct proxy_call *call, enum upstream_result res,
    const char *why)
{
	const struct proxy_failure	*f = &proxy_failures[res];
	struct http_fields		 retry;
	char				 msg[512];

	if (call->cut != NULL)
		snprintf(msg, sizeof(msg), "%s", call->cut);
	else if (res == UPSTREAM_BAD_ANSWER)
		snprintf(msg, sizeof(msg), "%s: %s", f->before, why);
	else
		snprintf(msg, sizeof(msg), "%s", f->before);
	http_fields_init(&retry);
	http_fields_addf(&retry, "Retry-After", "1");
	proxy_reply_error(call, api_error_status(f->error), f->error,
	    f->step, NULL, 0, res == UPSTREAM_LOCAL ? &retry : NULL, msg);
}

/* The stream's head is out: an error can only be said in the stream. */
static void
proxy_stream_failure(struct proxy_call *call, enum upstream_result res)
{
	const struct proxy_failure	*f = &proxy_failures[res];
	const char			*said;
	char				 ev[1200];
	size_t				 n;

	said = call->cut != NULL ? call->cut : f->during;
	if (call->dialect != NULL) {
		call->dout.len = 0;
		call->dialect->stream_error(call->dcall, f->error, said,
		    &call->dout);
		proxy_stream_out(call, call->dout.p, call->dout.len, 1);
	} else if (call->ollama) {
		n = ollama_error_body(ev, sizeof(ev) - 1, said);
		ev[n++] = '\n';
		proxy_stream_out(call, ev, n, 0);
	} else {
		n = api_error_body(ev + 6, sizeof(ev) - 8, f->error, NULL,
		    said);
		memcpy(ev, "data: ", 6);
		memcpy(ev + 6 + n, "\n\n", 2);
		proxy_stream_out(call, ev, n + 8, 0);
	}
	call->trace->error = api_error_code(f->error);
	call->trace->step = f->step;
}

/* The stream ended: what the output guardrails still hold goes out. */
static enum guard_result
proxy_relay_finish(struct proxy_call *call)
{
	enum guard_result	 res;
	const char		*out;
	size_t			 outlen;

	if (call->answer != NULL)
		res = guard_answer_finish(call->answer, &out, &outlen);
	else if (call->answer_ollama != NULL)
		res = guard_ollama_finish(call->answer_ollama, &out, &outlen);
	else
		return GUARD_PASS;
	if (outlen > 0)
		proxy_emit(call, out, outlen, 0);
	return res;
}

static const struct upstream_cb	proxy_upstream_cb;

/* How an attempt failed, as the trace's attempts name it. */
static const char *const proxy_attempt_errors[] = {
	[UPSTREAM_OK] = NULL,
	[UPSTREAM_ERROR] = "upstream_error",
	[UPSTREAM_TIMEOUT] = "upstream_timeout",
	[UPSTREAM_BAD_ANSWER] = "bad_answer",
	[UPSTREAM_LOCAL] = "gateway",
};

/* Whether fallback f can take the request the way the asked model would. */
static int
proxy_fallback_fits(const struct proxy_call *call, const struct reg_model *f)
{
	const struct reg_model	*m = call->routed;

	if (!f->active || f->category != m->category)
		return 0;
	/* The token's allow-list holds for fallbacks too. */
	if (call->token != NULL && !registry_token_allows(call->token, f))
		return 0;
	/* The body is made for one wire format. */
	if ((f->provider->driver == DRIVER_OLLAMA) !=
	    (m->provider->driver == DRIVER_OLLAMA))
		return 0;
	if (call->native && !f->responses_api)
		return 0;
	return 1;
}

/*
 * The next deployment to try: one of the target's not tried yet while
 * its retries last, else one of the first of the asked model's fallbacks
 * that can take the request and has one. 0 with call->dep set (counted
 * outstanding until it ends), or -1.
 */
static int
proxy_pick(struct proxy_call *call)
{
	const struct reg_model	*t, *f;
	int64_t			 now = deployment_now_ms();
	int			 k, probe;

	for (;;) {
		t = call->target;
		if (call->target_attempts <= t->retries &&
		    (k = deployment_select(call->domain, t->deployments,
		    t->ndeployments, call->tried, now,
		    call->worker->rotation++, &probe)) >= 0) {
			call->dep = &t->deployments[k];
			call->probe = probe;
			call->tried |= 1u << k;
			call->target_attempts++;
			deployment_begin(call->dep->state);
			call->answer_as = call->routed;
			if (call->dep->model_id != call->routed->model_id) {
				call->answer_view = *call->routed;
				call->answer_view.model_id_json =
				    call->dep->model_id_json;
				call->answer_as = &call->answer_view;
			}
			/* The trace names the asked model's first already. */
			if (call->trace != NULL &&
			    call->dep != &call->routed->deployments[0])
				trace_set_names(call->trace, call->routed->key,
				    call->routed->key_len, call->dep->model_id,
				    call->dep->provider->name);
			return 0;
		}
		for (f = NULL; f == NULL && call->next_fallback <
		    call->routed->nfallbacks; ) {
			f = call->routed->fallbacks[call->next_fallback++];
			if (!proxy_fallback_fits(call, f))
				f = NULL;
		}
		if (f == NULL)
			return -1;
		call->target = f;
		call->tried = 0;
		call->target_attempts = 0;
	}
}

/* The body's model as d's id, when the body was made for another's. */
static void
proxy_body_model(struct proxy_call *call, const struct reg_deployment *d)
{
	struct jscan_span	 span;
	struct jscan_want	 want = { "model", &span };
	size_t			 idlen = strlen(d->model_id_json), cut, len;
	char			*body;

	if (jscan_object(call->body, call->body_len, JSCAN_DEPTH_MAX, &want, 1,
	    NULL, 0) == -1 || !span.present)
		return;
	cut = span.end - span.start;
	if (cut == idlen && memcmp(call->body + span.start, d->model_id_json,
	    idlen) == 0)
		return;
	len = call->body_len - cut + idlen;
	body = xmalloc(len + 1);
	memcpy(body, call->body, span.start);
	memcpy(body + span.start, d->model_id_json, idlen);
	memcpy(body + span.start + idlen, call->body + span.end,
	    call->body_len - span.end);
	body[len] = '\0';
	free(call->body);
	call->body = body;
	call->body_len = len;
}

/* Send the body to the call's deployment, on the route's URL there. */
static void
proxy_attempt_start(struct proxy_call *call)
{
	const struct reg_deployment	*d = call->dep;
	struct upstream_trace		 ut;
	const char			*url;

	if (call->backend_ollama)
		url = d->url_ollama[call->route == ROUTE_CHAT ? 0 :
		    call->route == ROUTE_COMPLETIONS ? 1 :
		    call->client_route == ROUTE_OLLAMA_EMBEDDINGS ? 3 : 2];
	else if (call->native)
		url = d->url_responses;
	else if (call->client_route == ROUTE_FIM)
		url = d->url_fim;
	else if (call->client_route == ROUTE_RERANK)
		url = d->url_rerank;
	else
		url = call->route == ROUTE_CHAT ? d->url_chat :
		    call->route == ROUTE_COMPLETIONS ? d->url_completions :
		    d->url_embeddings;
	call->attempt_ms = deployment_now_ms();
	/*
	 * An attested provider is reached at the key its evidence bound and
	 * no other, whether or not the domain requires it (one that does
	 * never gets here without a verdict); before one, the CAs decide.
	 */
	call->up = upstream_start(call->worker->upstream, url,
	    d->provider->auth, d->provider->attest_pin,
	    d->provider->attest_pin_ca, call->body, call->body_len,
	    call->stream, &proxy_upstream_cb, call,
	    proxy_trace_upstream(call, &ut));
}

/*
 * The attempt is over: note it for the trace and tell its deployment's
 * breaker. Returns 1 when it failed in a way another deployment may
 * mend, before a byte reached the client: connect, reset, timeout, an
 * unreadable answer, 5xx or 429.
 */
static int
proxy_attempt_end(struct proxy_call *call, enum upstream_result res)
{
	struct proxy_attempt	*a;
	enum deploy_outcome	 out;
	long			 st = call->status;
	int64_t			 now = deployment_now_ms();

	if (call->dep == NULL)
		return 0;
	if (res == UPSTREAM_LOCAL)
		out = DEPLOY_NO_VERDICT;	/* we ran short, not it */
	else if (call->blocked || (call->cut != NULL && st > 0 && st < 500 &&
	    st != 429))
		out = DEPLOY_SUCCESS;	/* it answered; we cut it off */
	else if (res != UPSTREAM_OK || st >= 500 || st == 429)
		out = DEPLOY_FAILURE;
	else
		out = DEPLOY_SUCCESS;
	if (call->nattempts < PROXY_ATTEMPTS_MAX) {
		a = &call->attempts[call->nattempts++];
		a->model = call->target;
		a->dep = call->dep;
		a->status = st;
		a->error = (size_t)res < sizeof(proxy_attempt_errors) /
		    sizeof(proxy_attempt_errors[0]) ?
		    proxy_attempt_errors[res] : NULL;
		a->ms = now - call->attempt_ms;
	}
	deployment_end(call->dep->state, out, call->probe, now);
	call->dep = NULL;
	call->probe = 0;
	return out == DEPLOY_FAILURE && !call->relaying && call->cut == NULL;
}

/*
 * Another attempt, on another deployment or a fallback, while the retry
 * budget and the deadline last: 0 when one started.
 */
static int
proxy_retry(struct proxy_call *call)
{
	struct http_request	*r = call->req;

	if (call->nattempts >= PROXY_ATTEMPTS_MAX ||
	    deployment_now_ms() >= call->deadline_ms || proxy_pick(call) == -1)
		return -1;
	deployment_retried(call->dep->state);
	log_info("model %s: retrying on %s (%s) after attempt %zu", call->routed->key,
	    call->dep->provider->name, call->target->key, call->nattempts);
	/* What the failed attempt left is dropped. */
	call->status = 0;
	call->resp_len = 0;
	call->resp_type[0] = '\0';
	free(call->relay);
	call->relay = NULL;
	call->guards.output = 0;
	if (call->trace != NULL)
		call->trace->ttft_ms = -1;
	proxy_body_model(call, call->dep);
	proxy_attempt_start(call);
	r->on_abort = proxy_on_abort;
	r->on_drain = proxy_on_drain;
	r->cb_arg = call;
	return 0;
}

static void
proxy_on_done(void *arg, enum upstream_result res, const char *why)
{
	struct proxy_call	*call = arg;
	struct http_request	*r = call->req;

	call->up = NULL;
	r->on_abort = NULL;
	r->on_drain = NULL;
	if (res != UPSTREAM_OK && !call->relaying && !call->blocked &&
	    call->cut == NULL)
		log_warnx("%s for model %s on %s: %s",
		    proxy_failures[res].log, call->model->key,
		    call->dep != NULL ? call->dep->provider->name : "?", why);
	if (proxy_attempt_end(call, res) && proxy_retry(call) == 0)
		return;
	if (call->blocked) {
		/* An output guardrail ended the stream and cut the backend. */
		call->trace->status = 200;
		call->trace->step = TRACE_STEP_OUTPUT_GUARDRAIL;
		proxy_dialect_end(call);
		proxy_stream_receipt(call);
		proxy_call_free(call);
		return;
	}
	if (res != UPSTREAM_OK && (call->relaying || call->cut != NULL))
		log_warnx("%s for model %s: %s", proxy_failures[res].log,
		    call->model->key, call->cut != NULL ? call->cut : why);
	if (call->relaying) {
		/* An event the backend ended with a bare CR is still held. */
		if (res == UPSTREAM_OK && call->nd != NULL)
			ndjson_finish(call->nd, proxy_relay_line, call);
		else if (res == UPSTREAM_OK)
			sse_finish(call->sse, proxy_relay_event, call);
		/*
		 * Text the output guardrails still hold. A block there, or in
		 * a last event, ended the stream ([DONE] is out): no error
		 * event after it, and the trace says who ended it.
		 */
		if (!call->blocked && proxy_relay_finish(call) == GUARD_BLOCKED)
			call->blocked = 1;
		if (res != UPSTREAM_OK && !call->blocked)
			proxy_stream_failure(call, res);
		else
			proxy_dialect_end(call);
		call->trace->status = 200;
		if (call->blocked)
			call->trace->step = TRACE_STEP_OUTPUT_GUARDRAIL;
		proxy_stream_receipt(call);
	} else if (call->status >= 300 && (res == UPSTREAM_OK ||
	    res == UPSTREAM_ERROR))
		/* Its body cut short or broken off: the status still says it. */
		proxy_reply_backend_error(call);
	else if (res != UPSTREAM_OK)
		proxy_reply_failure(call, res, why);
	else if (call->status >= 200) {
		if (call->backend_ollama)
			meter_ollama(&call->meter, call->resp, call->resp_len,
			    call->route);
		else if (call->native)
			/* Read whole: the client's metadata follows usage. */
			meter_json(&call->meter, call->resp, call->resp_len);
		call->trace->status = 200;
		proxy_reply_answer(call);
	} else
		proxy_reply_backend_error(call);
	proxy_call_free(call);
}

/*
 * The client hung up: cancel the backend request at once. The trace bills
 * what was delivered (the backend's usage never comes: an estimate).
 */
static void
proxy_on_abort(void *arg)
{
	struct proxy_call	*call = arg;

	call->client_gone = 1;
	call->trace->cancelled = 1;
	/* Its reply waited for the batch's signature: it goes to the trace. */
	if (call->signing != PROXY_SIGN_NONE) {
		if (call->signing == PROXY_SIGN_REPLY)
			call->trace->status = 499;
		return;
	}
	call->trace->status = call->relaying ? 200 : 499;
	/* What was sent of a stream is signed, in the trace only. */
	if (call->relaying)
		proxy_sign(call, PROXY_SIGN_TRACE);
	proxy_call_free(call);
}

static const struct upstream_cb proxy_upstream_cb = {
	proxy_on_response,
	proxy_on_data,
	proxy_on_done,
};

/* --- the pipeline -------------------------------------------------------- */

/* A route's translator, or NULL. */
static const struct dialect_ops *
proxy_dialect(enum dialect_kind k)
{
	switch (k) {
	case DIALECT_ANTHROPIC:
		return &dialect_anthropic;
	case DIALECT_RESPONSES:
		return &dialect_responses;
	case DIALECT_OLLAMA:
		return &dialect_ollama;
	default:
		return NULL;
	}
}

/* Routes that reach a model upstream, and leave a trace. */
static int
proxy_traced(enum route_kind k)
{
	switch (k) {
	case ROUTE_CHAT:
	case ROUTE_COMPLETIONS:
	case ROUTE_EMBEDDINGS:
	case ROUTE_MESSAGES:
	case ROUTE_RESPONSES:
	case ROUTE_OLLAMA_EMBEDDINGS:
	case ROUTE_FIM:
	case ROUTE_RERANK:
		return 1;
	default:
		return 0;
	}
}

/* Ollama's /api/show: one model's card, or 404. */
static void
proxy_ollama_show(struct proxy_call *call)
{
	ollama_show(call->req, call->domain, call->token, call->req->body,
	    call->req->body_len);
	proxy_call_free(call);
}

/* A refusal of the limiter, in the route's error shape (Ollama's on its routes). */
static void
proxy_limit_refuse(struct proxy_call *call, enum limit_result res, int retry)
{
	struct http_fields	 f;
	enum api_error		 e = API_RATE_LIMIT_EXCEEDED;
	const char		*msg = "The API key's rate limit is reached;"
				    " retry later.";

	switch (res) {
	case LIMIT_BUDGET:
		e = API_BUDGET_EXCEEDED;
		msg = "The API key's spend budget does not cover this request.";
		break;
	case LIMIT_UNAVAILABLE:
		/* Fail closed: a budget no host can check is not spent. */
		e = API_LIMITS_UNAVAILABLE;
		msg = "The API key's spend budget cannot be checked now (the"
		    " shared limits store is unreachable); retry later.";
		if (retry == 0)
			retry = 1;
		break;
	default:
		break;
	}
	http_fields_init(&f);
	if (retry > 0)
		http_fields_addf(&f, "Retry-After", "%d", retry);
	proxy_reply_error(call, api_error_status(e), e, TRACE_STEP_LIMIT, NULL,
	    0, &f, msg);
}

static void	proxy_forward(struct proxy_call *);
static void	proxy_on_abort(void *);

/* Redis answered for a request waiting on shared limits: go on, or refuse. */
static void
proxy_on_limit(void *arg, enum limit_result res, int retry)
{
	struct proxy_call	*call = arg;

	limit_fields(call->req, &call->limit.state);
	if (res == LIMIT_OK) {
		proxy_forward(call);
		return;
	}
	proxy_limit_refuse(call, res, retry);
	proxy_call_free(call);
}

/*
 * 6. rate limit / budget, on the body as it goes upstream: a budget
 * reserves what the request may cost at most, for the prompt and the
 * output cap the backend is sent. Returns -1 when refused (answered), 1
 * when shared limits are asked (proxy_on_limit() goes on), 0 to forward.
 */
static int
proxy_limit(struct proxy_call *call, const struct reg_token *t,
    const struct request *rq)
{
	enum limit_result	 res;
	int64_t			 estimate = 0;
	int			 retry;

	/* The playground has no token, so no token's limits. */
	if (t == NULL || (t->rpm == 0 && t->tpm == 0 && t->budget == 0))
		return 0;
	if (t->budget != 0) {
		const struct reg_model	*m = call->routed;
		int64_t			 e;
		size_t			 i;

		/*
		 * A fallback may answer at its own prices: reserve for the
		 * dearest, so a budget holds whichever model serves.
		 */
		estimate = limit_estimate(call->model, rq->prompt_bytes,
		    rq->max_output);
		for (i = 0; i < m->nfallbacks; i++)
			if ((e = limit_estimate(m->fallbacks[i],
			    rq->prompt_bytes, rq->max_output)) > estimate)
				estimate = e;
	}
	if (call->worker->redis != NULL) {
		res = limit_acquire_shared(t, trace_now_ms(), estimate,
		    &call->limit, &retry, call->worker->redis,
		    proxy_on_limit, call);
		if (res == LIMIT_PENDING) {
			/* The client may leave meanwhile: a 499, traced. */
			call->req->on_abort = proxy_on_abort;
			call->req->cb_arg = call;
			return 1;
		}
	} else
		res = limit_acquire(t, trace_now_ms(), estimate, &call->limit,
		    &retry);
	limit_fields(call->req, &call->limit.state);
	if (res == LIMIT_OK)
		return 0;
	proxy_limit_refuse(call, res, retry);
	return -1;
}

/*
 * The client's body in the dialect's format, as OpenAI's: dr filled, the
 * call's pipeline route and trace route set. -1 when refused (answered).
 */
static int
proxy_translate(struct proxy_call *call, struct dialect_request *dr)
{
	struct http_request	*r = call->req;
	const char		*param = NULL;
	char			 err[512], id[HTTP_REQUEST_ID_HEX + 1];

	free(dr->body);
	memset(dr, 0, sizeof(*dr));
	/* Stored responses: for a domain that logs content only. */
	dr->domain_id = call->domain->id;
	dr->keep = call->domain->log_content;
	http_request_id_hex(r, id);
	if ((call->dcall = call->dialect->open(call->client_route, r->body,
	    r->body_len, id, time(NULL), dr, err, sizeof(err), &param)) ==
	    NULL) {
		proxy_reject(call, TRACE_STEP_REQUEST, API_INVALID_REQUEST,
		    param, "%s", err);
		return -1;
	}
	call->route = dr->route;
	if (call->trace != NULL && dr->trace_route != NULL)
		call->trace->route = dr->trace_route;
	return 0;
}

/* The one scan of a body (answered with a 400 when it fails): 0 or -1. */
static int
proxy_scan(struct proxy_call *call, struct request *rq, const char *body,
    size_t len, int ollama)
{
	char	err[256];

	if (request_scan(rq, body, len, ollama, err, sizeof(err)) == -1) {
		proxy_reject(call, TRACE_STEP_REQUEST, API_INVALID_REQUEST,
		    rq->param, "%s", err);
		return -1;
	}
	return 0;
}

/* The scanned body's model key into key: its length, or -1 (answered). */
static ssize_t
proxy_model_key(struct proxy_call *call, const struct request *rq, char *key,
    size_t size)
{
	ssize_t	klen;

	if (!rq->model.present || rq->model.type != JSCAN_STRING ||
	    (klen = jscan_string(rq->body, &rq->model, key, size)) <= 0) {
		proxy_reject(call, TRACE_STEP_REQUEST, API_INVALID_REQUEST,
		    "model", "'model' must be a model key (a non-empty"
		    " string)");
		return -1;
	}
	return klen;
}

/*
 * The client's body translated by the call's dialect and scanned again,
 * as chat, in place of the scan of it as it came. -1 when refused.
 */
static int
proxy_retranslate(struct proxy_call *call, struct request *rq,
    struct dialect_request *dr)
{
	request_clear(rq);
	memset(rq, 0, sizeof(*rq));
	if (proxy_translate(call, dr) == -1)
		return -1;
	return proxy_scan(call, rq, dr->body, dr->len, 0);
}

/*
 * A Responses API body to pass through (call->native from here): what
 * would have the backend keep the conversation is refused unless the
 * domain keeps content itself, and *add_store says to send store: false
 * where the client left it out (the backend's default may be to keep).
 * -1 when refused (answered).
 */
static int
proxy_native_check(struct proxy_call *call, const struct reg_domain *d,
    const struct request *rq, int *add_store)
{
	static const struct {
		const char	*name;
		int		 only_true;
	} kept[] = {
		{ "previous_response_id", 0 },
		{ "store", 1 },
		{ "conversation", 0 },
		{ "background", 1 },
	};
	struct jscan_span	 v[4];
	struct jscan_want	 want[4];
	size_t			 i;

	call->dialect = NULL;
	call->native = 1;
	call->route = ROUTE_RESPONSES;
	*add_store = 0;
	if (d->log_content)
		return 0;
	for (i = 0; i < 4; i++)
		want[i] = (struct jscan_want){ kept[i].name, &v[i] };
	/* request_scan() took the body: this cannot fail. */
	if (jscan_object(rq->body, rq->len, JSCAN_DEPTH_MAX, want, 4, NULL,
	    0) == -1)
		return 0;
	for (i = 0; i < 4; i++) {
		if (!v[i].present || v[i].type == JSCAN_NULL ||
		    (kept[i].only_true && v[i].type == JSCAN_FALSE))
			continue;
		proxy_reject(call, TRACE_STEP_REQUEST, API_INVALID_REQUEST,
		    kept[i].name, "%s: this domain keeps no conversations, so"
		    " its backend keeps none either; send the conversation in"
		    " input%s", kept[i].name, kept[i].only_true ?
		    ", and store: false" : "");
		return -1;
	}
	*add_store = !v[1].present;
	return 0;
}

/* "store": false as the first member of the body going upstream. */
static void
proxy_native_store(struct proxy_call *call)
{
	static const char	 member[] = "\"store\":false,";
	char			*open, *body;
	size_t			 at;

	/* rewrite_body() gave one object, with its model: not empty. */
	if ((open = memchr(call->body, '{', call->body_len)) == NULL)
		return;
	at = open - call->body + 1;
	body = xmalloc(call->body_len + sizeof(member));
	memcpy(body, call->body, at);
	memcpy(body + at, member, sizeof(member) - 1);
	memcpy(body + at + sizeof(member) - 1, call->body + at,
	    call->body_len - at);
	call->body_len += sizeof(member) - 1;
	body[call->body_len] = '\0';
	free(call->body);
	call->body = body;
}

/*
 * From the body to the backend: the one scan of the request, the model,
 * the input guardrails, the rewrite and the limits, all on what that scan
 * found (and on the redacted body, when a guardrail changed it).
 */
static void
proxy_inference(struct proxy_call *call, const struct reg_domain *d,
    const struct reg_token *t)
{
	struct http_request	*r = call->req;
	struct request		 rq;
	struct dialect_request	 dr;
	struct trace		*tr = call->trace;
	const struct reg_model	*m;
	char			 key[256], *guarded = NULL;
	size_t			 len;
	ssize_t			 klen;
	int64_t			 n;
	int			 client_usage, add_store = 0;

	memset(&rq, 0, sizeof(rq));
	memset(&dr, 0, sizeof(dr));
	/*
	 * Anthropic's body: as chat, before anything. The Responses API's is
	 * scanned as it is: its model says whether it passes through.
	 */
	if (call->dialect != NULL && call->dialect != &dialect_responses &&
	    proxy_translate(call, &dr) == -1)
		goto done;
	if (proxy_scan(call, &rq, dr.body != NULL ? dr.body : r->body,
	    dr.body != NULL ? dr.len : r->body_len, call->backend_ollama) ==
	    -1 || (klen = proxy_model_key(call, &rq, key, sizeof(key))) == -1)
		goto done;
	if ((m = call->ollama ? ollama_find_model(d, key, klen) :
	    registry_find_model(d, key, klen)) == NULL ||
	    (t != NULL && !registry_token_allows(t, m))) {
		trace_set_names(tr, key, strnlen(key, (size_t)klen), NULL,
		    NULL);
		proxy_reject(call, TRACE_STEP_MODEL, API_MODEL_NOT_FOUND, "model",
		    "The model '%s' does not exist or you do not have access"
		    " to it.", key);
		goto done;
	}
	trace_set_names(tr, m->key, m->key_len, m->model_id,
	    m->provider->name);	/* the deployment's, once one is picked */
	/*
	 * Routed: from here every reply is signed, refusals too. The receipt
	 * signs the body as the client sent it, before any redaction.
	 */
	if (proxy_hash_start(call, r->body, r->body_len) == -1) {
		proxy_reject(call, TRACE_STEP_GATEWAY, API_UNAVAILABLE, NULL,
		    "%s", PROXY_MSG_LOCAL);
		goto done;
	}
	call->routed = m;
	if (!m->active) {
		proxy_reject(call, TRACE_STEP_MODEL_STATE, API_MODEL_INACTIVE,
		    "model", "The model '%s' is inactive.", key);
		goto done;
	}
	if ((call->route == ROUTE_EMBEDDINGS) !=
	    (m->category == MODEL_EMBEDDING)) {
		proxy_reject(call, TRACE_STEP_MODEL_STATE, API_INVALID_REQUEST,
		    "model", "The model '%s' is %s model.", key,
		    m->category == MODEL_EMBEDDING ? "an embedding" :
		    "not an embedding");
		goto done;
	}
	/*
	 * Ollama's routes forward natively to an Ollama backend; to any
	 * other they are translated (and the body scanned again, as chat).
	 */
	if (call->ollama && m->provider->driver != DRIVER_OLLAMA) {
		call->dialect = &dialect_ollama;
		call->backend_ollama = 0;
		if (proxy_retranslate(call, &rq, &dr) == -1)
			goto done;
	}
	/*
	 * The Responses API passes through to a provider that serves it,
	 * unless output guardrails are to read the answer: they read chat
	 * completions, so only translated do they see every word.
	 */
	if (call->dialect == &dialect_responses) {
		if (m->responses_api && guard_list_empty(&m->guard_out)) {
			if (proxy_native_check(call, d, &rq, &add_store) == -1)
				goto done;
		} else if (proxy_retranslate(call, &rq, &dr) == -1)
			goto done;
	}
	if (call->client_route == ROUTE_FIM &&
	    !guard_list_empty(&m->guard_out)) {
		/* Fail closed: no output guardrail reads a FIM answer yet. */
		proxy_reject(call, TRACE_STEP_MODEL_STATE, API_INVALID_REQUEST,
		    "model", "The model '%s' has output guardrails, which"
		    " cannot check fill-in-the-middle answers.", key);
		goto done;
	}
	/* The deployment to try first: of the model, else a fallback. */
	call->target = m;
	call->deadline_ms = call->start_ms + m->retry_deadline_ms;
	if (proxy_pick(call) == -1) {
		const struct reg_provider	*p;
		size_t				 i, errored = 0, unattested = 0;

		for (i = 0; i < m->ndeployments; i++) {
			p = m->deployments[i].provider;
			errored += p->errored != 0;
			unattested += !provider_admits(d, p);
		}
		/* Confidential routing: never to a provider not attested now. */
		if (unattested == m->ndeployments) {
			p = m->deployments[0].provider;
			proxy_reject(call, TRACE_STEP_MODEL_STATE,
			    API_ATTESTATION_REQUIRED, NULL, "The domain requires"
			    " an attested provider; provider '%s' is not"
			    " attested (%.72s).", p->name,
			    p->attest_error != NULL ? p->attest_error :
			    "it has no attest_policy");
		} else if (errored == m->ndeployments && m->nfallbacks == 0)
			proxy_reject(call, TRACE_STEP_MODEL_STATE,
			    API_UPSTREAM_ERROR, NULL, "The model's provider is"
			    " failing its health checks.");
		else
			proxy_reject(call, TRACE_STEP_MODEL_STATE,
			    API_UNAVAILABLE, NULL, "No deployment of the model"
			    " '%s'%s can take requests now: each one's circuit"
			    " breaker is open or its provider is failing its"
			    " health checks; retry later.", key,
			    m->nfallbacks > 0 ? " or of its fallbacks" : "");
		goto done;
	}
	if (rq.stream.present && rq.stream.type != JSCAN_TRUE &&
	    rq.stream.type != JSCAN_FALSE && rq.stream.type != JSCAN_NULL) {
		proxy_reject(call, TRACE_STEP_REQUEST, API_INVALID_REQUEST,
		    "stream", "'stream' must be a boolean");
		goto done;
	}
	call->model = m;
	/* Ollama streams unless told "stream": false; embed never does. */
	if (call->dialect != NULL)
		call->stream = dr.stream;
	else if (call->backend_ollama)
		call->stream = call->route != ROUTE_EMBEDDINGS &&
		    !(rq.stream.present && rq.stream.type == JSCAN_FALSE);
	else
		call->stream = rq.stream.present && rq.stream.type == JSCAN_TRUE;
	tr->stream = call->stream;
	tr->max_tokens = rq.max_output;
	tr->temperature = proxy_trace_temperature(&rq);
	/*
	 * A stream's output guardrails follow GUARD_ANSWER_CHOICES choices
	 * and end it at a choice past them (fail closed): say so before the
	 * backend is asked, not as a block after its first words.
	 */
	if (call->stream && rq.n.present && !guard_list_empty(&m->guard_out) &&
	    jscan_int64(rq.body, &rq.n, &n) == 0 && n > GUARD_ANSWER_CHOICES) {
		proxy_reject(call, TRACE_STEP_REQUEST, API_INVALID_REQUEST, "n",
		    "The model '%s' has output guardrails, which check at most"
		    " %d choices of a stream; ask for fewer, or without"
		    " streaming.", key, GUARD_ANSWER_CHOICES);
		goto done;
	}
	if (!guard_list_empty(&m->guard_out) && proxy_unguardable(call, &rq,
	    key) == -1)
		goto done;

	/* 5. input guardrails: nothing blocked reaches the backend. */
	switch (guard_input(m, &rq, &guarded, &len, &call->guards)) {
	case GUARD_BLOCKED:
		proxy_reject(call, TRACE_STEP_INPUT_GUARDRAIL,
		    API_GUARDRAIL_VIOLATION, NULL, "The request was blocked by"
		    " guardrail '%s'.", call->guards.blocked_by);
		goto done;
	case GUARD_FAILED:
		proxy_reject(call, TRACE_STEP_INPUT_GUARDRAIL,
		    API_GUARDRAIL_VIOLATION, NULL, "%s", rq.token_ids ?
		    "The model's input guardrails cannot read token ids; send"
		    " the prompt as text." : "The request could not be checked"
		    " by the model's input guardrails.");
		goto done;
	default:
		break;	/* rq now describes the body to send, redacted or not */
	}
	/* What a domain that logs content keeps is what the model saw. */
	meter_init(&call->meter, d->log_content);
	if (d->log_content)
		tr->prompt_text = xstrndup(rq.body, jscan_utf8_cut(rq.body,
		    rq.len, PROXY_MAX_PROMPT_TEXT));
	/* Streams end with their usage; what the client did not ask for, it does not see. */
	client_usage = rq.stream_options.type == JSCAN_OBJECT &&
	    rq.include_usage.present && rq.include_usage.type == JSCAN_TRUE;
	call->strip_usage = !call->backend_ollama && call->dialect == NULL &&
	    !call->native && call->stream && call->route != ROUTE_EMBEDDINGS &&
	    !client_usage;
	if (call->backend_ollama)
		call->body = rewrite_ollama(&rq, m, call->route,
		    &call->body_len);
	else
		/* A dialect reads usage from the stream: always asked for. */
		call->body = rewrite_body(&rq, m, call->route,
		    call->strip_usage || (call->dialect != NULL &&
		    call->stream && !client_usage), &call->body_len);
	if (add_store)
		proxy_native_store(call);
	/* Made with the model's first deployment's id: another's, spliced. */
	if (call->dep->model_id != m->model_id)
		proxy_body_model(call, call->dep);
	call->prompt_bytes = rq.prompt_bytes;
	switch (proxy_limit(call, t, &rq)) {
	case -1:
		goto done;
	case 1:
		/* Waiting on shared limits: proxy_on_limit() goes on. */
		free(guarded);
		free(dr.body);
		request_clear(&rq);
		return;
	default:
		break;
	}
	free(guarded);
	free(dr.body);
	request_clear(&rq);
	proxy_forward(call);
	return;
done:
	free(guarded);
	free(dr.body);
	request_clear(&rq);
	proxy_call_free(call);
}

/* 7. upstream: the call's body to its deployment's backend. */
static void
proxy_forward(struct proxy_call *call)
{
	struct http_request	*r = call->req;

	call->forwarded = 1;
	proxy_attempt_start(call);
	r->on_abort = proxy_on_abort;
	r->on_drain = proxy_on_drain;
	r->cb_arg = call;
}

/* 404 for a path no route takes: in Ollama's shape under its /api/. */
static void
proxy_unknown_route(struct http_request *r)
{
	const char	*p = r->path, *slash;
	size_t		 n = r->path_len;
	int		 ollama = 0;
	char		 msg[200];

	if (n >= 7 && memcmp(p, "/proxy/", 7) == 0 &&
	    (slash = memchr(p + 7, '/', n - 7)) != NULL)
		ollama = (size_t)(p + n - slash) >= 5 &&
		    memcmp(slash, "/api/", 5) == 0;
	else if (n >= 5 && memcmp(p, "/api/", 5) == 0)
		ollama = !(n >= 12 && memcmp(p, "/api/client/", 12) == 0);
	if (!ollama) {
		api_error_reply(r, API_NOT_FOUND, NULL, "Unknown route %.*s",
		    (int)(n > 128 ? 128 : n), p);
		return;
	}
	snprintf(msg, sizeof(msg), "unknown route %.*s", (int)(n > 128 ? 128 :
	    n), p);
	ollama_error_reply(r, API_NOT_FOUND, msg);
}

/* 405, with the methods the route takes (RFC 9110 15.5.6). */
static void
proxy_method_not_allowed(struct http_request *r, const struct route *route)
{
	struct http_fields	 f;
	char			 body[512];
	size_t			 len;

	if (route->ollama)
		len = ollama_error_body(body, sizeof(body),
		    "method not allowed");
	else
		len = api_error_body(body, sizeof(body),
		    API_METHOD_NOT_ALLOWED, NULL,
		    "Method not allowed on this route");
	http_fields_init(&f);
	http_fields_addf(&f, "Allow", "%s%s", route_allow(route),
	    route->kind == ROUTE_HEALTHZ || route->kind == ROUTE_ATTESTATION ?
	    "" : ", OPTIONS");
	http_reply_fields(r, api_error_status(API_METHOD_NOT_ALLOWED),
	    "application/json", body, len, &f);
}

/* The client went away, or its body never came whole: nothing to trace. */
static void
proxy_on_abort_body(void *arg)
{
	struct proxy_call	*call = arg;

	call->req->traced = 0;
	trace_free(call->trace);
	call->trace = NULL;
	proxy_call_free(call);
}

/*
 * A JWT bearer token (jwt.c): checked against the path's domain, or on
 * token routes the domain its issuer names; its identity lives in the
 * call. Why a token is refused goes into the refusal's log line (http.c,
 * rate-limited), never to the client, and never the token.
 */
static const struct reg_token *
proxy_jwt(struct proxy_call *call, const struct registry *reg,
    const struct route *route, const char *tok, size_t len)
{
	const struct reg_domain	*pd = NULL;
	const char		*why;

	if (route->domain != NULL && (pd = registry_find_domain(reg,
	    route->domain, route->domain_len)) == NULL) {
		call->req->refused = "jwt: no such domain in the path";
		return NULL;
	}
	if (jwt_verify(reg, pd, tok, len, time(NULL), &call->jwt, &why) ==
	    -1) {
		call->req->refused = why;
		return NULL;
	}
	return &call->jwt;
}

/*
 * The head phase: route, method, token and domain, before a byte of the
 * body is read, so that a client without a valid token costs no more
 * than its head. A request that fails authentication is counted in the
 * metrics but traced nowhere: whatever domain its path names did not make
 * it. Everything but inference is answered here; an inference request
 * keeps its call (and the registry snapshot) for proxy_handle.
 */
enum http_head_result
proxy_head(struct http_request *r, void *arg)
{
	struct worker		*w = arg;
	struct proxy_call	*call;
	const struct reg_token	*t;
	const struct reg_domain	*d;
	struct registry		*reg;
	struct route		 route;
	const char		*tok;
	size_t			 tok_len;

	if (route_match(r->path, r->path_len, &route) == -1) {
		proxy_unknown_route(r);
		return HTTP_HEAD_TAKEN;
	}
	/* CORS preflight (cors.c): no token, browsers send none. */
	if (http_method_is(r, "OPTIONS") && cors_preflight(r, &route,
	    w->regs) == 0)
		return HTTP_HEAD_TAKEN;
	if (!route_allows(&route, r->method, r->method_len)) {
		proxy_method_not_allowed(r, &route);
		return HTTP_HEAD_TAKEN;
	}
	/* Inference routes say how long the agent took (not probes). */
	r->timed = route.kind != ROUTE_HEALTHZ &&
	    route.kind != ROUTE_ATTESTATION;
	if (route.kind == ROUTE_HEALTHZ) {
		http_reply(r, 200, "application/json", "{\"status\":\"ok\"}",
		    15, NULL);
		return HTTP_HEAD_TAKEN;
	}
	if (route.kind == ROUTE_ATTESTATION) {
		attestation_http(r, w);
		return HTTP_HEAD_TAKEN;
	}
	/* The worker's own reference: no lock unless a publish happened. */
	if ((reg = registry_local_acquire(w->regs)) == NULL) {
		api_error_reply(r, API_UNAVAILABLE, NULL, "starting up");
		return HTTP_HEAD_TAKEN;
	}
	call = proxy_call_get();
	call->worker = w;
	w->calls++;
	call->req = r;
	call->reg = reg;
	call->route = route.kind;
	call->client_route = route.kind;
	call->start_ms = deployment_now_ms();
	call->ollama = route.ollama;
	call->backend_ollama = route.ollama;
	call->dialect = proxy_dialect(route.dialect);
	memcpy(call->id, http_request_id(r), sizeof(call->id));
	if (proxy_traced(route.kind)) {
		call->route = proxy_route_map[route.kind].pipeline;
		call->trace = trace_new();
		call->trace->time_ms = trace_now_ms();
		call->trace->route = route.ollama ?
		    proxy_routes_ollama[route.kind] :
		    proxy_route_map[route.kind].trace;
		http_request_id_hex(r, call->trace->request_id);
		proxy_trace_context(call, r);
	}

	/*
	 * The playground (admin-chat.c): the operator asks, through the
	 * admin socket, for one domain; nothing else is served internally.
	 */
	if (r->internal_domain != NULL) {
		if (route.kind != ROUTE_CHAT || route.ollama ||
		    route.dialect != DIALECT_NONE || route.domain != NULL) {
			api_error_reply(r, API_NOT_FOUND, NULL, "the playground"
			    " serves chat completions only");
			goto done;
		}
		if ((d = registry_find_domain(reg, r->internal_domain,
		    strlen(r->internal_domain))) == NULL) {
			proxy_reject(call, TRACE_STEP_DOMAIN,
			    API_DOMAIN_NOT_FOUND, NULL, "The domain is gone.");
			goto done;
		}
		r->traced = 1;
		memcpy(call->trace->domain_id, d->id, sizeof(d->id));
		textbuf_copy(call->trace->token_id,
		    sizeof(call->trace->token_id), PROXY_PLAYGROUND);
		call->domain = d;
		call->token = NULL;
		r->on_abort = proxy_on_abort_body;
		r->cb_arg = call;
		return HTTP_HEAD_BODY;
	}

	/* CORS (cors.c): decided again once the token names its domain. */
	cors_request(r, reg, &route, NULL);

	/* 1. token: who is asking, and for which domain. */
	if (route.kind == ROUTE_OLLAMA_VERSION) {
		/* Ollama's clients ask it before anything, without a key. */
		ollama_version(r);
		goto done;
	}
	if ((tok = proxy_bearer(r, route.dialect == DIALECT_ANTHROPIC,
	    &tok_len)) == NULL) {
		metrics_rejected(METRICS_REJECT_AUTH);
		proxy_reject(call, TRACE_STEP_AUTHENTICATE, API_INVALID_API_KEY,
		    NULL, route.dialect == DIALECT_ANTHROPIC ? "Missing API"
		    " key: send 'x-api-key: <token>' or 'Authorization: Bearer"
		    " <token>'." : "Missing API key: send 'Authorization:"
		    " Bearer <token>'.");
		goto done;
	}
	if (jwt_looks_like(tok, tok_len)) {
		if ((t = proxy_jwt(call, reg, &route, tok, tok_len)) == NULL) {
			metrics_rejected(METRICS_REJECT_AUTH);
			proxy_reject(call, TRACE_STEP_AUTHENTICATE,
			    API_INVALID_API_KEY, NULL, "Invalid, expired or"
			    " revoked API key.");
			goto done;
		}
	} else if ((t = registry_find_token(reg, w->agent->vault, tok, tok_len,
	    time(NULL))) == NULL) {
		metrics_rejected(METRICS_REJECT_AUTH);
		proxy_reject(call, TRACE_STEP_AUTHENTICATE, API_INVALID_API_KEY,
		    NULL, "Invalid, expired or revoked API key.");
		goto done;
	}
	/* 2. domain: another domain's token learns nothing about this one. */
	d = t->domain;
	cors_request(r, reg, &route, d);
	if (call->trace != NULL) {
		/* Traced from here: the server need not log a refusal. */
		r->traced = 1;
		memcpy(call->trace->domain_id, d->id, sizeof(d->id));
		textbuf_copy(call->trace->token_id,
		    sizeof(call->trace->token_id), t->id);
	}
	if (route.domain != NULL && registry_find_domain(reg, route.domain,
	    route.domain_len) != d) {
		proxy_reject(call, TRACE_STEP_DOMAIN, API_DOMAIN_NOT_FOUND, NULL,
		    "Domain '%.*s' not found.", (int)(route.domain_len > 64 ?
		    64 : route.domain_len), route.domain);
		goto done;
	}
	if (route.kind == ROUTE_MODEL) {
		proxy_model(r, d, t, route.model, route.model_len);
		goto done;
	}
	if (route.kind == ROUTE_MODELS && route.ollama) {
		ollama_tags(r, d, t);
		goto done;
	}
	if (route.kind == ROUTE_OLLAMA_PS) {
		ollama_ps(r, d, t);
		goto done;
	}
	if (route.kind == ROUTE_MODELS) {
		proxy_models(r, d, t);
		goto done;
	}
	/* Inference: read the body, then proxy_handle. */
	call->domain = d;
	call->token = t;
	r->on_abort = proxy_on_abort_body;
	r->cb_arg = call;
	return HTTP_HEAD_BODY;
done:
	proxy_call_free(call);
	return HTTP_HEAD_TAKEN;
}

/*
 * Anthropic's count_tokens: the request translated and scanned as for
 * messages, the model resolved the same way, and the prompt's tokens
 * estimated (the gateway has no tokenizer of the model's). Nothing goes
 * upstream, so nothing is traced or billed.
 */
static void
proxy_count_tokens(struct proxy_call *call, const struct reg_domain *d,
    const struct reg_token *t)
{
	struct http_request	*r = call->req;
	struct request		 rq;
	struct dialect_request	 dr;
	const struct reg_model	*m;
	char			 key[256], body[64];
	ssize_t			 klen;
	int			 n;

	memset(&rq, 0, sizeof(rq));
	memset(&dr, 0, sizeof(dr));
	if (proxy_translate(call, &dr) == -1)
		goto done;
	if (proxy_scan(call, &rq, dr.body, dr.len, 0) == -1 ||
	    (klen = proxy_model_key(call, &rq, key, sizeof(key))) == -1)
		goto done;
	if ((m = registry_find_model(d, key, klen)) == NULL ||
	    !registry_token_allows(t, m) || !m->active) {
		proxy_reject(call, TRACE_STEP_MODEL, API_MODEL_NOT_FOUND, "model",
		    "The model '%s' does not exist or you do not have access"
		    " to it.", key);
		goto done;
	}
	n = snprintf(body, sizeof(body), "{\"input_tokens\":%lld}",
	    (long long)meter_estimate(rq.prompt_bytes));
	http_reply(r, 200, "application/json", body, (size_t)n, NULL);
done:
	free(dr.body);
	request_clear(&rq);
	proxy_call_free(call);
}

/* The body of an inference request proxy_head let in. */
void
proxy_handle(struct http_request *r, void *arg)
{
	struct proxy_call	*call = r->cb_arg;

	(void)arg;
	call->req = r;
	if (call->client_route == ROUTE_COUNT_TOKENS)
		proxy_count_tokens(call, call->domain, call->token);
	else if (call->client_route == ROUTE_OLLAMA_SHOW)
		proxy_ollama_show(call);
	else
		proxy_inference(call, call->domain, call->token);
}
