/*
 * stats.get and stats.tail (admin loop): the rolling figures of stats.c
 * for the host, each domain and each model, once or as a stats.update
 * notification every interval. Nothing here touches the request path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "agent.h"
#include "log.h"
#include "rpc.h"
#include "xmalloc.h"

#define STATS_INTERVAL_MS	1000
#define STATS_INTERVAL_MIN	250
#define STATS_INTERVAL_MAX	60000
/*
 * A subscriber with this much unread skips updates (a few of the largest
 * fit): it never blocks the agent nor makes it hold a backlog.
 */
#define STATS_OUT_HIGH		(256 * 1024)

static const char *const admin_stats_windows[STATS_NWINDOWS] = {
	[STATS_1M] = "1m",
	[STATS_5M] = "5m",
	[STATS_1H] = "1h",
};

/* x rounded to `places` decimals, so that JSON shows 0.017, not 0.01666. */
static double
admin_stats_round(double x, double scale)
{
	return (double)(int64_t)(x * scale + 0.5) / scale;
}

static cJSON *
admin_stats_ms(const struct stats_hist *h, double p)
{
	int64_t	v = stats_percentile(h, p);

	return v < 0 ? cJSON_CreateNull() : admin_json_number((double)v);
}

/* One window's figures (docs/admin-api.md, stats.get). */
static cJSON *
admin_stats_window(const struct stats_sum *w, int64_t seconds)
{
	cJSON	*o = admin_json_object();

	admin_json_add(o, "requests", admin_json_number((double)w->requests));
	admin_json_add(o, "errors", admin_json_number((double)w->errors));
	admin_json_add(o, "requests_per_s", admin_json_number(
	    admin_stats_round((double)w->requests / (double)seconds, 1000)));
	admin_json_add(o, "error_rate", admin_json_number(w->requests == 0 ?
	    0 : admin_stats_round((double)w->errors / (double)w->requests,
	    10000)));
	admin_json_add(o, "latency_p50_ms", admin_stats_ms(&w->latency, 0.5));
	admin_json_add(o, "latency_p99_ms", admin_stats_ms(&w->latency,
	    0.99));
	admin_json_add(o, "streams", admin_json_number((double)
	    w->ttft.count));
	admin_json_add(o, "ttft_p50_ms", admin_stats_ms(&w->ttft, 0.5));
	admin_json_add(o, "ttft_p99_ms", admin_stats_ms(&w->ttft, 0.99));
	admin_json_add(o, "prompt_tokens", admin_json_number((double)
	    w->prompt_tokens));
	admin_json_add(o, "completion_tokens", admin_json_number((double)
	    w->completion_tokens));
	return o;
}

/* Spend today and the three windows, added to o. */
static void
admin_stats_figures(cJSON *o, const struct stats_row *r)
{
	size_t	w;

	admin_json_add(o, "spend_today_usd", admin_json_money(r->cost_today));
	for (w = 0; w < STATS_NWINDOWS; w++)
		admin_json_add(o, admin_stats_windows[w], admin_stats_window(
		    &r->window[w], stats_window_seconds((enum stats_window)w)));
}

static void
admin_stats_merge(struct stats_row *to, const struct stats_row *r)
{
	size_t	w;

	for (w = 0; w < STATS_NWINDOWS; w++)
		stats_sum_merge(&to->window[w], &r->window[w]);
	to->cost_today += r->cost_today;
}

