/*
 * OpenTelemetry export: every committed trace as an OTLP/HTTP span (JSON
 * encoding) following the GenAI semantic conventions. The trace writer
 * turns each batch it commits into spans (otlp_offer) and queues them;
 * this file's own thread posts them to the collector in batches. Neither
 * the request path nor the writer ever waits on the collector: the queue
 * is bounded and drops its oldest spans, counted, when the collector is
 * slow or down.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "agent.h"
#include "log.h"
#include "xmalloc.h"

#define OTLP_TRIES		3	/* POSTs of one batch on 429/502/503/504 */
#define OTLP_BACKOFF_MS		250	/* doubled after each */
#define OTLP_ANSWER_MAX		(64 * 1024)	/* collector reply read */
#define OTLP_CONTENT_MAX	(16 * 1024)	/* bytes of one content attribute */
#define OTLP_MESSAGES_MAX	64	/* messages of one content attribute */
#define OTLP_HEADERS_MAX	16	/* lines of otlp-headers-file */
#define OTLP_SPAN_KIND_CLIENT	3
#define OTLP_STATUS_ERROR	2

/* Counters for /metrics: there when no collector is set, at zero. */
static atomic_uint_fast64_t	otlp_exported;
static atomic_uint_fast64_t	otlp_dropped;
static atomic_uint_fast64_t	otlp_errors;

struct otlp {
	char			*url;
	char			*log_url;	/* url without its userinfo */
	struct curl_slist	*headers;	/* Content-Type and the file's */
	char			*ca_file;
	int			 timeout_ms;
	int			 flush_ms;
	int			 batch_max;
	int			 shutdown_ms;
	char			 host[256];
	pthread_t		 thread;
	pthread_mutex_t		 lock;
	pthread_cond_t		 wake;
	cJSON			**ring;		/* queued spans, oldest first */
	size_t			 cap;
	size_t			 first;
	size_t			 count;
	int			 stopping;
	struct timespec		 stop_by;	/* monotonic: flushing ends */
	CURL			*easy;		/* the thread's */
};

void
otlp_counters(uint64_t *exported, uint64_t *dropped, uint64_t *errors)
{
	*exported = atomic_load(&otlp_exported);
	*dropped = atomic_load(&otlp_dropped);
	*errors = atomic_load(&otlp_errors);
}

/* --- spans ---------------------------------------------------------------- */

static void
otlp_attr(cJSON *attrs, const char *key, const char *type, cJSON *v)
{
	cJSON	*a = cJSON_CreateObject(), *val = cJSON_CreateObject();

	cJSON_AddStringToObject(a, "key", key);
	cJSON_AddItemToObject(val, type, v);
	cJSON_AddItemToObject(a, "value", val);
	cJSON_AddItemToArray(attrs, a);
}

static void
otlp_attr_str(cJSON *attrs, const char *key, const char *s)
{
	if (s != NULL)
		otlp_attr(attrs, key, "stringValue", cJSON_CreateString(s));
}

/* OTLP/JSON writes 64-bit integers as decimal strings. */
static void
otlp_attr_int(cJSON *attrs, const char *key, int64_t n)
{
	char	buf[24];

	snprintf(buf, sizeof(buf), "%lld", (long long)n);
	otlp_attr(attrs, key, "intValue", cJSON_CreateString(buf));
}

static void
otlp_attr_double(cJSON *attrs, const char *key, double d)
{
	otlp_attr(attrs, key, "doubleValue", cJSON_CreateNumber(d));
}

static void
otlp_attr_bool(cJSON *attrs, const char *key, int b)
{
	otlp_attr(attrs, key, "boolValue", cJSON_CreateBool(b));
}

/* The GenAI operation a route is (gen_ai.operation.name). */
static const char *
otlp_operation(const char *route)
{
	static const struct {
		const char	*route;
		const char	*operation;
	} ops[] = {
		{ "chat", "chat" },
		{ "ollama_chat", "chat" },
		{ "messages", "chat" },
		{ "responses", "chat" },
		{ "completions", "text_completion" },
		{ "ollama_generate", "text_completion" },
		{ "fim", "text_completion" },
		{ "embeddings", "embeddings" },
		{ "ollama_embed", "embeddings" },
	};
	size_t	i;

	for (i = 0; route != NULL && i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(ops[i].route, route) == 0)
			return ops[i].operation;
	return route != NULL ? route : "other";
}

