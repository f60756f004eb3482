/*
 * The Overview view (main thread): for the domain in view, sparklines of
 * requests, latency (p50) and errors over the last hour or five minutes
 * (stats.get's series), its top models by calls with their spend today,
 * and its recent errors (logs.list), newest first. Without a domain in
 * view: the host's sparklines and its domains, Enter picks one. An agent
 * without series shows the figures without sparklines.
 */
#include <stdlib.h>
#include <string.h>

#include <curses.h>
#include <cjson/cJSON.h>

#include "cube-tui.h"

#define VIEW_OVERVIEW_TRACES	200	/* asked for, to find the errors */
#define VIEW_OVERVIEW_MODELS	5	/* top models shown, at most */
#define VIEW_OVERVIEW_LABEL	10	/* columns before a sparkline */
#define VIEW_OVERVIEW_FIGURE	22	/* columns after it */
#define VIEW_OVERVIEW_VALUES	64	/* buckets read, at most */

/* The windows w cycles through, and what each is called. */
static const struct {
	const char	*window;
	const char	*title;
} view_overview_windows[] = {
	{ "1h", "last hour, a column a minute" },
	{ "5m", "last 5 minutes, a column per 10 s" },
};
#define VIEW_OVERVIEW_NWINDOWS	2

static const struct output_field view_overview_columns[] = {
	{ "DOMAIN",		"name",			OUTPUT_PLAIN },
	{ "LOG-CONTENT",	"log_content",		OUTPUT_ONOFF },
	{ "RETENTION-DAYS",	"trace_retention_days",	OUTPUT_PLAIN },
	{ "ID",			"id",			OUTPUT_PLAIN },
	{ NULL, NULL, OUTPUT_PLAIN }
};

static struct list view_overview_list = {
	.method = "domain.list",
	.columns = view_overview_columns,
};

static struct {
	unsigned	 gen;		/* tui->gen of what is held */
	size_t		 window;	/* of view_overview_windows */
	struct cJSON	*stats;		/* stats.get; NULL: not yet */
	int		 stats_pending;
	size_t		 stats_window;	/* of the call in flight */
	int		 no_series;	/* the agent does not know "series" */
	char		 stats_err[320];
	struct cJSON	*traces;	/* logs.list; NULL: not yet */
	size_t		 err_sel;	/* the selected error, newest 0 */
	int		 traces_pending;
	char		 traces_err[320];
} view_overview;

static void
view_overview_reset(struct tui *t)
{
	if (view_overview.gen == t->gen)
		return;
	cJSON_Delete(view_overview.stats);
	cJSON_Delete(view_overview.traces);
	view_overview.stats = view_overview.traces = NULL;
	view_overview.stats_err[0] = view_overview.traces_err[0] = '\0';
	view_overview.no_series = 0;
	view_overview.err_sel = 0;
	/* Answers to calls of another host or domain are dropped. */
	view_overview.stats_pending = view_overview.traces_pending = 0;
	view_overview.gen = t->gen;
}

static void view_overview_ask_stats(struct tui *);

static void
view_overview_stats_done(struct tui *t, struct host_reply *r)
{
	view_overview.stats_pending = 0;
	/* w was pressed meanwhile: that answer is of the other window. */
	if (view_overview.stats_window != view_overview.window) {
		view_overview_ask_stats(t);
		return;
	}
	/* An agent from before "series" refuses it: ask without. */
	if (r->status == RPC_CLIENT_REPLY_ERROR && r->code ==
	    RPC_INVALID_PARAMS && strstr(r->err, "series") != NULL &&
	    !view_overview.no_series) {
		view_overview.no_series = 1;
		view_overview_ask_stats(t);
		return;
	}
	if (r->status != RPC_CLIENT_OK || !cJSON_IsObject(r->result)) {
		snprintf(view_overview.stats_err,
		    sizeof(view_overview.stats_err), "%s",
		    host_is_unsupported(r) ? "stats: not supported by this"
		    " agent" : r->status == RPC_CLIENT_OK ? "stats: unexpected"
		    " reply" : r->err);
		return;
	}
	cJSON_Delete(view_overview.stats);
	view_overview.stats = r->result;
	r->result = NULL;
	view_overview.stats_err[0] = '\0';
}

static void
view_overview_ask_stats(struct tui *t)
{
	cJSON	*params;

	if (view_overview.stats_pending)
		return;
	if ((params = tui_domain_params(t)) == NULL)
		params = cJSON_CreateObject();
	if (!view_overview.no_series)
		cJSON_AddStringToObject(params, "series",
		    view_overview_windows[view_overview.window].window);
	view_overview.stats_pending = 1;
	view_overview.stats_window = view_overview.window;
	tui_call(t, "stats.get", params, view_overview_stats_done);
}