/* A domain: each of its models (idle ones too), then labels of no model. */
static cJSON *
admin_stats_domain(const struct reg_domain *d, const char *model,
    const struct stats_row *rows, size_t n)
{
	static const struct stats_row	 zero;
	struct stats_row		*total;
	const struct stats_row		*r;
	cJSON				*o, *models, *m;
	size_t				 i, j;

	total = xcalloc(1, sizeof(*total));
	o = admin_json_object();
	admin_json_add(o, "domain", admin_json_string(d->id));
	admin_json_add(o, "name", admin_json_string(d->name));
	models = admin_json_array();
	for (i = 0; i < d->nmodels; i++) {
		if (model != NULL && strcmp(model, d->models[i].key) != 0)
			continue;
		for (j = 0, r = &zero; j < n; j++)
			if (strcmp(rows[j].domain_id, d->id) == 0 &&
			    strcmp(rows[j].model, d->models[i].key) == 0)
				r = &rows[j];
		admin_stats_merge(total, r);
		m = admin_json_object();
		admin_json_add(m, "model", admin_json_string(d->models[i].key));
		admin_stats_figures(m, r);
		cJSON_AddItemToArray(models, m);
	}
	for (j = 0; j < n; j++) {
		r = &rows[j];
		if (strcmp(r->domain_id, d->id) != 0 || registry_find_model(d,
		    r->model, strlen(r->model)) != NULL)
			continue;
		admin_stats_merge(total, r);
		m = admin_json_object();
		admin_json_add(m, "model", admin_json_string(r->model));
		admin_stats_figures(m, r);
		cJSON_AddItemToArray(models, m);
	}
	admin_stats_figures(o, total);
	admin_json_add(o, "models", models);
	free(total);
	return o;
}

/* The stats.get result for a domain id ("" or NULL: all) and model. */
static cJSON *
admin_stats_build(const char *domain_id, const char *model)
{
	struct stats		*st = stats_default();
	struct registry		*reg = registry_acquire();
	struct stats_row	*host, *rows;
	int64_t			 now_ms = trace_now_ms();
	time_t			 t = (time_t)(now_ms / 1000);
	struct tm		 tm;
	char			 day[16] = "";
	cJSON			*o, *windows, *domains;
	size_t			 n, i, w;

	if (domain_id != NULL && *domain_id == '\0')
		domain_id = NULL;
	stats_prune(st, reg);
	host = xcalloc(1, sizeof(*host));
	n = stats_read(st, stats_now(), now_ms / 86400000, domain_id, model,
	    host, &rows);
	o = admin_json_object();
	admin_json_add(o, "time", admin_json_time(now_ms / 1000));
	if (gmtime_r(&t, &tm) != NULL)
		strftime(day, sizeof(day), "%Y-%m-%d", &tm);
	admin_json_add(o, "day", admin_json_string(day));
	windows = admin_json_object();
	for (w = 0; w < STATS_NWINDOWS; w++)
		admin_json_add(windows, admin_stats_windows[w],
		    admin_json_number((double)stats_window_seconds(
		    (enum stats_window)w)));
	admin_json_add(o, "windows", windows);
	admin_json_add(o, "host", admin_json_object());
	admin_stats_figures(cJSON_GetObjectItemCaseSensitive(o, "host"), host);
	domains = admin_json_array();
	for (i = 0; reg != NULL && i < reg->ndomains; i++) {
		if (domain_id != NULL && strcmp(reg->domains[i].id,
		    domain_id) != 0)
			continue;
		cJSON_AddItemToArray(domains, admin_stats_domain(
		    &reg->domains[i], model, rows, n));
	}
	admin_json_add(o, "domains", domains);
	registry_release(reg);
	free(rows);
	free(host);
	return o;
}

/* The optional domain and model filters; d->id "" when no domain. */
static int
admin_stats_filter(struct agent *agent, const cJSON *params,
    struct store_domain *d, const char **model, struct admin_reply *reply)
{
	memset(d, 0, sizeof(*d));
	*model = NULL;
	if (cJSON_GetObjectItemCaseSensitive(params, "domain") != NULL &&
	    admin_param_domain(agent, params, d, reply) == -1)
		return -1;
	if (admin_param_string(params, "model", 0, 1, 128,
	    admin_valid_model_key, "not a model key", model, reply) == -1)
		return -1;
	return 0;
}

int
admin_stats_get(struct agent *agent, const cJSON *params,
    struct admin_reply *reply)
{
	static const char *const allowed[] = { "domain", "model", NULL };
	struct store_domain	 d;
	const char		*model;