/* s cut to at most *left bytes on a UTF-8 boundary; *left shrinks. */
static cJSON *
otlp_text(const char *s, size_t *left)
{
	size_t	 n = jscan_utf8_cut(s, strlen(s), *left);
	char	*cut = xstrndup(s, n);
	cJSON	*c = cJSON_CreateString(cut);

	free(cut);
	*left -= n;
	return c;
}

/* {"role": role, "parts": [{"type": "text", "content": text}]} */
static cJSON *
otlp_message(const char *role, const char *text, size_t *left)
{
	cJSON	*m = cJSON_CreateObject(), *parts, *p;

	cJSON_AddStringToObject(m, "role", role);
	parts = cJSON_AddArrayToObject(m, "parts");
	p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "type", "text");
	cJSON_AddItemToObject(p, "content", otlp_text(text, left));
	cJSON_AddItemToArray(parts, p);
	return m;
}

/* A message's text: a string, or the text parts of an array, joined. */
static char *
otlp_content_text(const cJSON *c)
{
	const cJSON	*part, *text;
	size_t		 len = 0, n;
	char		*out = NULL;

	if (cJSON_IsString(c))
		return xstrdup(c->valuestring);
	if (!cJSON_IsArray(c))
		return NULL;
	cJSON_ArrayForEach(part, c) {
		text = cJSON_GetObjectItemCaseSensitive(part, "text");
		if (!cJSON_IsString(text) || len > OTLP_CONTENT_MAX)
			continue;
		n = strlen(text->valuestring);
		out = xreallocarray(out, len + n + 2, 1);
		if (len > 0)
			out[len++] = '\n';
		memcpy(out + len, text->valuestring, n + 1);
		len += n;
	}
	return out;
}

/*
 * gen_ai.input.messages from the body the model saw (OpenAI's or Ollama's
 * shape): its messages, or its prompt or input as one user message. The
 * body may have been cut short: then it is one user message as it is.
 */
static char *
otlp_input_messages(const char *body)
{
	cJSON		*req, *out, *m, *list;
	const cJSON	*msg, *role, *one;
	size_t		 left = OTLP_CONTENT_MAX, n = 0;
	char		*text, *s;

	out = cJSON_CreateArray();
	req = cJSON_Parse(body);
	if ((list = cJSON_GetObjectItemCaseSensitive(req, "messages")) != NULL &&
	    cJSON_IsArray(list)) {
		cJSON_ArrayForEach(msg, list) {
			if (n++ == OTLP_MESSAGES_MAX || left == 0)
				break;
			role = cJSON_GetObjectItemCaseSensitive(msg, "role");
			text = otlp_content_text(cJSON_GetObjectItemCaseSensitive(
			    msg, "content"));
			m = otlp_message(cJSON_IsString(role) ?
			    role->valuestring : "user", text != NULL ? text :
			    "", &left);
			free(text);
			cJSON_AddItemToArray(out, m);
		}
	} else if (req != NULL) {
		one = cJSON_GetObjectItemCaseSensitive(req, "prompt");
		if (one == NULL)
			one = cJSON_GetObjectItemCaseSensitive(req, "input");
		if ((text = otlp_content_text(one)) == NULL && cJSON_IsArray(one))
			text = cJSON_PrintUnformatted(one);
		if (text != NULL)
			cJSON_AddItemToArray(out, otlp_message("user", text,
			    &left));
		free(text);
	} else
		cJSON_AddItemToArray(out, otlp_message("user", body, &left));
	cJSON_Delete(req);
	s = cJSON_PrintUnformatted(out);
	cJSON_Delete(out);
	return s;
}

