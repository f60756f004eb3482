/*
 * The Usage view: the domain's usage.get rows as bars, grouped by model,
 * day, hour or token (b cycles), measuring requests, tokens or cost (m
 * cycles). Bars are '#', so they read without colour.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curses.h>
#include <cjson/cJSON.h>

#include "cube-tui.h"
#include "money.h"

static const char *const view_usage_by[] = { "model", "day", "hour", "token" };
#define VIEW_USAGE_NBY	(sizeof(view_usage_by) / sizeof(view_usage_by[0]))

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

static size_t	view_usage_by_i;
static size_t	view_usage_metric;

/* A row's measure: a count, or nano-USD for a cost. */
static uint64_t
view_usage_value(const cJSON *row)
{
	const cJSON	*v;
	uint64_t	 sum = 0;
	int64_t		 nano;
	char		 err[64];
	size_t		 i;

	for (i = 0; i < 2; i++) {
		if (view_usage_metrics[view_usage_metric].fields[i] == NULL)
			break;
		v = cJSON_GetObjectItemCaseSensitive(row,
		    view_usage_metrics[view_usage_metric].fields[i]);
		if (cJSON_IsNumber(v) && v->valuedouble > 0)
			sum += (uint64_t)v->valuedouble;
		else if (cJSON_IsString(v) && money_parse_usd(v->valuestring,
		    &nano, err, sizeof(err)) == 0 && nano > 0)
			sum += (uint64_t)nano;
	}
	return sum;
}

static void
view_usage_done(struct tui *t, struct host_reply *r)
{
	(void)t;
	list_result(&view_usage_list, r);
}

static void
view_usage_refresh(struct tui *t)
{
	cJSON	*params = tui_domain_params(t);

	view_usage_columns[0].path = view_usage_by[view_usage_by_i];
	cJSON_AddStringToObject(params, "by", view_usage_by[view_usage_by_i]);
	list_refresh(t, &view_usage_list, params, view_usage_done);
}

static void
view_usage_draw(struct tui *t, int top, int rows)
{
	const cJSON	*row;
	uint64_t	 max = 0, v;
	char		*label, *cost, num[32];
	int		 y, barw;

	draw_fmt(top, 1, COLS - 2, ROLE_MUTED, "by %s (b), bars: %s (m)",
	    view_usage_by[view_usage_by_i],
	    view_usage_metrics[view_usage_metric].name);
	if (view_usage_list.state != LIST_READY ||
	    list_count(t, &view_usage_list) == 0) {
		list_draw(t, &view_usage_list, top + 1, rows - 1);
		return;
	}
	cJSON_ArrayForEach(row, view_usage_list.items)
		if ((v = view_usage_value(row)) > max)
			max = v;
	barw = COLS - 52;
	y = top + 1;
	cJSON_ArrayForEach(row, view_usage_list.items) {
		if (y >= top + rows)
			break;
		if (!filter_match(tui_filter(t), row, view_usage_columns))
			continue;
		label = output_value(output_lookup(row,
		    view_usage_by[view_usage_by_i]), OUTPUT_PLAIN);
		cost = output_value(output_lookup(row, "cost_usd"),
		    OUTPUT_PLAIN);
		v = view_usage_value(row);
		if (view_usage_metric == 2)
			money_format_usd((int64_t)v, num, sizeof(num));
		else
			snprintf(num, sizeof(num), "%llu",
			    (unsigned long long)v);
		draw_text(y, 1, 22, ROLE_NORMAL, label);
		draw_text(y, 24, 14, ROLE_NORMAL, num);
		draw_bar(y, 39, barw, v, max, ROLE_OK);
		draw_fmt(y, 40 + barw, 12, ROLE_MUTED, "$%s", cost);
		free(label);
		free(cost);
		y++;
	}
}

static int
view_usage_key(struct tui *t, int ch)
{
	switch (ch) {
	case 'b':
		view_usage_by_i = (view_usage_by_i + 1) % VIEW_USAGE_NBY;
		list_clear(&view_usage_list);
		view_usage_refresh(t);
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