	if (admin_param_check(params, allowed, reply) == -1 ||
	    admin_stats_filter(agent, params, &d, &model, reply) == -1) {
		store_domain_clear(&d);
		return -1;
	}
	reply->result = admin_stats_build(d.id, model);
	store_domain_clear(&d);
	return 0;
}

/* Every interval: a stats.update to the subscriber, unless it lags. */
static void
admin_stats_tick(evutil_socket_t fd, short what, void *arg)
{
	struct admin_session	*s = arg;
	cJSON			*n;
	char			*text;

	(void)fd;
	(void)what;
	if (s->bev == NULL || evbuffer_get_length(bufferevent_get_output(
	    s->bev)) > STATS_OUT_HIGH)
		return;
	n = admin_json_object();
	admin_json_add(n, "jsonrpc", admin_json_string("2.0"));
	admin_json_add(n, "method", admin_json_string("stats.update"));
	admin_json_add(n, "params", admin_stats_build(s->stats_domain_id,
	    s->stats_model));
	if ((text = cJSON_PrintUnformatted(n)) == NULL)
		fatalx("%s: out of memory", __func__);
	cJSON_Delete(n);
	bufferevent_write(s->bev, text, strlen(text));
	bufferevent_write(s->bev, "\n", 1);
	free(text);
}

/* Subscribe the connection (again: new filters and interval). */
int
admin_stats_tail(struct agent *agent, const cJSON *params,
    struct admin_reply *reply)
{
	static const char *const allowed[] = { "domain", "model",
	    "interval_ms", NULL };
	struct admin_session	*s = reply->session;
	struct store_domain	 d;
	const char		*model;
	int64_t			 interval = STATS_INTERVAL_MS;
	struct timeval		 tv;

	if (s == NULL || s->bev == NULL)
		return admin_reply_error(reply, RPC_INVALID_REQUEST,
		    "stats.tail needs a connection to send to");
	if (admin_param_check(params, allowed, reply) == -1 ||
	    admin_stats_filter(agent, params, &d, &model, reply) == -1 ||
	    admin_param_int(params, "interval_ms", 0, STATS_INTERVAL_MIN,
	    STATS_INTERVAL_MAX, &interval, reply) == -1) {
		store_domain_clear(&d);
		return -1;
	}
	if (s->stats_ev == NULL && (s->stats_ev = event_new(agent->base, -1,
	    EV_PERSIST, admin_stats_tick, s)) == NULL)
		fatalx("%s: event_new", __func__);
	event_del(s->stats_ev);
	memcpy(s->stats_domain_id, d.id, sizeof(s->stats_domain_id));
	free(s->stats_model);
	s->stats_model = model != NULL ? xstrdup(model) : NULL;
	store_domain_clear(&d);
	tv.tv_sec = interval / 1000;
	tv.tv_usec = (interval % 1000) * 1000;
	event_add(s->stats_ev, &tv);
	reply->result = admin_json_object();
	admin_json_add(reply->result, "subscribed", admin_json_bool(1));
	admin_json_add(reply->result, "interval_ms", admin_json_number(
	    (double)interval));
	return 0;
}

int
admin_stats_untail(struct agent *agent, const cJSON *params,
    struct admin_reply *reply)
{
	static const char *const allowed[] = { NULL };

	(void)agent;
	if (admin_param_check(params, allowed, reply) == -1)
		return -1;
	if (reply->session != NULL)
		admin_stats_clear(reply->session);
	reply->result = admin_json_object();
	admin_json_add(reply->result, "subscribed", admin_json_bool(0));
	return 0;
}

void
admin_stats_clear(struct admin_session *s)
{
	if (s->stats_ev != NULL)
		event_free(s->stats_ev);
	s->stats_ev = NULL;
	free(s->stats_model);
	s->stats_model = NULL;
	s->stats_domain_id[0] = '\0';
}