static void
view_overview_traces_done(struct tui *t, struct host_reply *r)
{
	(void)t;
	view_overview.traces_pending = 0;
	if (r->status != RPC_CLIENT_OK || !cJSON_IsArray(r->result)) {
		snprintf(view_overview.traces_err,
		    sizeof(view_overview.traces_err), "%s",
		    host_is_unsupported(r) ? "recent errors: not supported by"
		    " this agent" : r->status == RPC_CLIENT_OK ?
		    "recent errors: unexpected reply" : r->err);
		return;
	}
	cJSON_Delete(view_overview.traces);
	view_overview.traces = r->result;
	r->result = NULL;
	view_overview.traces_err[0] = '\0';
}

static void
view_overview_done(struct tui *t, struct host_reply *r)
{
	(void)t;
	list_result(&view_overview_list, r);
}

static void
view_overview_refresh(struct tui *t)
{
	cJSON	*params;

	view_overview_reset(t);
	view_overview_ask_stats(t);
	if (t->domain == NULL) {
		list_refresh(t, &view_overview_list, NULL, view_overview_done);
		return;
	}
	if (view_overview.traces_pending)
		return;
	params = tui_domain_params(t);
	cJSON_AddNumberToObject(params, "limit", VIEW_OVERVIEW_TRACES);
	view_overview.traces_pending = 1;
	tui_call(t, "logs.list", params, view_overview_traces_done);
}

/* The figures of the domain in view, or the host's (NULL: none yet). */
static const cJSON *
view_overview_figures(struct tui *t)
{
	const cJSON	*d, *name;

	if (t->domain == NULL)
		return cJSON_GetObjectItemCaseSensitive(view_overview.stats,
		    "host");
	cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(
	    view_overview.stats, "domains")) {
		name = cJSON_GetObjectItemCaseSensitive(d, "name");
		if (cJSON_IsString(name) && strcmp(name->valuestring,
		    t->domain) == 0)
			return d;
		name = cJSON_GetObjectItemCaseSensitive(d, "domain");
		if (cJSON_IsString(name) && strcmp(name->valuestring,
		    t->domain) == 0)
			return d;
	}
	return NULL;
}

static double
view_overview_number(const cJSON *o, const char *name)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/* One sparkline row: label, the line, then its figure. */
static void
view_overview_spark(int y, const char *label, const cJSON *series,
    const char *member, enum draw_role role, const char *figure)
{
	double	v[VIEW_OVERVIEW_VALUES];
	size_t	n;
	int	width = COLS - VIEW_OVERVIEW_LABEL - VIEW_OVERVIEW_FIGURE - 2;

	draw_text(y, 1, VIEW_OVERVIEW_LABEL - 1, ROLE_MUTED, label);
	if (series != NULL && width > 4) {
		n = sparkline_values(cJSON_GetObjectItemCaseSensitive(series,
		    member), v, VIEW_OVERVIEW_VALUES);
		sparkline_draw(y, VIEW_OVERVIEW_LABEL, width, role, v, n);
	} else
		width = 0;
	draw_text(y, VIEW_OVERVIEW_LABEL + width + 1, COLS -
	    VIEW_OVERVIEW_LABEL - width - 2, ROLE_NORMAL, figure);
}

/* The three sparklines and their window's sums, from y; rows used. */
static int
view_overview_sparks(struct tui *t, int y)
{
	const cJSON	*fig = view_overview_figures(t), *w, *series;
	const char	*wname = view_overview_windows[view_overview.window].
			    window;
	char		 a[16], b[16], line[64];
	double		 req, err;

	if (fig == NULL) {
		draw_text(y, 1, COLS - 2, view_overview.stats_err[0] != '\0' ?
		    ROLE_ERROR : ROLE_MUTED, view_overview.stats_err[0] !=
		    '\0' ? view_overview.stats_err : "figures: loading");
		return 1;
	}
	w = cJSON_GetObjectItemCaseSensitive(fig, wname);
	series = view_overview.no_series ? NULL :
	    cJSON_GetObjectItemCaseSensitive(fig, "series");
	draw_fmt(y, 1, COLS - 2, ROLE_MUTED, "%s%s%s  (w: %s)",
	    t->domain != NULL ? t->domain : "host",
	    draw_dot(), view_overview.no_series ? "this agent has no"
	    " series: figures only" :
	    view_overview_windows[view_overview.window].title,
	    view_overview.window == 0 ? "5 min" : "hour");
	req = view_overview_number(w, "requests");
	err = view_overview_number(w, "errors");
	human_rate(a, sizeof(a), view_overview_number(w, "requests_per_s"));
	snprintf(line, sizeof(line), "%.0f req, %s/s", req < 0 ? 0 : req, a);
	view_overview_spark(y + 1, "requests", series, "requests", ROLE_OK,
	    line);
	human_ms(a, sizeof(a), view_overview_number(w, "latency_p50_ms"));
	human_ms(b, sizeof(b), view_overview_number(w, "latency_p99_ms"));
	snprintf(line, sizeof(line), "p50 %s p99 %s", a, b);
	view_overview_spark(y + 2, "latency", series, "latency_p50_ms",
	    ROLE_NORMAL, line);
	human_percent(a, sizeof(a), view_overview_number(w, "error_rate"));
	snprintf(line, sizeof(line), "%.0f err, %s", err < 0 ? 0 : err, a);
	view_overview_spark(y + 3, "errors", series, "errors", err > 0 ?
	    ROLE_ERROR : ROLE_MUTED, line);
	return 4;
}

