/*
 * The Usage view (main thread): the domain's usage.get rows as bars over
 * a time range the operator picks (t cycles the last 24 h, 7 days, 30
 * days and today; :usage RANGE), grouped by model, token, day or hour (g
 * cycles), measuring requests, tokens or cost (m cycles), with a totals
 * row. Tokens show their names (token.list); a deleted one its id. Bars
 * are '#', so they read without colour.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curses.h>
#include <cjson/cJSON.h>

#include "cube-tui.h"
#include "money.h"
#include "xmalloc.h"

static const char *const view_usage_by[] = { "model", "token", "day",
    "hour" };
#define VIEW_USAGE_NBY	(sizeof(view_usage_by) / sizeof(view_usage_by[0]))

/* The ranges t cycles through; "today" is since the UTC day began. */
static const struct {
	const char	*name;
	const char	*since;		/* NULL: today's date */
	const char	*title;
} view_usage_ranges[] = {
	{ "24h",	"24h",	"last 24 hours" },
	{ "7d",		"7d",	"last 7 days" },
	{ "30d",	"30d",	"last 30 days" },
	{ "today",	NULL,	"today (UTC)" },
};
#define VIEW_USAGE_NRANGES \
	(sizeof(view_usage_ranges) / sizeof(view_usage_ranges[0]))

/* What a bar measures: one row's number. */
static const struct {
	const char	*name;
	const char	*fields[2];	/* summed */
} view_usage_metrics[] = {
	{ "requests",	{ "requests", NULL } },
	{ "tokens",	{ "prompt_tokens", "completion_tokens" } },
	{ "cost",	{ "cost_usd", NULL } },
};
#define VIEW_USAGE_NMETRICS \
	(sizeof(view_usage_metrics) / sizeof(view_usage_metrics[0]))

static struct output_field view_usage_columns[] = {
	{ "GROUP",		"model",		OUTPUT_PLAIN },
	{ "REQUESTS",		"requests",		OUTPUT_PLAIN },
	{ "ERRORS",		"errors",		OUTPUT_PLAIN },
	{ "COST",		"cost_usd",		OUTPUT_PLAIN },
	{ NULL, NULL, OUTPUT_PLAIN }
};

static struct list view_usage_list = {
	.method = "usage.get",
	.columns = view_usage_columns,
};

static size_t		 view_usage_by_i;
static size_t		 view_usage_metric;
static size_t		 view_usage_range;
/* token.list or model.list, for the names of the groups */
static struct cJSON	*view_usage_names;
static unsigned		 view_usage_names_gen;
static size_t		 view_usage_names_by;

/* A row's number for field: a count, or nano-USD for a cost. */
static uint64_t
view_usage_field(const cJSON *row, const char *field)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(row, field);
	int64_t		 nano;
	char		 err[64];

	if (cJSON_IsNumber(v) && v->valuedouble > 0)
		return (uint64_t)v->valuedouble;
	if (cJSON_IsString(v) && money_parse_usd(v->valuestring, &nano, err,
	    sizeof(err)) == 0 && nano > 0)
		return (uint64_t)nano;
	return 0;
}

/* A row's measure. */
static uint64_t
view_usage_value(const cJSON *row)
{
	uint64_t	 sum = 0;
	size_t		 i;

	for (i = 0; i < 2; i++) {
		if (view_usage_metrics[view_usage_metric].fields[i] == NULL)
			break;
		sum += view_usage_field(row,
		    view_usage_metrics[view_usage_metric].fields[i]);
	}
	return sum;
}

static void
view_usage_done(struct tui *t, struct host_reply *r)
{
	(void)t;
	list_result(&view_usage_list, r);
}

/* Names for grouping by (index of view_usage_by). */
static void
view_usage_names_take(struct tui *t, struct host_reply *r, size_t by)
{
	if (r->status != RPC_CLIENT_OK || !cJSON_IsArray(r->result))
		return;		/* keys and ids, then */
	cJSON_Delete(view_usage_names);
	view_usage_names = r->result;
	r->result = NULL;
	view_usage_names_gen = t->gen;
	view_usage_names_by = by;
}

