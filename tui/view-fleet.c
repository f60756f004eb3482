/*
 * The Fleet view: every host, its connection, TEE, TLS, version, uptime
 * and domains; Enter picks one.
 */
#include <stdlib.h>
#include <time.h>

#include <curses.h>
#include <cjson/cJSON.h>

#include "cube-tui.h"

/* The status columns, right of HOST and STATE; path NULL: the TLS mark. */
static const struct {
	const char	*label;
	const char	*path;
	int		 width;
} view_fleet_columns[] = {
	{ "TEE",	"tee",		12 },
	{ "TLS",	NULL,		9 },
	{ "VERSION",	"version",	7 },
	{ "UP(s)",	"uptime_s",	8 },
	{ "DOMAINS",	"domains",	7 },
};
#define VIEW_FLEET_NCOLUMNS \
	(sizeof(view_fleet_columns) / sizeof(view_fleet_columns[0]))
#define VIEW_FLEET_X	33	/* where the first of them starts */

static size_t	view_fleet_sel;

static void
view_fleet_refresh(struct tui *t)
{
	(void)t;	/* the status every host is asked for is enough */
}

/* Host i's status columns, from x at row y. */
static void
view_fleet_draw_status(struct host *h, int y, int selected)
{
	struct host_tls	 tls;
	enum draw_role	 role;
	const char	*mark;
	char		*v;
	size_t		 c;
	int		 x = VIEW_FLEET_X;

	for (c = 0; c < VIEW_FLEET_NCOLUMNS; c++) {
		if (view_fleet_columns[c].path == NULL) {
			host_tls_read(h->status, time(NULL), &tls);
			mark = host_tls_mark(&tls, &role);
			draw_text(y, x, view_fleet_columns[c].width, selected ?
			    ROLE_SELECTED : role, mark);
		} else {
			v = output_value(output_lookup(h->status,
			    view_fleet_columns[c].path), OUTPUT_PLAIN);
			draw_text(y, x, view_fleet_columns[c].width, selected ?
			    ROLE_SELECTED : ROLE_NORMAL, v);
			free(v);
		}
		x += view_fleet_columns[c].width + 1;
	}
}

static void
view_fleet_draw(struct tui *t, int top, int rows)
{
	struct host			*h;
	enum host_state			 state;
	char				 reason[256];
	size_t				 i, c;
	int				 x, y;
	static const char *const	 states[] = {
		[HOST_CONNECTING] = "connecting",
		[HOST_UP] = "up",
		[HOST_UNREACHABLE] = "unreachable",
	};
	static const enum draw_role	 roles[] = {
		[HOST_CONNECTING] = ROLE_MUTED,
		[HOST_UP] = ROLE_OK,
		[HOST_UNREACHABLE] = ROLE_ERROR,
	};

	draw_text(top, 1, 19, ROLE_MUTED, "HOST");
	draw_text(top, 21, 11, ROLE_MUTED, "STATE");
	for (c = 0, x = VIEW_FLEET_X; c < VIEW_FLEET_NCOLUMNS; c++) {
		draw_text(top, x, view_fleet_columns[c].width, ROLE_MUTED,
		    view_fleet_columns[c].label);
		x += view_fleet_columns[c].width + 1;
	}
	for (i = 0, y = top + 1; i < t->nhosts && y < top + rows; i++, y++) {
		h = t->hosts[i];
		state = host_get_state(h, reason, sizeof(reason));
		if (i == view_fleet_sel) {
			attrset(A_REVERSE);
			mvhline(y, 0, ' ', COLS);
		}
		draw_fmt(y, 1, 19, i == view_fleet_sel ? ROLE_SELECTED :
		    ROLE_NORMAL, "%s%s", h->name, i == t->current ? " *" : "");
		if (state == HOST_UNREACHABLE) {
			draw_fmt(y, 21, COLS - 22, roles[state],
			    "unreachable: %s", reason);
			continue;
		}
		draw_fmt(y, 21, 11, roles[state], "%s%s", states[state],
		    state == HOST_CONNECTING ? draw_ellipsis() : "");
		if (h->status != NULL)
			view_fleet_draw_status(h, y, i == view_fleet_sel);
	}
	attrset(A_NORMAL);
}

static int
view_fleet_key(struct tui *t, int ch)
{
	switch (ch) {
	case 'j':
	case KEY_DOWN:
		if (view_fleet_sel + 1 < t->nhosts)
			view_fleet_sel++;
		return 1;
	case 'k':
	case KEY_UP:
		if (view_fleet_sel > 0)
			view_fleet_sel--;
		return 1;
	case KEY_NPAGE:
		view_fleet_sel = t->nhosts - 1;
		return 1;
	case KEY_PPAGE:
		view_fleet_sel = 0;
		return 1;
	case '\n':
	case '\r':
	case KEY_ENTER:
		tui_set_host(t, view_fleet_sel);
		tui_switch(t, 1);
		return 1;
	}
	return 0;
}

const struct view_ops view_fleet_ops = {
	.name = "Fleet",
	.refresh = view_fleet_refresh,
	.draw = view_fleet_draw,
	.key = view_fleet_key,
};
