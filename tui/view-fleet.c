/* The Fleet view: every host, its connection, TEE and version; Enter picks one. */
#include <stdlib.h>

#include <curses.h>
#include <cjson/cJSON.h>

#include "cube-tui.h"

static const struct output_field view_fleet_columns[] = {
	{ "TEE",		"tee",			OUTPUT_PLAIN },
	{ "VERSION",		"version",		OUTPUT_PLAIN },
	{ "UPTIME(s)",		"uptime_s",		OUTPUT_PLAIN },
	{ "DOMAINS",		"domains",		OUTPUT_PLAIN },
	{ NULL, NULL, OUTPUT_PLAIN }
};

static size_t	view_fleet_sel;

static void
view_fleet_refresh(struct tui *t)
{
	(void)t;	/* the status every host is asked for is enough */
}

static void
view_fleet_draw(struct tui *t, int top, int rows)
{
	const struct output_field	*f;
	struct host			*h;
	enum host_state			 state;
	char				 reason[256], *v;
	size_t				 i;
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

	draw_text(top, 1, 24, ROLE_MUTED, "HOST");
	draw_text(top, 26, 12, ROLE_MUTED, "STATE");
	for (f = view_fleet_columns, x = 40; f->label != NULL; f++, x += 10)
		draw_text(top, x, 9, ROLE_MUTED, f->label);
	for (i = 0, y = top + 1; i < t->nhosts && y < top + rows; i++, y++) {
		h = t->hosts[i];
		state = host_get_state(h, reason, sizeof(reason));
		if (i == view_fleet_sel) {
			attrset(A_REVERSE);
			mvhline(y, 0, ' ', COLS);
		}
		draw_fmt(y, 1, 24, i == view_fleet_sel ? ROLE_SELECTED :
		    ROLE_NORMAL, "%s%s", h->name, i == t->current ? " *" : "");
		if (state == HOST_UNREACHABLE) {
			draw_fmt(y, 26, COLS - 27, roles[state],
			    "unreachable: %s", reason);
			continue;
		}
		draw_fmt(y, 26, 12, roles[state], "%s%s", states[state],
		    state == HOST_CONNECTING ? draw_ellipsis() : "");
		for (f = view_fleet_columns, x = 40; f->label != NULL;
		    f++, x += 10) {
			if (h->status == NULL)
				break;
			v = output_value(output_lookup(h->status, f->path),
			    f->format);
			draw_text(y, x, 9, i == view_fleet_sel ?
			    ROLE_SELECTED : ROLE_NORMAL, v);
			free(v);
		}
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
