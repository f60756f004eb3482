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
#include "store.h"
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

/* The ring asked for with stats.get's "series", oldest bucket first. */
struct admin_stats_series {
	int				 window;	/* -1: none asked */
	size_t				 npoints;
	const struct stats_point	*host;
	const struct stats_points	*rows;
	size_t				 nrows;
};

/* One ring's buckets as arrays (docs/admin-api.md, "series"). */
static cJSON *
admin_stats_points(const struct admin_stats_series *sr,
    const struct stats_point *pt)
{
	cJSON	*o, *req, *err, *lat, *tok;
	int64_t	 p50;
	size_t	 k;

	o = admin_json_object();
	admin_json_add(o, "window", admin_json_string(
	    admin_stats_windows[sr->window]));
	admin_json_add(o, "bucket_s", admin_json_number((double)
	    stats_window_seconds((enum stats_window)sr->window) /
	    (double)sr->npoints));
	req = admin_json_array();
	err = admin_json_array();
	lat = admin_json_array();
	tok = admin_json_array();
	for (k = 0; k < sr->npoints; k++) {
		cJSON_AddItemToArray(req, admin_json_number((double)
		    pt[k].requests));
		cJSON_AddItemToArray(err, admin_json_number((double)
		    pt[k].errors));
		p50 = stats_point_percentile(&pt[k], 0.5);
		cJSON_AddItemToArray(lat, p50 < 0 ? cJSON_CreateNull() :
		    admin_json_number((double)p50));
		cJSON_AddItemToArray(tok, admin_json_number((double)
		    pt[k].tokens));
	}
	admin_json_add(o, "requests", req);
	admin_json_add(o, "errors", err);
	admin_json_add(o, "latency_p50_ms", lat);
	admin_json_add(o, "tokens", tok);
	return o;
}

/* Spend today, the three windows and the series (pt NULL: none). */
static void
admin_stats_figures(cJSON *o, const struct stats_row *r,
    const struct admin_stats_series *sr, const struct stats_point *pt)
{
	size_t	w;

	admin_json_add(o, "spend_today_usd", admin_json_money(r->cost_today));
	for (w = 0; w < STATS_NWINDOWS; w++)
		admin_json_add(o, admin_stats_windows[w], admin_stats_window(
		    &r->window[w], stats_window_seconds((enum stats_window)w)));
	if (sr->window >= 0 && pt != NULL)
		admin_json_add(o, "series", admin_stats_points(sr, pt));
}

/* The buckets of (domain, model), or of an idle series (zeros). */
static const struct stats_point *
admin_stats_find_points(const struct admin_stats_series *sr,
    const char *domain_id, const char *model)
{
	static const struct stats_point	zero[STATS_POINTS_MAX];
	size_t				i;

	for (i = 0; i < sr->nrows; i++)
		if (strcmp(sr->rows[i].domain_id, domain_id) == 0 &&
		    strcmp(sr->rows[i].model, model) == 0)
			return sr->rows[i].pt;
	return zero;
}

static void
admin_stats_merge_points(struct stats_point *to,
    const struct admin_stats_series *sr, const struct stats_point *pt)
{
	size_t	k;

	for (k = 0; sr->window >= 0 && k < sr->npoints; k++)
		stats_point_merge(&to[k], &pt[k]);
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
    const struct stats_row *rows, size_t n,
    const struct admin_stats_series *sr)
{
	static const struct stats_row	 zero;
	struct stats_row		*total;
	struct stats_point		*tpt = NULL;
	const struct stats_point	*pt = NULL;
	const struct stats_row		*r;
	cJSON				*o, *models, *m;
	size_t				 i, j;

	total = xcalloc(1, sizeof(*total));
	if (sr->window >= 0)
		tpt = xcalloc(STATS_POINTS_MAX, sizeof(*tpt));
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
		if (sr->window >= 0) {
			pt = admin_stats_find_points(sr, d->id,
			    d->models[i].key);
			admin_stats_merge_points(tpt, sr, pt);
		}
		m = admin_json_object();
		admin_json_add(m, "model", admin_json_string(d->models[i].key));
		admin_stats_figures(m, r, sr, pt);
		cJSON_AddItemToArray(models, m);
	}
	for (j = 0; j < n; j++) {
		r = &rows[j];
		if (strcmp(r->domain_id, d->id) != 0 || registry_find_model(d,
		    r->model, strlen(r->model)) != NULL)
			continue;
		admin_stats_merge(total, r);
		if (sr->window >= 0) {
			pt = admin_stats_find_points(sr, d->id, r->model);
			admin_stats_merge_points(tpt, sr, pt);
		}
		m = admin_json_object();
		admin_json_add(m, "model", admin_json_string(r->model));
		admin_stats_figures(m, r, sr, pt);
		cJSON_AddItemToArray(models, m);
	}
	admin_stats_figures(o, total, sr, tpt);
	admin_json_add(o, "models", models);
	free(tpt);
	free(total);
	return o;
}

