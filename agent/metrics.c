/*
 * Prometheus metrics on --metrics-listen: requests, errors by code,
 * tokens and spend by domain and model, latency and time-to-first-token
 * histograms, streams in flight, provider health. Counters are fed by the
 * trace writer (off the request path) and served from the main loop; the
 * few the workers feed (streams, refusals) are per-thread shards, summed
 * when /metrics is read, so no request writes a line another worker does.
 */
#include <malloc.h>
#include <pthread.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "agent.h"
#include "log.h"
#include "money.h"
#include "xmalloc.h"

#if defined(__SANITIZE_ADDRESS__)
/* libasan's (sanitizer/allocator_interface.h, which gcc does not ship). */
size_t	__sanitizer_get_current_allocated_bytes(void);
#endif

#define METRICS_MAX_SERIES	4096
/*
 * A domain's series are its models (an operator deploys them) times the
 * error codes they met: far below this for real use. The cap keeps one
 * tenant from taking more than a sixteenth of the table, whatever it
 * sends; past it, new models of that domain count as METRICS_OTHER.
 */
#define METRICS_DOMAIN_SERIES	256
/*
 * Model labels for what has no series of its own: keys that named no
 * model (model_not_found: any string a client makes up) and a domain's
 * models past its cap. Neither can be a model key (admin-model.c).
 */
#define METRICS_UNKNOWN		"(unknown)"
#define METRICS_OTHER		"(other)"

/* Histogram bounds in milliseconds; +Inf is implied. */
static const int64_t metrics_bounds[] = {
	5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000,
};
#define METRICS_NBOUNDS	(sizeof(metrics_bounds) / sizeof(metrics_bounds[0]))

struct metrics_histogram {
	int64_t		 buckets[METRICS_NBOUNDS + 1];
	int64_t		 count;
	int64_t		 sum_ms;
};

struct metrics_series {
	char		 domain_id[37];
	char		 model[129];
	const char	*error;		/* NULL: the model's totals */
	int64_t		 requests;
	int64_t		 prompt_tokens;
	int64_t		 completion_tokens;
	int64_t		 cached_tokens;
	int64_t		 cost;
	/* The model's totals only (error NULL): its own histograms. */
	struct metrics_histogram latency;
	struct metrics_histogram ttft;
};

/*
 * Between the trace writer (metrics_add) and the /metrics reader on the
 * main loop: no worker takes it.
 */
static pthread_mutex_t		 metrics_lock = PTHREAD_MUTEX_INITIALIZER;
static struct metrics_series	*metrics_series;
static size_t			 metrics_nseries;
static int			 metrics_full_logged;
static int			 metrics_domain_full_logged;
static struct metrics_histogram	 metrics_latency;
static struct metrics_histogram	 metrics_ttft;

/*
 * What workers count, one shard per thread (threads beyond METRICS_SHARDS
 * share, which stays correct: the counts are atomic), each on its own
 * cache line.
 */
#define METRICS_SHARDS	16
static struct metrics_shard {
	_Alignas(64) atomic_int		 streams;
	atomic_uint_least64_t		 rejects[METRICS_REJECT_AUTH + 1];
	atomic_uint_least64_t		 receipts, signatures;
} metrics_shards[METRICS_SHARDS];
static atomic_uint		 metrics_shard_next;
static _Thread_local struct metrics_shard *metrics_shard_mine;

static struct metrics_shard *
metrics_shard(void)
{
	if (metrics_shard_mine == NULL)
		metrics_shard_mine = &metrics_shards[atomic_fetch_add(
		    &metrics_shard_next, 1) % METRICS_SHARDS];
	return metrics_shard_mine;
}
static struct evhttp		*metrics_http;

static void	metrics_render_http(struct evbuffer *);
static void	metrics_render_otlp(struct evbuffer *);
static void	metrics_render_receipts(struct evbuffer *);

static void
metrics_observe(struct metrics_histogram *h, int64_t ms)
{
	size_t	i;

	for (i = 0; i < METRICS_NBOUNDS && ms > metrics_bounds[i]; i++)
		;
	h->buckets[i]++;
	h->count++;
	h->sum_ms += ms;
}

