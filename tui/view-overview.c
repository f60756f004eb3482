/* The Overview view: the host's status and its domains; Enter picks one. */
#include <curses.h>
#include <cjson/cJSON.h>

#include "cube-tui.h"

/* cubectl's columns, the name first: an id is too wide for 80 columns. */
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

static void
view_overview_done(struct tui *t, struct host_reply *r)
{
	(void)t;
	list_result(&view_overview_list, r);
}

static void
view_overview_refresh(struct tui *t)
{
	list_refresh(t, &view_overview_list, NULL, view_overview_done);
}

static void
view_overview_draw(struct tui *t, int top, int rows)
{
	const struct output_field	*f;
	int				 n = 0;

	for (f = cmd_status_fields; f->label != NULL; f++)
		n++;
	if (tui_host(t)->status == NULL)
		draw_fmt(top, 1, COLS - 2, ROLE_MUTED, "status: waiting for"
		    " the agent%s", draw_ellipsis());
	else
		draw_object(cmd_status_fields, tui_host(t)->status, top, n);
	list_draw(t, &view_overview_list, top + n + 1, rows - n - 1);
}

static int
view_overview_key(struct tui *t, int ch)
{
	const cJSON	*row, *name;

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