/*
 * The stats.get result for a domain id ("" or NULL: all) and model, with
 * the buckets of ring `series` (-1: none).
 */
static cJSON *
admin_stats_build(const char *domain_id, const char *model, int series)
{
	struct stats		*st = stats_default();
	struct registry		*reg = registry_acquire();
	struct stats_row	*host, *rows;
	struct stats_point	*hpt = NULL;
	struct stats_points	*prows = NULL;
	struct admin_stats_series sr;
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
	memset(&sr, 0, sizeof(sr));
	sr.window = series;
	if (series >= 0) {
		hpt = xcalloc(STATS_POINTS_MAX, sizeof(*hpt));
		sr.nrows = stats_read_points(st, stats_now(),
		    (enum stats_window)series, domain_id, model, hpt, &prows,
		    &sr.npoints);
		sr.host = hpt;
		sr.rows = prows;
	}
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
	admin_stats_figures(cJSON_GetObjectItemCaseSensitive(o, "host"), host,
	    &sr, hpt);
	domains = admin_json_array();
	for (i = 0; reg != NULL && i < reg->ndomains; i++) {
		if (domain_id != NULL && strcmp(reg->domains[i].id,
		    domain_id) != 0)
			continue;
		cJSON_AddItemToArray(domains, admin_stats_domain(
		    &reg->domains[i], model, rows, n, &sr));
	}
	admin_json_add(o, "domains", domains);
	registry_release(reg);
	free(prows);
	free(hpt);
	free(rows);
	free(host);
	return o;
}

static int
admin_stats_valid_window(const char *s)
{
	size_t	w;

	for (w = 0; w < STATS_NWINDOWS; w++)
		if (strcmp(s, admin_stats_windows[w]) == 0)
			return 1;
	return 0;
}

/*
 * The optional domain, model and series filters; d->id "" when no
 * domain, *series -1 when no series.
 */
static int
admin_stats_filter(struct agent *agent, const cJSON *params,
    struct store_domain *d, const char **model, int *series,
    struct admin_reply *reply)
{
	const char	*window = NULL;
	size_t		 w;

	memset(d, 0, sizeof(*d));
	*model = NULL;
	*series = -1;
	if (cJSON_GetObjectItemCaseSensitive(params, "domain") != NULL &&
	    admin_param_domain(agent, params, d, reply) == -1)
		return -1;
	if (admin_param_string(params, "model", 0, 1, 128,
	    admin_valid_model_key, "not a model key", model, reply) == -1)
		return -1;
	if (admin_param_string(params, "series", 0, 1, 8,
	    admin_stats_valid_window, "not 1m, 5m or 1h", &window,
	    reply) == -1)
		return -1;
	for (w = 0; window != NULL && w < STATS_NWINDOWS; w++)
		if (strcmp(window, admin_stats_windows[w]) == 0)
			*series = (int)w;
	return 0;
}

int
admin_stats_get(struct agent *agent, const cJSON *params,
    struct admin_reply *reply)
{
	static const char *const allowed[] = { "domain", "model", "series",
	    NULL };
	struct store_domain	 d;
	const char		*model;
	int			 series;

	if (admin_param_check(params, allowed, reply) == -1 ||
	    admin_stats_filter(agent, params, &d, &model, &series,
	    reply) == -1) {
		store_domain_clear(&d);
		return -1;
	}
	reply->result = admin_stats_build(d.id, model, series);
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
	    s->stats_model, s->stats_series));
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
	    "interval_ms", "series", NULL };
	struct admin_session	*s = reply->session;
	struct store_domain	 d;
	const char		*model;
	int			 series;
	int64_t			 interval = STATS_INTERVAL_MS;
	struct timeval		 tv;

	if (s == NULL || s->bev == NULL)
		return admin_reply_error(reply, RPC_INVALID_REQUEST,
		    "stats.tail needs a connection to send to");
	if (admin_param_check(params, allowed, reply) == -1 ||
	    admin_stats_filter(agent, params, &d, &model, &series,
	    reply) == -1 ||
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
	s->stats_series = series;
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
	s->stats_series = -1;
}