/* The series of (domain, model, error); *indomain: the domain's count. */
static struct metrics_series *
metrics_lookup(const char *domain_id, const char *model, const char *error,
    size_t *indomain)
{
	struct metrics_series	*s;
	size_t			 i;

	*indomain = 0;
	for (i = 0; i < metrics_nseries; i++) {
		s = &metrics_series[i];
		if (strcmp(s->domain_id, domain_id) != 0)
			continue;
		(*indomain)++;
		if (s->error == error && strcmp(s->model, model) == 0)
			return s;
	}
	return NULL;
}

/*
 * The series of (domain, model, error), made when new; NULL when the
 * table is full. Unknown keys share one label, and a domain past its cap
 * another, so no tenant can crowd out the others' series.
 */
static struct metrics_series *
metrics_find(const struct trace *t, const char *error)
{
	const char		*model = t->model != NULL ? t->model : "";
	struct metrics_series	*s;
	size_t			 n;

	if (t->error != NULL && strcmp(t->error, "model_not_found") == 0)
		model = METRICS_UNKNOWN;
	if ((s = metrics_lookup(t->domain_id, model, error, &n)) != NULL)
		return s;
	if (n >= METRICS_DOMAIN_SERIES && strcmp(model, METRICS_OTHER) != 0) {
		if (!metrics_domain_full_logged++)
			log_warnx("metrics: domain %s has %d series; its"
			    " further models are counted as model=\"%s\"",
			    t->domain_id, METRICS_DOMAIN_SERIES,
			    METRICS_OTHER);
		model = METRICS_OTHER;
		if ((s = metrics_lookup(t->domain_id, model, error, &n)) !=
		    NULL)
			return s;
	}
	if (metrics_nseries == METRICS_MAX_SERIES) {
		if (!metrics_full_logged++)
			log_warnx("metrics: more than %d series; new ones are"
			    " not counted", METRICS_MAX_SERIES);
		return NULL;
	}
	if (metrics_series == NULL)
		metrics_series = xcalloc(METRICS_MAX_SERIES,
		    sizeof(*metrics_series));
	s = &metrics_series[metrics_nseries++];
	snprintf(s->domain_id, sizeof(s->domain_id), "%s", t->domain_id);
	snprintf(s->model, sizeof(s->model), "%s", model);
	s->error = error;
	return s;
}

/* Count one written trace (the trace writer's thread). */
void
metrics_add(const struct trace *t)
{
	struct metrics_series	*s;

	pthread_mutex_lock(&metrics_lock);
	if ((s = metrics_find(t, NULL)) != NULL) {
		s->requests++;
		s->prompt_tokens += t->prompt_tokens;
		s->completion_tokens += t->completion_tokens;
		s->cached_tokens += t->cached_tokens;
		s->cost += t->cost;
		metrics_observe(&s->latency, t->latency_ms);
		if (t->ttft_ms >= 0)
			metrics_observe(&s->ttft, t->ttft_ms);
	}
	if (t->error != NULL && (s = metrics_find(t, t->error)) != NULL)
		s->requests++;
	metrics_observe(&metrics_latency, t->latency_ms);
	if (t->ttft_ms >= 0)
		metrics_observe(&metrics_ttft, t->ttft_ms);
	pthread_mutex_unlock(&metrics_lock);
}

void
metrics_stream(int delta)
{
	atomic_fetch_add_explicit(&metrics_shard()->streams, delta,
	    memory_order_relaxed);
}

/* Streams being relayed now, of every worker: the shards' sum. */
int
metrics_streams_open(void)
{
	size_t	i;
	int	n = 0;

	for (i = 0; i < METRICS_SHARDS; i++)
		n += atomic_load_explicit(&metrics_shards[i].streams,
		    memory_order_relaxed);
	return n;
}

/* A label value with \, " and newlines escaped. */
static void
metrics_label(struct evbuffer *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			evbuffer_add_printf(b, "\\%c", *s);
		else if (*s == '\n')
			evbuffer_add(b, "\\n", 2);
		else
			evbuffer_add(b, s, 1);
	}
}