/* Models by calls in the window, then spend: the top ones, from y. */
static int
view_overview_models(struct tui *t, int y, int rows)
{
	const cJSON	*fig = view_overview_figures(t), *m, *w, *top[
			    VIEW_OVERVIEW_MODELS];
	const cJSON	*spend;
	const char	*wname = view_overview_windows[view_overview.window].
			    window;
	double		 calls[VIEW_OVERVIEW_MODELS], c;
	size_t		 n = 0, i, j;
	char		 pct[16], p50[16], usd[24];
	int		 used = 1, x;

	cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(fig,
	    "models")) {
		w = cJSON_GetObjectItemCaseSensitive(m, wname);
		c = view_overview_number(w, "requests");
		spend = cJSON_GetObjectItemCaseSensitive(m, "spend_today_usd");
		if (c <= 0 && !(cJSON_IsString(spend) && strspn(
		    spend->valuestring, "0.") != strlen(spend->valuestring)))
			continue;
		/* Insert in order, keeping the top VIEW_OVERVIEW_MODELS. */
		for (i = 0; i < n && calls[i] >= c; i++)
			;
		if (i >= VIEW_OVERVIEW_MODELS)
			continue;
		if (n < VIEW_OVERVIEW_MODELS)
			n++;
		for (j = n - 1; j > i; j--) {
			top[j] = top[j - 1];
			calls[j] = calls[j - 1];
		}
		top[i] = m;
		calls[i] = c;
	}
	x = COLS - 40;
	if (x < 20)
		x = 20;
	draw_fmt(y, 1, COLS - 2, ROLE_MUTED, "%-*s %6s %6s %6s  %s", x - 2,
	    "TOP MODELS", "CALLS", "ERR%", "P50", "SPEND TODAY");
	if (n == 0 && rows > 1) {
		draw_fmt(y + 1, 1, COLS - 2, ROLE_MUTED, "no calls in the"
		    " last %s", view_overview.window == 0 ? "hour" :
		    "5 minutes");
		return 2;
	}
	for (i = 0; i < n && used < rows; i++, used++) {
		m = top[i];
		w = cJSON_GetObjectItemCaseSensitive(m, wname);
		human_percent(pct, sizeof(pct), view_overview_number(w,
		    "error_rate"));
		human_ms(p50, sizeof(p50), view_overview_number(w,
		    "latency_p50_ms"));
		spend = cJSON_GetObjectItemCaseSensitive(m, "spend_today_usd");
		human_usd(usd, sizeof(usd), cJSON_IsString(spend) ?
		    spend->valuestring : NULL);
		draw_text(y + used, 1, x - 2, ROLE_NORMAL, cJSON_IsString(
		    cJSON_GetObjectItemCaseSensitive(m, "model")) ?
		    cJSON_GetObjectItemCaseSensitive(m, "model")->valuestring :
		    "?");
		draw_fmt(y + used, x, COLS - x - 1, ROLE_NORMAL,
		    "%6.0f %6s %6s  %s", calls[i] < 0 ? 0 : calls[i], pct, p50,
		    usd);
	}
	return used;
}

static const char *
view_overview_string(const cJSON *o, const char *name, const char *none)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : none;
}

/* Is trace tr an error (a status of 400 up, or an error code)? */
static int
view_overview_failed(const cJSON *tr)
{
	const cJSON	*st = cJSON_GetObjectItemCaseSensitive(tr, "status");

	return cJSON_IsString(cJSON_GetObjectItemCaseSensitive(tr, "error")) ||
	    (cJSON_IsNumber(st) && st->valueint >= 400);
}

/* The n-th error, newest first (NULL: none). */
static const cJSON *
view_overview_error(size_t n)
{
	const cJSON	*tr;
	int		 i;

	for (i = cJSON_GetArraySize(view_overview.traces) - 1; i >= 0; i--) {
		tr = cJSON_GetArrayItem(view_overview.traces, i);
		if (view_overview_failed(tr) && n-- == 0)
			return tr;
	}
	return NULL;
}