static char *
otlp_output_messages(const char *text, int failed)
{
	cJSON	*out = cJSON_CreateArray(), *m;
	size_t	 left = OTLP_CONTENT_MAX;
	char	*s;

	m = otlp_message("assistant", text, &left);
	cJSON_AddStringToObject(m, "finish_reason", failed ? "error" : "stop");
	cJSON_AddItemToArray(out, m);
	s = cJSON_PrintUnformatted(out);
	cJSON_Delete(out);
	return s;
}

static cJSON *
otlp_nanos(int64_t ms)
{
	char	buf[32];

	snprintf(buf, sizeof(buf), "%lld000000", (long long)ms);
	return cJSON_CreateString(buf);
}

/* One span for one trace; reg (may be NULL) names its domain and driver. */
static cJSON *
otlp_span(const struct trace *t, const struct registry *reg)
{
	const struct reg_domain	*d = NULL;
	const struct reg_model	*m = NULL;
	cJSON			*span, *attrs, *status;
	const char		*op = otlp_operation(t->route);
	const char		*model = t->model != NULL ? t->model : "";
	char			 hex[2 * TRACE_ID_BYTES + 1], *name, *s;
	static const unsigned char zero[SPAN_ID_BYTES];
	int			 failed = t->status >= 400 || t->error != NULL;

	if (reg != NULL)
		d = registry_find_domain(reg, t->domain_id,
		    strlen(t->domain_id));
	if (d != NULL && t->model != NULL)
		m = registry_find_model(d, t->model, strlen(t->model));

	span = cJSON_CreateObject();
	traceparent_hex(hex, t->trace_id, TRACE_ID_BYTES);
	cJSON_AddStringToObject(span, "traceId", hex);
	traceparent_hex(hex, t->span_id, SPAN_ID_BYTES);
	cJSON_AddStringToObject(span, "spanId", hex);
	if (memcmp(t->parent_id, zero, SPAN_ID_BYTES) != 0) {
		traceparent_hex(hex, t->parent_id, SPAN_ID_BYTES);
		cJSON_AddStringToObject(span, "parentSpanId", hex);
	}
	xasprintf(&name, "%s%s%s", op, *model != '\0' ? " " : "", model);
	cJSON_AddStringToObject(span, "name", name);
	free(name);
	cJSON_AddNumberToObject(span, "kind", OTLP_SPAN_KIND_CLIENT);
	cJSON_AddItemToObject(span, "startTimeUnixNano", otlp_nanos(t->time_ms));
	cJSON_AddItemToObject(span, "endTimeUnixNano",
	    otlp_nanos(t->time_ms + (t->latency_ms > 0 ? t->latency_ms : 0)));

	attrs = cJSON_AddArrayToObject(span, "attributes");
	otlp_attr_str(attrs, "gen_ai.operation.name", op);
	if (m != NULL)
		otlp_attr_str(attrs, "gen_ai.provider.name",
		    registry_driver_name(m->provider->driver));
	if (t->model != NULL)
		otlp_attr_str(attrs, "gen_ai.request.model", t->model);
	if (t->model_id != NULL && !failed)
		otlp_attr_str(attrs, "gen_ai.response.model", t->model_id);
	if (t->max_tokens >= 0)
		otlp_attr_int(attrs, "gen_ai.request.max_tokens", t->max_tokens);
	if (!isnan(t->temperature))
		otlp_attr_double(attrs, "gen_ai.request.temperature",
		    t->temperature);
	if (t->model_id != NULL) {
		otlp_attr_int(attrs, "gen_ai.usage.input_tokens",
		    t->prompt_tokens);
		otlp_attr_int(attrs, "gen_ai.usage.output_tokens",
		    t->completion_tokens);
	}
	if (t->status > 0)
		otlp_attr_int(attrs, "http.response.status_code", t->status);
	if (failed)
		otlp_attr_str(attrs, "error.type", t->error != NULL ? t->error :
		    "backend_error");
	otlp_attr_str(attrs, "cube.domain", d != NULL ? d->name : "");
	otlp_attr_str(attrs, "cube.domain_id", t->domain_id);
	otlp_attr_str(attrs, "cube.token_id", t->token_id);
	if (t->provider != NULL)
		otlp_attr_str(attrs, "cube.provider", t->provider);
	otlp_attr_int(attrs, "cube.cost_nano_usd", t->cost);
	otlp_attr_double(attrs, "cube.cost_usd", (double)t->cost / 1e9);
	if (t->step != TRACE_STEP_NONE)
		otlp_attr_str(attrs, "cube.trace_step",
		    trace_step_name(t->step));
	otlp_attr_str(attrs, "cube.request_id", t->request_id);
	otlp_attr_bool(attrs, "cube.stream", t->stream);
	if (t->estimated)
		otlp_attr_bool(attrs, "cube.tokens_estimated", 1);
	if (t->cancelled)
		otlp_attr_bool(attrs, "cube.cancelled", 1);
	/* Content only where the domain logs it: then the trace holds it. */
	if (t->prompt_text != NULL) {
		s = otlp_input_messages(t->prompt_text);
		otlp_attr_str(attrs, "gen_ai.input.messages", s);
		free(s);
	}
	if (t->completion_text != NULL) {
		s = otlp_output_messages(t->completion_text, failed);
		otlp_attr_str(attrs, "gen_ai.output.messages", s);
		free(s);
	}
	if (failed) {
		status = cJSON_AddObjectToObject(span, "status");
		cJSON_AddNumberToObject(status, "code", OTLP_STATUS_ERROR);
		cJSON_AddStringToObject(status, "message", t->error != NULL ?
		    t->error : "backend_error");
	}
	return span;
}