/* {domain="acme",model="chat"} with the domain's name when it has one. */
static void
metrics_labels(struct evbuffer *b, const struct registry *reg,
    const struct metrics_series *s, const char *extra, const char *value)
{
	const struct reg_domain	*d;

	d = registry_find_domain(reg, s->domain_id, strlen(s->domain_id));
	evbuffer_add(b, "{domain=\"", 9);
	metrics_label(b, d != NULL ? d->name : s->domain_id);
	evbuffer_add(b, "\",model=\"", 9);
	metrics_label(b, s->model);
	if (extra != NULL) {
		evbuffer_add_printf(b, "\",%s=\"", extra);
		metrics_label(b, value);
	}
	evbuffer_add(b, "\"}", 2);
}

static void
metrics_render_histogram(struct evbuffer *b, const char *name,
    const char *help, const struct metrics_histogram *h)
{
	int64_t	cum = 0;
	size_t	i;

	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s histogram\n", name,
	    help, name);
	for (i = 0; i < METRICS_NBOUNDS; i++) {
		cum += h->buckets[i];
		evbuffer_add_printf(b, "%s_bucket{le=\"%g\"} %lld\n", name,
		    metrics_bounds[i] / 1000.0, (long long)cum);
	}
	cum += h->buckets[METRICS_NBOUNDS];
	evbuffer_add_printf(b, "%s_bucket{le=\"+Inf\"} %lld\n", name,
	    (long long)cum);
	evbuffer_add_printf(b, "%s_sum %g\n%s_count %lld\n", name,
	    h->sum_ms / 1000.0, name, (long long)h->count);
}

/*
 * The same histogram per (domain, model) series: the bounded series of
 * the counters above, so cardinality stays what those caps allow.
 */
static void
metrics_render_series_histograms(struct evbuffer *b, const char *name,
    const char *help, const struct registry *reg, size_t off)
{
	const struct metrics_series	*s;
	const struct metrics_histogram	*h;
	int64_t				 cum;
	size_t				 i, k;
	char				 le[32];

	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s histogram\n", name,
	    help, name);
	for (i = 0; i < metrics_nseries; i++) {
		if ((s = &metrics_series[i])->error != NULL)
			continue;
		h = (const struct metrics_histogram *)((const char *)s + off);
		cum = 0;
		for (k = 0; k <= METRICS_NBOUNDS; k++) {
			cum += h->buckets[k];
			if (k < METRICS_NBOUNDS)
				snprintf(le, sizeof(le), "%g",
				    metrics_bounds[k] / 1000.0);
			else
				snprintf(le, sizeof(le), "+Inf");
			evbuffer_add_printf(b, "%s_bucket", name);
			metrics_labels(b, reg, s, "le", le);
			evbuffer_add_printf(b, " %lld\n", (long long)cum);
		}
		evbuffer_add_printf(b, "%s_sum", name);
		metrics_labels(b, reg, s, NULL, NULL);
		evbuffer_add_printf(b, " %g\n%s_count", h->sum_ms / 1000.0,
		    name);
		metrics_labels(b, reg, s, NULL, NULL);
		evbuffer_add_printf(b, " %lld\n", (long long)h->count);
	}
}

/*
 * Each provider a domain's models use, once, with its health, or (attest)
 * whether its evidence passed its policy at the last check.
 */
static void
metrics_render_providers(struct evbuffer *b, const struct reg_domain *d,
    int attest)
{
	const struct reg_provider	*p;
	size_t				 i, j;

	for (i = 0; i < d->nmodels; i++) {
		p = d->models[i].provider;
		for (j = 0; j < i && d->models[j].provider != p; j++)
			;
		if (j < i)
			continue;
		if (attest)
			evbuffer_add(b, "cube_provider_attested{domain=\"",
			    31);
		else
			evbuffer_add(b, "cube_provider_up{domain=\"", 25);
		metrics_label(b, d->name);
		evbuffer_add(b, "\",provider=\"", 12);
		metrics_label(b, p->name);
		evbuffer_add_printf(b, "\"} %d\n", attest ? p->attested :
		    !p->errored);
	}
}

