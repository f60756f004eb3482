/*
 * The Logs view: the domain's latest traces (logs.list), then each new one
 * as the agent writes it (a logs.tail subscription, while the view is
 * shown); f follows the newest. An agent without tracing says so.
 */
#include <string.h>

#include <curses.h>
#include <cjson/cJSON.h>

#include "cube-tui.h"

#define VIEW_LOGS_KEEP		1000	/* traces kept in view */
#define VIEW_LOGS_FIRST		200	/* asked for on entry */

static const struct output_field view_logs_columns[] = {
	{ "TIME",		"time",			OUTPUT_CLOCK },
	{ "MODEL",		"model",		OUTPUT_PLAIN },
	{ "STATUS",		"status",		OUTPUT_PLAIN },
	{ "MS",			"latency_ms",		OUTPUT_PLAIN },
	{ "IN",			"prompt_tokens",	OUTPUT_PLAIN },
	{ "OUT",		"completion_tokens",	OUTPUT_PLAIN },
	{ "COST",		"cost_usd",		OUTPUT_PLAIN },
	{ "ERROR",		"error",		OUTPUT_PLAIN },
	{ NULL, NULL, OUTPUT_PLAIN }
};

static struct list view_logs_list = {
	.method = "logs.list",
	.columns = view_logs_columns,
	.follow = 1,
};

static int	view_logs_shown;

static void
view_logs_done(struct tui *t, struct host_reply *r)
{
	cJSON	*params;

	if (!list_result(&view_logs_list, r) || !view_logs_shown)
		return;
	params = tui_domain_params(t);
	host_tail(tui_host(t), params);		/* copies it */
	cJSON_Delete(params);
}

static void
view_logs_refresh(struct tui *t)
{
	cJSON	*params;

	/* The subscription keeps the list; ask only on entry. */
	if (view_logs_shown && view_logs_list.gen == t->gen &&
	    view_logs_list.state == LIST_READY)
		return;
	view_logs_shown = 1;
	params = tui_domain_params(t);
	cJSON_AddNumberToObject(params, "limit", VIEW_LOGS_FIRST);
	list_refresh(t, &view_logs_list, params, view_logs_done);
}

static void
view_logs_leave(struct tui *t)
{
	if (view_logs_shown)
		host_tail(tui_host(t), NULL);
	view_logs_shown = 0;
	list_clear(&view_logs_list);
}

void
view_logs_notify(struct tui *t, struct host_reply *r)
{
	(void)t;
	if (!view_logs_shown || r->method == NULL ||
	    strcmp(r->method, "logs.trace") != 0 || !cJSON_IsObject(r->result))
		return;
	list_append(&view_logs_list, r->result, VIEW_LOGS_KEEP);
	r->result = NULL;
}

static void
view_logs_draw(struct tui *t, int top, int rows)
{
	list_draw(t, &view_logs_list, top, rows - 1);
	draw_fmt(top + rows - 1, 1, COLS - 2, ROLE_MUTED, "%zu traces%s",
	    list_count(t, &view_logs_list), view_logs_list.follow ?
	    ", following (f stops)" : " (f follows the newest)");
}

static int
view_logs_key(struct tui *t, int ch)
{
	const cJSON	*tr;

	switch (ch) {
	case 'f':
		view_logs_list.follow = !view_logs_list.follow;
		return 1;
	case '\n':
	case '\r':
	case KEY_ENTER:
		if ((tr = list_selected(t, &view_logs_list)) != NULL)
			view_trace_open(t, tr);
		return 1;
	}
	return list_key(t, &view_logs_list, ch);
}

const struct view_ops view_logs_ops = {
	.name = "Logs",
	.needs_domain = 1,
	.refresh = view_logs_refresh,
	.draw = view_logs_draw,
	.key = view_logs_key,
	.leave = view_logs_leave,
};