/*
 * Queue a committed batch's spans (the trace writer's thread). A full
 * queue drops its oldest: the collector is behind, and newer spans say
 * more about now.
 */
void
otlp_offer(struct otlp *o, const struct trace *batch)
{
	struct registry		*reg;
	const struct trace	*t;
	cJSON			*span;
	int			 wake;

	if (o == NULL || batch == NULL)
		return;
	reg = registry_acquire();
	for (t = batch; t != NULL; t = t->next) {
		span = otlp_span(t, reg);
		pthread_mutex_lock(&o->lock);
		if (o->count == o->cap) {
			cJSON_Delete(o->ring[o->first]);
			o->first = (o->first + 1) % o->cap;
			o->count--;
			atomic_fetch_add(&otlp_dropped, 1);
		}
		o->ring[(o->first + o->count) % o->cap] = span;
		o->count++;
		wake = o->count == 1 || o->count == (size_t)o->batch_max;
		pthread_mutex_unlock(&o->lock);
		if (wake)
			pthread_cond_signal(&o->wake);
	}
	if (reg != NULL)
		registry_release(reg);
}

/* --- the exporter thread -------------------------------------------------- */

/* Milliseconds until ts (0 when past). */
static int64_t
otlp_ms_left(const struct timespec *ts)
{
	struct timespec	now;
	int64_t		ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (int64_t)(ts->tv_sec - now.tv_sec) * 1000 +
	    (ts->tv_nsec - now.tv_nsec) / 1000000;
	return ms > 0 ? ms : 0;
}

/* The collector's reply is read and dropped, up to a bound. */
static size_t
otlp_discard(char *data, size_t size, size_t n, void *arg)
{
	size_t	*seen = arg;

	(void)data;
	*seen += size * n;
	return *seen > OTLP_ANSWER_MAX ? 0 : size * n;
}

/* The request: the resource (this agent), one scope, the spans. */
static cJSON *
otlp_request(struct otlp *o, cJSON **spans, size_t n)
{
	cJSON	*root, *rs, *r, *attrs, *ss, *scope, *list;
	size_t	 i;

	root = cJSON_CreateObject();
	rs = cJSON_AddArrayToObject(root, "resourceSpans");
	r = cJSON_CreateObject();
	cJSON_AddItemToArray(rs, r);
	attrs = cJSON_AddArrayToObject(cJSON_AddObjectToObject(r, "resource"),
	    "attributes");
	otlp_attr_str(attrs, "service.name", "cube-agent");
	otlp_attr_str(attrs, "service.version", CUBE_VERSION);
	otlp_attr_str(attrs, "host.name", o->host);
	ss = cJSON_AddArrayToObject(r, "scopeSpans");
	scope = cJSON_CreateObject();
	cJSON_AddItemToArray(ss, scope);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(scope, "scope"),
	    "name", "cube-agent");
	cJSON_AddStringToObject(cJSON_GetObjectItem(scope, "scope"), "version",
	    CUBE_VERSION);
	list = cJSON_AddArrayToObject(scope, "spans");
	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(list, spans[i]);
	return root;
}