/* Shared limits (limit-redis.c), when limits-redis is set. */
static void
metrics_render_limits(struct evbuffer *b)
{
	struct limit_redis_status	st;

	limit_redis_status(&st);
	if (!st.on)
		return;
	evbuffer_add_printf(b, "# HELP cube_limits_redis_up 1 when every"
	    " worker's connection to the shared limits' Redis is up.\n"
	    "# TYPE cube_limits_redis_up gauge\ncube_limits_redis_up %d\n",
	    st.connections > 0 && st.connections_up == st.connections);
	evbuffer_add_printf(b, "# HELP cube_limits_redis_errors_total Failed"
	    " connections, commands and replies of the shared limits' Redis.\n"
	    "# TYPE cube_limits_redis_errors_total counter\n"
	    "cube_limits_redis_errors_total %llu\n",
	    (unsigned long long)st.errors);
	evbuffer_add_printf(b, "# HELP cube_limits_fallback_total Requests"
	    " decided without Redis: rate limits at this host's share,"
	    " budgets refused.\n# TYPE cube_limits_fallback_total counter\n"
	    "cube_limits_fallback_total %llu\n",
	    (unsigned long long)st.fallbacks);
}

/* domain, model, provider and model_id labels of a deployment. */
static void
metrics_deployment_labels(struct evbuffer *b, const struct reg_domain *d,
    const struct reg_model *m, const struct reg_deployment *dep)
{
	evbuffer_add(b, "{domain=\"", 9);
	metrics_label(b, d->name);
	evbuffer_add(b, "\",model=\"", 9);
	metrics_label(b, m->key);
	if (dep != NULL) {
		evbuffer_add(b, "\",provider=\"", 12);
		metrics_label(b, dep->provider->name);
		evbuffer_add(b, "\",model_id=\"", 12);
		metrics_label(b, dep->model_id);
	}
	evbuffer_add(b, "\"}", 2);
}

/*
 * Each deployment's breaker (0 closed, 1 half-open, 2 open) and
 * requests outstanding, and the requests retried onto each model's
 * deployments.
 */
static void
metrics_render_deployments(struct evbuffer *b, const struct registry *reg)
{
	const struct reg_domain		*d;
	const struct reg_model		*m;
	const struct reg_deployment	*dep;
	int64_t				 now = deployment_now_ms();
	uint64_t			 n;
	size_t				 i, j, k, pass;

	for (pass = 0; pass < 3; pass++) {
		evbuffer_add_printf(b, "%s", pass == 0 ?
		    "# HELP cube_deployment_breaker_state A deployment's"
		    " circuit breaker: 0 closed, 1 half-open, 2 open.\n"
		    "# TYPE cube_deployment_breaker_state gauge\n" :
		    pass == 1 ? "# HELP cube_deployment_outstanding Requests"
		    " a deployment has out now.\n"
		    "# TYPE cube_deployment_outstanding gauge\n" :
		    "# HELP cube_retries_total Requests retried onto another"
		    " deployment of a model (or of its fallback).\n"
		    "# TYPE cube_retries_total counter\n");
		for (i = 0; reg != NULL && i < reg->ndomains; i++) {
			d = &reg->domains[i];
			for (j = 0; j < d->nmodels; j++) {
				m = &d->models[j];
				if (pass == 2) {
					for (n = 0, k = 0; k < m->ndeployments;
					    k++)
						n += deployment_retries(
						    m->deployments[k].state);
					evbuffer_add_printf(b,
					    "cube_retries_total");
					metrics_deployment_labels(b, d, m,
					    NULL);
					evbuffer_add_printf(b, " %llu\n",
					    (unsigned long long)n);
					continue;
				}
				for (k = 0; k < m->ndeployments; k++) {
					dep = &m->deployments[k];
					evbuffer_add_printf(b, "%s", pass == 0 ?
					    "cube_deployment_breaker_state" :
					    "cube_deployment_outstanding");
					metrics_deployment_labels(b, d, m, dep);
					evbuffer_add_printf(b, " %d\n",
					    pass == 0 ? (int)deployment_breaker(
					    dep->state, now) :
					    deployment_outstanding(dep->state));
				}
			}
		}
	}
}