static void
view_usage_models_done(struct tui *t, struct host_reply *r)
{
	view_usage_names_take(t, r, 0);
}

static void
view_usage_tokens_done(struct tui *t, struct host_reply *r)
{
	view_usage_names_take(t, r, 1);
}

static void
view_usage_refresh(struct tui *t)
{
	cJSON		*params = tui_domain_params(t);
	char		 today[16];
	time_t		 now = time(NULL);
	struct tm	 tm;
	const char	*since = view_usage_ranges[view_usage_range].since;

	if (since == NULL) {
		gmtime_r(&now, &tm);
		strftime(today, sizeof(today), "%Y-%m-%d", &tm);
		since = today;
	}
	view_usage_columns[0].path = view_usage_by[view_usage_by_i];
	cJSON_AddStringToObject(params, "by", view_usage_by[view_usage_by_i]);
	cJSON_AddStringToObject(params, "since", since);
	list_refresh(t, &view_usage_list, params, view_usage_done);
	/* Names: a token's from token.list, a model's from model.list. */
	if (view_usage_by_i == 0)
		tui_call(t, "model.list", tui_domain_params(t),
		    view_usage_models_done);
	else if (view_usage_by_i == 1)
		tui_call(t, "token.list", tui_domain_params(t),
		    view_usage_tokens_done);
}

/*
 * The range named name (24h, 7d, 30d, today) is the one in view; the
 * view asks again. Returns -1 for a name it does not know.
 */
int
view_usage_set_range(struct tui *t, const char *name)
{
	size_t	i;

	for (i = 0; i < VIEW_USAGE_NRANGES; i++)
		if (strcmp(view_usage_ranges[i].name, name) == 0)
			break;
	if (i == VIEW_USAGE_NRANGES)
		return -1;
	view_usage_range = i;
	list_clear(&view_usage_list);
	if (t->domain != NULL)
		view_usage_refresh(t);
	return 0;
}

/*
 * What a row's group reads as: a token's name, else its id (deleted); a
 * model's key, with its display name when that differs.
 */
static char *
view_usage_label(struct tui *t, const cJSON *row)
{
	const char	*by = view_usage_by[view_usage_by_i];
	const cJSON	*g = cJSON_GetObjectItemCaseSensitive(row, by), *o;
	const cJSON	*id, *name;
	int		 token = strcmp(by, "token") == 0;
	char		*s;

	if (!token && strcmp(by, "model") != 0)
		return output_value(g, OUTPUT_PLAIN);
	if (!cJSON_IsString(g))
		return xstrdup(token ? "(no token)" : "(none)");
	if (view_usage_names_gen == t->gen &&
	    view_usage_names_by == view_usage_by_i)
		cJSON_ArrayForEach(o, view_usage_names) {
			id = cJSON_GetObjectItemCaseSensitive(o, token ? "id" :
			    "key");
			name = cJSON_GetObjectItemCaseSensitive(o, "name");
			if (!cJSON_IsString(id) || strcmp(id->valuestring,
			    g->valuestring) != 0 || !cJSON_IsString(name) ||
			    name->valuestring[0] == '\0')
				continue;
			if (token)
				return xstrdup(name->valuestring);
			if (strcmp(name->valuestring, g->valuestring) == 0)
				break;
			xasprintf(&s, "%s (%s)", g->valuestring,
			    name->valuestring);
			return s;
		}
	return xstrdup(g->valuestring);
}