/* Sleep ms unless stopping; the lock is not held. */
static void
otlp_backoff(struct otlp *o, int ms)
{
	struct timespec	until;

	trace_deadline(&until, ms);
	pthread_mutex_lock(&o->lock);
	while (!o->stopping && otlp_ms_left(&until) > 0)
		if (pthread_cond_timedwait(&o->wake, &o->lock, &until) ==
		    ETIMEDOUT)
			break;
	pthread_mutex_unlock(&o->lock);
}

/*
 * POST one batch; a 429 or a 502/503/504 is tried again after a backoff,
 * at most OTLP_TRIES times and never past the shutdown deadline.
 */
static void
otlp_post(struct otlp *o, cJSON **spans, size_t n)
{
	cJSON		*req = otlp_request(o, spans, n);
	char		*body = cJSON_PrintUnformatted(req);
	long		 code, timeout, most;
	size_t		 seen;
	CURLcode	 rc;
	int		 try, stopping, backoff = OTLP_BACKOFF_MS;

	cJSON_Delete(req);
	if (body == NULL) {
		atomic_fetch_add(&otlp_errors, 1);
		atomic_fetch_add(&otlp_dropped, n);
		return;
	}
	for (try = 1; ; try++) {
		pthread_mutex_lock(&o->lock);
		stopping = o->stopping;
		most = o->timeout_ms;	/* SIGHUP may change it */
		timeout = stopping ? (long)otlp_ms_left(&o->stop_by) : most;
		pthread_mutex_unlock(&o->lock);
		if (timeout > most)
			timeout = most;
		if (timeout <= 0) {
			atomic_fetch_add(&otlp_dropped, n);
			break;
		}
		seen = 0;
		code = 0;
		curl_easy_setopt(o->easy, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(o->easy, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)strlen(body));
		curl_easy_setopt(o->easy, CURLOPT_WRITEDATA, &seen);
		curl_easy_setopt(o->easy, CURLOPT_TIMEOUT_MS, timeout);
		rc = curl_easy_perform(o->easy);
		if (rc == CURLE_OK)
			curl_easy_getinfo(o->easy, CURLINFO_RESPONSE_CODE, &code);
		if (rc == CURLE_OK && code >= 200 && code < 300) {
			atomic_fetch_add(&otlp_exported, n);
			break;
		}
		atomic_fetch_add(&otlp_errors, 1);
		if (try == 1 || try == OTLP_TRIES)
			/* The URL only: the headers may hold credentials. */
			log_warnx("otlp: export to %s failed: %s", o->log_url,
			    rc != CURLE_OK ? curl_easy_strerror(rc) :
			    code == 429 ? "429 Too Many Requests" :
			    code >= 500 ? "the collector answered 5xx" :
			    "the collector refused the spans");
		if (try == OTLP_TRIES || stopping || (rc == CURLE_OK &&
		    code != 429 && code != 502 && code != 503 && code != 504)) {
			atomic_fetch_add(&otlp_dropped, n);
			break;
		}
		otlp_backoff(o, backoff);
		backoff *= 2;
	}
	free(body);
}