/* The exposition, version 0.0.4 of Prometheus' text format. */
static void
metrics_render(struct evbuffer *b)
{
	static const struct {
		const char	*name;
		const char	*kind;		/* tokens' kind label, or NULL */
		const char	*help;
		size_t		 off;
	} counters[] = {
		{ "cube_requests_total", NULL, "Inference requests traced.",
		    offsetof(struct metrics_series, requests) },
		{ "cube_tokens_total", "prompt", "Tokens, by kind (prompt"
		    " includes cached).",
		    offsetof(struct metrics_series, prompt_tokens) },
		{ "cube_tokens_total", "completion", NULL,
		    offsetof(struct metrics_series, completion_tokens) },
		{ "cube_tokens_total", "cached", NULL,
		    offsetof(struct metrics_series, cached_tokens) },
	};
	struct registry	*reg = registry_acquire();
	const struct metrics_series *s;
	char		 usd[MONEY_BUFSZ];
	size_t		 i, c;

	pthread_mutex_lock(&metrics_lock);
	for (c = 0; c < sizeof(counters) / sizeof(counters[0]); c++) {
		if (counters[c].help != NULL)
			evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s"
			    " counter\n", counters[c].name, counters[c].help,
			    counters[c].name);
		for (i = 0; i < metrics_nseries; i++) {
			s = &metrics_series[i];
			if (s->error != NULL)
				continue;
			evbuffer_add_printf(b, "%s", counters[c].name);
			metrics_labels(b, reg, s, counters[c].kind != NULL ?
			    "kind" : NULL, counters[c].kind);
			evbuffer_add_printf(b, " %lld\n", (long long)
			    *(const int64_t *)((const char *)s +
			    counters[c].off));
		}
	}
	evbuffer_add_printf(b, "# HELP cube_spend_usd_total Spend in USD, from"
	    " the models' pricing.\n# TYPE cube_spend_usd_total counter\n");
	for (i = 0; i < metrics_nseries; i++) {
		if ((s = &metrics_series[i])->error != NULL)
			continue;
		evbuffer_add_printf(b, "cube_spend_usd_total");
		metrics_labels(b, reg, s, NULL, NULL);
		evbuffer_add_printf(b, " %s\n", money_format_usd(s->cost, usd,
		    sizeof(usd)));
	}
	evbuffer_add_printf(b, "# HELP cube_errors_total Requests answered"
	    " with an error, by code.\n# TYPE cube_errors_total counter\n");
	for (i = 0; i < metrics_nseries; i++) {
		if ((s = &metrics_series[i])->error == NULL)
			continue;
		evbuffer_add_printf(b, "cube_errors_total");
		metrics_labels(b, reg, s, "code", s->error);
		evbuffer_add_printf(b, " %lld\n", (long long)s->requests);
	}
	metrics_render_histogram(b, "cube_request_duration_seconds",
	    "Time from request to the end of the reply.", &metrics_latency);
	metrics_render_histogram(b, "cube_time_to_first_token_seconds",
	    "Time from request to the first byte of the answer.",
	    &metrics_ttft);
	metrics_render_series_histograms(b,
	    "cube_model_request_duration_seconds", "Time from request to the"
	    " end of the reply, by domain and model.", reg,
	    offsetof(struct metrics_series, latency));
	metrics_render_series_histograms(b,
	    "cube_model_time_to_first_token_seconds", "Time from request to"
	    " the first byte of the answer, by domain and model.", reg,
	    offsetof(struct metrics_series, ttft));
	pthread_mutex_unlock(&metrics_lock);
	metrics_render_limits(b);
	evbuffer_add_printf(b, "# HELP cube_streams_in_flight Streams being"
	    " relayed.\n# TYPE cube_streams_in_flight gauge\n"
	    "cube_streams_in_flight %d\n", metrics_streams_open());
	evbuffer_add_printf(b, "# HELP cube_provider_up 1 when a provider"
	    " that serves models passes its health checks.\n# TYPE cube_provider_up gauge\n");
	for (i = 0; reg != NULL && i < reg->ndomains; i++)
		metrics_render_providers(b, &reg->domains[i], 0);
	evbuffer_add_printf(b, "# HELP cube_provider_attested 1 when a"
	    " provider's evidence passed its attest_policy at the last"
	    " check.\n# TYPE cube_provider_attested gauge\n");
	for (i = 0; reg != NULL && i < reg->ndomains; i++)
		metrics_render_providers(b, &reg->domains[i], 1);
	metrics_render_deployments(b, reg);
	metrics_render_http(b);
	metrics_render_otlp(b);
	metrics_render_receipts(b);
	if (reg != NULL)
		registry_release(reg);
}

