/*
 * cube-tui's drawing: one table of colour roles (colour is only a hint:
 * every role also reads without it, as a word or a mark on screen) and
 * the helpers views draw with. NO_COLOR or a monochrome terminal gets
 * attributes only.
 */
#include <langinfo.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curses.h>
#include <cjson/cJSON.h>

#include "cube-tui.h"

/* The roles: a colour pair when there is colour, attributes always. */
static const struct {
	short	fg;
	attr_t	attr;		/* with colour */
	attr_t	mono;		/* without */
} draw_roles[] = {
	[ROLE_NORMAL]	= { -1,			A_NORMAL,	A_NORMAL },
	[ROLE_SELECTED]	= { -1,			A_REVERSE,	A_REVERSE },
	[ROLE_OK]	= { COLOR_GREEN,	A_NORMAL,	A_NORMAL },
	[ROLE_WARN]	= { COLOR_YELLOW,	A_NORMAL,	A_BOLD },
	[ROLE_ERROR]	= { COLOR_RED,		A_BOLD,		A_BOLD },
	[ROLE_MUTED]	= { COLOR_BLUE,		A_NORMAL,	A_DIM },
	[ROLE_STALE]	= { -1,			A_DIM,		A_DIM },
};
#define DRAW_NROLES	(sizeof(draw_roles) / sizeof(draw_roles[0]))

static int	draw_colour;

/* Set up the roles; colour unless NO_COLOR is set or the terminal has none. */
void
draw_init(int want_colour)
{
	size_t	i;

	draw_colour = want_colour && has_colors();
	if (!draw_colour)
		return;
	start_color();
	use_default_colors();
	for (i = 1; i < DRAW_NROLES; i++)
		init_pair((short)i, draw_roles[i].fg, -1);
}

static attr_t
draw_attr(enum draw_role role)
{
	if (!draw_colour)
		return draw_roles[role].mono;
	if (draw_roles[role].fg == -1)
		return draw_roles[role].attr;
	return COLOR_PAIR(role) | draw_roles[role].attr;
}

/* "…" where the terminal speaks UTF-8, else "...". */
const char *
draw_ellipsis(void)
{
	return strcmp(nl_langinfo(CODESET), "UTF-8") == 0 ? "\xe2\x80\xa6" :
	    "...";
}

/* " · " between the parts of a line where the terminal speaks UTF-8. */
const char *
draw_dot(void)
{
	return strcmp(nl_langinfo(CODESET), "UTF-8") == 0 ? " \xc2\xb7 " :
	    " - ";
}

/*
 * Text at y, x, at most width columns (cut, never wrapped), in role.
 * Control characters are shown as '?' so agent data cannot drive the
 * terminal.
 */
void
draw_text(int y, int x, int width, enum draw_role role, const char *s)
{
	int	col = 0;

	if (y < 0 || y >= LINES || width <= 0)
		return;
	attrset(draw_attr(role));
	move(y, x);
	for (; *s != '\0' && col < width; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			addch('?');
		else
			addnstr(s, 1);
		if (((unsigned char)*s & 0xc0) != 0x80)
			col++;
	}
	/* Finish a cut UTF-8 sequence. */
	while (((unsigned char)*s & 0xc0) == 0x80)
		addnstr(s++, 1);
	attrset(A_NORMAL);
}

void
draw_fmt(int y, int x, int width, enum draw_role role, const char *fmt, ...)
{
	va_list	 ap;
	char	 buf[1024];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	draw_text(y, x, width, role, buf);
}

/* An object as "label  value" lines from y, at most rows of them. */
void
draw_object(const struct output_field *fields, const cJSON *obj, int y,
    int rows)
{
	const struct output_field	*f;
	const cJSON			*item;
	char				*value;
	int				 width = 0, w;

	for (f = fields; f->label != NULL; f++)
		if ((w = (int)strlen(f->label)) > width)
			width = w;
	for (f = fields; f->label != NULL && rows > 0; f++) {
		if ((item = output_lookup(obj, f->path)) == NULL)
			continue;
		value = output_value(item, f->format);
		draw_text(y, 1, width, ROLE_MUTED, f->label);
		draw_text(y, width + 3, COLS - width - 4, ROLE_NORMAL, value);
		free(value);
		y++;
		rows--;
	}
}

/* A cleared box with a title, for modal dialogs. */
void
draw_box(int y, int x, int h, int w, const char *title)
{
	int	i;

	attrset(A_NORMAL);
	for (i = 0; i < h; i++)
		mvhline(y + i, x, ' ', w);
	mvhline(y, x, ACS_HLINE, w);
	mvhline(y + h - 1, x, ACS_HLINE, w);
	mvvline(y, x, ACS_VLINE, h);
	mvvline(y, x + w - 1, ACS_VLINE, h);
	mvaddch(y, x, ACS_ULCORNER);
	mvaddch(y, x + w - 1, ACS_URCORNER);
	mvaddch(y + h - 1, x, ACS_LLCORNER);
	mvaddch(y + h - 1, x + w - 1, ACS_LRCORNER);
	draw_fmt(y, x + 2, w - 4, ROLE_NORMAL, " %s ", title);
}

/* A bar of value/max of width columns, drawn with '#' (readable in mono). */
void
draw_bar(int y, int x, int width, uint64_t value, uint64_t max,
    enum draw_role role)
{
	int	n;

	if (max == 0 || width <= 0)
		return;
	n = (int)((double)value / (double)max * width + 0.5);
	if (n == 0 && value > 0)
		n = 1;
	attrset(draw_attr(role));
	mvhline(y, x, '#', n);
	attrset(A_NORMAL);
}

/* How a check's state reads. */
enum draw_role
draw_check_role(enum check_state state)
{
	static const enum draw_role	roles[] = {
		[CHECK_OK] = ROLE_OK,
		[CHECK_FAIL] = ROLE_ERROR,
		[CHECK_WARN] = ROLE_WARN,
		[CHECK_PENDING] = ROLE_MUTED,
	};

	return roles[state];
}