static void *
otlp_main(void *arg)
{
	struct otlp	*o = arg;
	struct timespec	 window;
	cJSON		**spans;
	size_t		 n, i, cap;
	int		 stop;

	cap = (size_t)o->batch_max;
	spans = xcalloc(cap, sizeof(*spans));
	pthread_mutex_lock(&o->lock);
	for (;;) {
		while (o->count == 0 && !o->stopping)
			pthread_cond_wait(&o->wake, &o->lock);
		/* Let a batch gather for the window, unless it fills first. */
		if (o->count > 0 && !o->stopping) {
			trace_deadline(&window, o->flush_ms);
			while (o->count < (size_t)o->batch_max && !o->stopping)
				if (pthread_cond_timedwait(&o->wake, &o->lock,
				    &window) == ETIMEDOUT)
					break;
		}
		/* Under the lock: otlp_configure() may have raised it. */
		if ((size_t)o->batch_max > cap) {
			cap = (size_t)o->batch_max;
			spans = xreallocarray(spans, cap, sizeof(*spans));
		}
		for (n = 0; n < (size_t)o->batch_max && o->count > 0; n++) {
			spans[n] = o->ring[o->first];
			o->first = (o->first + 1) % o->cap;
			o->count--;
		}
		stop = o->stopping;
		pthread_mutex_unlock(&o->lock);
		if (n > 0)
			otlp_post(o, spans, n);
		pthread_mutex_lock(&o->lock);
		if (stop && (o->count == 0 || otlp_ms_left(&o->stop_by) == 0))
			break;
	}
	/* Past the deadline: what is left is dropped, and counted. */
	for (i = 0; i < o->count; i++)
		cJSON_Delete(o->ring[(o->first + i) % o->cap]);
	atomic_fetch_add(&otlp_dropped, o->count);
	o->count = 0;
	pthread_mutex_unlock(&o->lock);
	free(spans);
	return NULL;
}

/* --- start and stop ------------------------------------------------------- */

/* SIGHUP: the reloadable settings, under the lock the thread reads them in. */
void
otlp_configure(struct otlp *o, const struct agent_config *cfg)
{
	if (o == NULL)
		return;
	pthread_mutex_lock(&o->lock);
	o->timeout_ms = cfg->otlp_timeout_ms;
	o->flush_ms = cfg->otlp_flush_ms;
	o->batch_max = cfg->otlp_batch;
	o->shutdown_ms = cfg->otlp_shutdown_ms;
	pthread_cond_signal(&o->wake);
	pthread_mutex_unlock(&o->lock);
}

/* RFC 9110 tchar. */
static int
otlp_tchar(unsigned char ch)
{
	if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9'))
		return 1;
	return ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

/*
 * otlp-headers-file: "Name: value" lines, '#' comments. Values are
 * secrets (an API key, say): an error names the line, never its value.
 */
static int
otlp_load_headers(struct otlp *o, const char *path, char *err, size_t errlen)
{
	FILE		*f;
	char		 line[4096], *p, *v, *end;
	int		 lineno = 0, n = 0, rc = -1;
	size_t		 i;
	struct curl_slist *l;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "otlp-headers-file: %s: %s", path,
		    strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if ((end = strchr(line, '\n')) == NULL && !feof(f)) {
			snprintf(err, errlen, "otlp-headers-file: %s:%d: line"
			    " too long", path, lineno);
			goto out;
		}
		end = line + strcspn(line, "\r\n");
		*end = '\0';
		for (p = line; *p == ' ' || *p == '\t'; p++)
			;
		if (*p == '\0' || *p == '#')
			continue;
		for (i = 0; otlp_tchar((unsigned char)p[i]); i++)
			;
		if (i == 0 || p[i] != ':') {
			snprintf(err, errlen, "otlp-headers-file: %s:%d: expected"
			    " 'Name: value'", path, lineno);
			goto out;
		}
		for (v = p + i + 1; *v != '\0'; v++)
			if (((unsigned char)*v < 0x20 && *v != '\t') ||
			    (unsigned char)*v == 0x7f)
				break;
		if (*v != '\0') {
			snprintf(err, errlen, "otlp-headers-file: %s:%d: a"
			    " control character in the value", path, lineno);
			goto out;
		}
		if (++n > OTLP_HEADERS_MAX) {
			snprintf(err, errlen, "otlp-headers-file: %s: more than"
			    " %d headers", path, OTLP_HEADERS_MAX);
			goto out;
		}
		if ((l = curl_slist_append(o->headers, p)) == NULL)
			fatalx("%s: out of memory", __func__);
		o->headers = l;
	}
	rc = 0;
out:
	explicit_bzero(line, sizeof(line));
	fclose(f);
	return rc;
}