/* One line: group, requests, errors, tokens, the bar, cost. */
static void
view_usage_line(int y, int barw, enum draw_role role, const char *label,
    uint64_t req, uint64_t err, uint64_t tok, uint64_t cost, uint64_t v,
    uint64_t max)
{
	char	usd[MONEY_BUFSZ];

	money_format_usd((int64_t)cost, usd, sizeof(usd));
	draw_text(y, 1, 20, role, label != NULL ? label : "?");
	draw_fmt(y, 22, 27, role, "%8llu %6llu %10llu",
	    (unsigned long long)req, (unsigned long long)err,
	    (unsigned long long)tok);
	if (max > 0 && barw > 0)
		draw_bar(y, 50, barw, v, max, role == ROLE_NORMAL ? ROLE_OK :
		    role);
	draw_fmt(y, 51 + barw, COLS - 52 - barw, role, "$%s", usd);
}

static void
view_usage_draw(struct tui *t, int top, int rows)
{
	const cJSON	*row;
	uint64_t	 max = 0, v, req = 0, err = 0, tok = 0, cost = 0;
	uint64_t	 r, e, k, c;
	char		*label;
	int		 y, barw;

	draw_fmt(top, 1, COLS - 2, ROLE_MUTED, "%s (t)%sby %s (g)%sbars: %s"
	    " (m)", view_usage_ranges[view_usage_range].title, draw_dot(),
	    view_usage_by[view_usage_by_i], draw_dot(),
	    view_usage_metrics[view_usage_metric].name);
	if (view_usage_list.state != LIST_READY ||
	    list_count(t, &view_usage_list) == 0) {
		list_draw(t, &view_usage_list, top + 1, rows - 1);
		return;
	}
	cJSON_ArrayForEach(row, view_usage_list.items) {
		if (!filter_match(tui_filter(t), row, view_usage_columns))
			continue;
		if ((v = view_usage_value(row)) > max)
			max = v;
		req += view_usage_field(row, "requests");
		err += view_usage_field(row, "errors");
		tok += view_usage_field(row, "prompt_tokens") +
		    view_usage_field(row, "completion_tokens");
		cost += view_usage_field(row, "cost_usd");
	}
	barw = COLS - 66;
	if (barw < 0)
		barw = 0;
	draw_fmt(top + 1, 1, COLS - 2, ROLE_MUTED, "%-20s %8s %6s %10s",
	    view_usage_by[view_usage_by_i], "REQUESTS", "ERRORS", "TOKENS");
	draw_text(top + 1, 51 + barw, COLS - 52 - barw, ROLE_MUTED, "COST");
	/* The totals stay on top, whatever scrolls below. */
	view_usage_line(top + 2, 0, ROLE_WARN, "TOTAL", req, err, tok, cost,
	    0, 0);
	y = top + 3;
	cJSON_ArrayForEach(row, view_usage_list.items) {
		if (y >= top + rows)
			break;
		if (!filter_match(tui_filter(t), row, view_usage_columns))
			continue;
		label = view_usage_label(t, row);
		r = view_usage_field(row, "requests");
		e = view_usage_field(row, "errors");
		k = view_usage_field(row, "prompt_tokens") +
		    view_usage_field(row, "completion_tokens");
		c = view_usage_field(row, "cost_usd");
		view_usage_line(y, barw, ROLE_NORMAL, label, r, e, k, c,
		    view_usage_value(row), max);
		free(label);
		y++;
	}
}

static int
view_usage_key(struct tui *t, int ch)
{
	switch (ch) {
	case 'g':
	case 'b':
		view_usage_by_i = (view_usage_by_i + 1) % VIEW_USAGE_NBY;
		list_clear(&view_usage_list);
		view_usage_refresh(t);
		return 1;
	case 't':
		view_usage_set_range(t, view_usage_ranges[(view_usage_range +
		    1) % VIEW_USAGE_NRANGES].name);
		return 1;
	case 'm':
		view_usage_metric = (view_usage_metric + 1) %
		    VIEW_USAGE_NMETRICS;
		return 1;
	}
	return 0;
}

const struct view_ops view_usage_ops = {
	.name = "Usage",
	.needs_domain = 1,
	.refresh = view_usage_refresh,
	.draw = view_usage_draw,
	.key = view_usage_key,
};