/* The traces with an error, newest first, from y; Enter opens one. */
static void
view_overview_errors(int y, int rows)
{
	const cJSON	*tr, *st;
	int		 n = 0, size, i;
	char		 when[16];
	const char	*time;

	draw_fmt(y, 1, COLS - 2, ROLE_MUTED, "%-9s %-22s %-6s %s",
	    "ERRORS AT", "MODEL", "STATUS", "CODE (newest first)");
	if (view_overview.traces == NULL) {
		draw_text(y + 1, 1, COLS - 2, view_overview.traces_err[0] !=
		    '\0' ? ROLE_ERROR : ROLE_MUTED,
		    view_overview.traces_err[0] != '\0' ?
		    view_overview.traces_err : "loading");
		return;
	}
	size = cJSON_GetArraySize(view_overview.traces);
	for (i = size - 1; i >= 0 && n < rows - 1; i--) {
		tr = cJSON_GetArrayItem(view_overview.traces, i);
		st = cJSON_GetObjectItemCaseSensitive(tr, "status");
		if (!view_overview_failed(tr))
			continue;
		time = view_overview_string(tr, "time", "");
		/* "2026-11-30T07:13:26.123Z": the time of day. */
		snprintf(when, sizeof(when), "%.8s", strlen(time) > 11 ?
		    time + 11 : time);
		if ((size_t)n == view_overview.err_sel) {
			attrset(A_REVERSE);
			mvhline(y + n + 1, 0, ' ', COLS);
			attrset(A_NORMAL);
		}
		n++;
		draw_fmt(y + n, 1, COLS - 2, (size_t)n - 1 ==
		    view_overview.err_sel ? ROLE_SELECTED : ROLE_ERROR,
		    "%-9s %-22.22s %-6d %s",
		    when, view_overview_string(tr, "model", "-"),
		    cJSON_IsNumber(st) ? st->valueint : 0,
		    view_overview_string(tr, "error", "-"));
	}
	if (n == 0 && rows > 1)
		draw_fmt(y + 1, 1, COLS - 2, ROLE_MUTED, "none in the last %d"
		    " traces", VIEW_OVERVIEW_TRACES);
}

static void
view_overview_draw(struct tui *t, int top, int rows)
{
	int	used, left;

	if (view_overview.gen != t->gen)
		view_overview_reset(t);
	used = view_overview_sparks(t, top) + 1;
	if (t->domain == NULL) {
		list_draw(t, &view_overview_list, top + used, rows - used);
		return;
	}
	left = rows - used;
	used += view_overview_models(t, top + used, left / 2) + 1;
	view_overview_errors(top + used, rows - used);
}

static int
view_overview_key(struct tui *t, int ch)
{
	const cJSON	*row, *name;

	if (ch == 'w') {
		view_overview.window = (view_overview.window + 1) %
		    VIEW_OVERVIEW_NWINDOWS;
		cJSON_Delete(view_overview.stats);
		view_overview.stats = NULL;
		view_overview_ask_stats(t);
		return 1;
	}
	/* Domains: n makes one, e edits the one in view (or selected). */
	if (ch == 'n') {
		form_domain_open(t, NULL);
		return 1;
	}
	if (ch == 'e') {
		name = t->domain == NULL ? cJSON_GetObjectItemCaseSensitive(
		    list_selected(t, &view_overview_list), "name") : NULL;
		form_domain_named(t, t->domain != NULL ? t->domain :
		    cJSON_IsString(name) ? name->valuestring : NULL);
		return 1;
	}
	if (t->domain != NULL) {
		/* The recent errors: move, and Enter opens the trace. */
		switch (ch) {
		case 'j':
		case KEY_DOWN:
			if (view_overview_error(view_overview.err_sel + 1) !=
			    NULL)
				view_overview.err_sel++;
			return 1;
		case 'k':
		case KEY_UP:
			if (view_overview.err_sel > 0)
				view_overview.err_sel--;
			return 1;
		case '\n':
		case '\r':
		case KEY_ENTER:
			if ((row = view_overview_error(
			    view_overview.err_sel)) != NULL)
				view_trace_open(t, row);
			return 1;
		}
		return 0;
	}
	if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
		row = list_selected(t, &view_overview_list);
		name = cJSON_GetObjectItemCaseSensitive(row, "name");
		if (cJSON_IsString(name))
			tui_pick_domain(t, name->valuestring);
		return 1;
	}
	return list_key(t, &view_overview_list, ch);
}

const struct view_ops view_overview_ops = {
	.name = "Overview",
	.refresh = view_overview_refresh,
	.draw = view_overview_draw,
	.key = view_overview_key,
};