static void
metrics_request(struct evhttp_request *req, void *arg)
{
	struct evbuffer	*b;

	(void)arg;
	if (strcmp(evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req)),
	    "/metrics") != 0) {
		evhttp_send_error(req, 404, "Not Found");
		return;
	}
	/* RFC 9110 15.5.6: a 405 says what the resource takes. */
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET &&
	    evhttp_request_get_command(req) != EVHTTP_REQ_HEAD) {
		if ((b = evbuffer_new()) == NULL)
			fatalx("%s: evbuffer_new", __func__);
		evbuffer_add_printf(b, "Method Not Allowed\n");
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET, HEAD");
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Content-Type", "text/plain; charset=utf-8");
		evhttp_send_reply(req, 405, "Method Not Allowed", b);
		evbuffer_free(b);
		return;
	}
	if ((b = evbuffer_new()) == NULL)
		fatalx("%s: evbuffer_new", __func__);
	metrics_render(b);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

/* Serve /metrics on ADDR:PORT from the main loop. */
int
metrics_start(struct event_base *base, const char *listen, char *err,
    size_t errlen)
{
	char	*host = xstrdup(listen), *port;

	if ((port = strrchr(host, ':')) == NULL || port == host) {
		snprintf(err, errlen, "--metrics-listen '%s': expected"
		    " ADDR:PORT", listen);
		free(host);
		return -1;
	}
	*port++ = '\0';
	if (host[0] == '[' && port - host >= 3 && port[-2] == ']')
		port[-2] = '\0';
	if ((metrics_http = evhttp_new(base)) == NULL)
		fatalx("%s: evhttp_new", __func__);
	evhttp_set_gencb(metrics_http, metrics_request, NULL);
	/* Every method reaches metrics_request: a 405 with Allow, not a 501. */
	evhttp_set_allowed_methods(metrics_http, EVHTTP_REQ_GET |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
	    EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
	    EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	if (evhttp_bind_socket(metrics_http, host[0] == '[' ? host + 1 : host,
	    (unsigned short)atoi(port)) != 0) {
		snprintf(err, errlen, "--metrics-listen '%s': cannot listen",
		    listen);
		evhttp_free(metrics_http);
		metrics_http = NULL;
		free(host);
		return -1;
	}
	log_info("metrics on http://%s/metrics", listen);
	free(host);
	return 0;
}

void
metrics_stop(void)
{
	if (metrics_http != NULL)
		evhttp_free(metrics_http);
	metrics_http = NULL;
	free(metrics_series);
	metrics_series = NULL;
	metrics_nseries = 0;
}

/* --- the inference port: what was refused before it reached a domain ----- */


/* Count a refused request (any worker thread); it leaves no trace. */
void
metrics_rejected(enum metrics_reject reason)
{
	atomic_fetch_add_explicit(&metrics_shard()->rejects[reason], 1,
	    memory_order_relaxed);
}

/* A worker signed receipts under signatures (receipt-batch.c). */
void
metrics_receipts(unsigned receipts, unsigned signatures)
{
	struct metrics_shard	*s = metrics_shard();

	atomic_fetch_add_explicit(&s->receipts, receipts,
	    memory_order_relaxed);
	atomic_fetch_add_explicit(&s->signatures, signatures,
	    memory_order_relaxed);
}

/* Receipts signed since start, and their signatures: the shards' sums. */
void
metrics_receipts_total(uint64_t *receipts, uint64_t *signatures)
{
	size_t	i;

	*receipts = *signatures = 0;
	for (i = 0; i < METRICS_SHARDS; i++) {
		*receipts += atomic_load_explicit(&metrics_shards[i].receipts,
		    memory_order_relaxed);
		*signatures += atomic_load_explicit(
		    &metrics_shards[i].signatures, memory_order_relaxed);
	}
}

/* Receipts and the signatures they took: how well batches form. */
static void
metrics_render_receipts(struct evbuffer *b)
{
	uint64_t	receipts, signatures;

	metrics_receipts_total(&receipts, &signatures);
	evbuffer_add_printf(b, "# HELP cube_receipts_signed_total Receipts"
	    " signed, for replies and for the traces of clients that left.\n"
	    "# TYPE cube_receipts_signed_total counter\n"
	    "cube_receipts_signed_total %llu\n"
	    "# HELP cube_receipt_signatures_total Ed25519 signatures those"
	    " took: a batch shares one (receipt-batch).\n"
	    "# TYPE cube_receipt_signatures_total counter\n"
	    "cube_receipt_signatures_total %llu\n",
	    (unsigned long long)receipts, (unsigned long long)signatures);
}

/* The OpenTelemetry exporter's totals (otlp.c). */
static void
metrics_render_otlp(struct evbuffer *b)
{
	uint64_t	exported, dropped, errors;

	otlp_counters(&exported, &dropped, &errors);
	evbuffer_add_printf(b, "# HELP cube_otlp_spans_exported_total Spans"
	    " the OTLP collector accepted.\n"
	    "# TYPE cube_otlp_spans_exported_total counter\n"
	    "cube_otlp_spans_exported_total %llu\n"
	    "# HELP cube_otlp_spans_dropped_total Spans given up: the queue"
	    " was full, or the collector kept failing.\n"
	    "# TYPE cube_otlp_spans_dropped_total counter\n"
	    "cube_otlp_spans_dropped_total %llu\n"
	    "# HELP cube_otlp_export_errors_total POSTs to the collector that"
	    " failed.\n# TYPE cube_otlp_export_errors_total counter\n"
	    "cube_otlp_export_errors_total %llu\n",
	    (unsigned long long)exported, (unsigned long long)dropped,
	    (unsigned long long)errors);
}

/*
 * Bytes of heap the process holds in allocated blocks, of every thread:
 * what memory per open stream is measured by (tests/scenario/memory.sh),
 * the same under AddressSanitizer, whose allocator replaces glibc's.
 */
static size_t
metrics_heap_bytes(void)
{
#if defined(__SANITIZE_ADDRESS__)
	return __sanitizer_get_current_allocated_bytes();
#else
	return mallinfo2().uordblks;
#endif
}

/* Refusals by reason: ours (auth), then the HTTP server's own. */
static void
metrics_render_http(struct evbuffer *b)
{
	struct http_stats	 st;
	uint64_t		 n[6];
	static const char *const reasons[] = {
		"auth", "connections", "connections_per_address",
		"head_timeout", "body_timeout", "tls_handshake",
	};
	size_t			 i;

	http_stats_get(&st);
	for (n[0] = 0, i = 0; i < METRICS_SHARDS; i++)
		n[0] += atomic_load_explicit(
		    &metrics_shards[i].rejects[METRICS_REJECT_AUTH],
		    memory_order_relaxed);
	n[1] = st.over_cap;
	n[2] = st.over_cap_addr;
	n[3] = st.head_timeouts;
	n[4] = st.body_timeouts;
	n[5] = st.tls_handshakes_failed;
	evbuffer_add_printf(b, "# HELP cube_http_rejected_total Requests and"
	    " connections refused before they reached a domain, by reason;"
	    " they leave no trace.\n# TYPE cube_http_rejected_total"
	    " counter\n");
	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		evbuffer_add_printf(b, "cube_http_rejected_total{reason=\"%s\"}"
		    " %llu\n", reasons[i], (unsigned long long)n[i]);
	evbuffer_add_printf(b, "# HELP cube_http_accept_errors_total accept(2)"
	    " failures on the inference port (EMFILE and such).\n"
	    "# TYPE cube_http_accept_errors_total counter\n"
	    "cube_http_accept_errors_total %llu\n# HELP"
	    " cube_http_connections Inbound connections open.\n"
	    "# TYPE cube_http_connections gauge\ncube_http_connections %zu\n"
	    "# HELP cube_heap_bytes Bytes of heap in allocated blocks.\n"
	    "# TYPE cube_heap_bytes gauge\ncube_heap_bytes %zu\n",
	    (unsigned long long)st.accept_errors, http_connections(),
	    metrics_heap_bytes());
}