struct otlp *
otlp_start(const struct agent_config *cfg, char *err, size_t errlen)
{
	struct otlp		*o;
	pthread_condattr_t	 attr;
	struct curl_slist	*l;

	if (cfg->otlp_endpoint == NULL)
		return NULL;
	if (strncmp(cfg->otlp_endpoint, "http://", 7) != 0 &&
	    strncmp(cfg->otlp_endpoint, "https://", 8) != 0) {
		snprintf(err, errlen, "otlp-endpoint: '%s' is not an http://"
		    " or https:// URL", cfg->otlp_endpoint);
		return NULL;
	}
	o = xcalloc(1, sizeof(*o));
	o->url = xstrdup(cfg->otlp_endpoint);
	o->log_url = config_url_for_log(o->url);
	o->ca_file = cfg->otlp_ca_file != NULL ? xstrdup(cfg->otlp_ca_file) :
	    NULL;
	o->timeout_ms = cfg->otlp_timeout_ms;
	o->flush_ms = cfg->otlp_flush_ms;
	o->batch_max = cfg->otlp_batch;
	o->shutdown_ms = cfg->otlp_shutdown_ms;
	o->cap = (size_t)cfg->otlp_queue;
	if ((l = curl_slist_append(NULL, "Content-Type: application/json")) ==
	    NULL || (o->headers = curl_slist_append(l, "Expect:")) == NULL)
		fatalx("%s: out of memory", __func__);
	if (cfg->otlp_headers_file != NULL && otlp_load_headers(o,
	    cfg->otlp_headers_file, err, errlen) == -1) {
		curl_slist_free_all(o->headers);
		free(o->ca_file);
		free(o->log_url);
		free(o->url);
		free(o);
		return NULL;
	}
	if (gethostname(o->host, sizeof(o->host) - 1) == -1)
		snprintf(o->host, sizeof(o->host), "unknown");
	o->ring = xcalloc(o->cap, sizeof(*o->ring));
	if ((o->easy = curl_easy_init()) == NULL)
		fatalx("%s: curl_easy_init", __func__);
	curl_easy_setopt(o->easy, CURLOPT_URL, o->url);
	curl_easy_setopt(o->easy, CURLOPT_HTTPHEADER, o->headers);
	curl_easy_setopt(o->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(o->easy, CURLOPT_POST, 1L);
	curl_easy_setopt(o->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(o->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(o->easy, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)o->timeout_ms);
	curl_easy_setopt(o->easy, CURLOPT_WRITEFUNCTION, otlp_discard);
	curl_easy_setopt(o->easy, CURLOPT_TCP_KEEPALIVE, 1L);
	if (o->ca_file != NULL)
		curl_easy_setopt(o->easy, CURLOPT_CAINFO, o->ca_file);
	pthread_mutex_init(&o->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&o->wake, &attr);
	pthread_condattr_destroy(&attr);
	if ((errno = pthread_create(&o->thread, NULL, otlp_main, o)) != 0)
		fatal("pthread_create");
	log_info("otlp: exporting spans to %s", o->log_url);
	return o;
}

/* Flush what is queued for at most otlp-shutdown-ms, then stop and free. */
void
otlp_stop(struct otlp *o)
{
	if (o == NULL)
		return;
	pthread_mutex_lock(&o->lock);
	o->stopping = 1;
	trace_deadline(&o->stop_by, o->shutdown_ms);
	pthread_mutex_unlock(&o->lock);
	pthread_cond_broadcast(&o->wake);
	pthread_join(o->thread, NULL);
	if (atomic_load(&otlp_dropped) > 0)
		log_warnx("otlp: %llu spans dropped",
		    (unsigned long long)atomic_load(&otlp_dropped));
	curl_easy_cleanup(o->easy);
	curl_slist_free_all(o->headers);
	pthread_mutex_destroy(&o->lock);
	pthread_cond_destroy(&o->wake);
	free(o->ring);
	free(o->ca_file);
	free(o->log_url);
	free(o->url);
	free(o);
}
