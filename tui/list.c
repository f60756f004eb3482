/*
 * A table of the objects a view shows (models, providers, traces...):
 * columns from cubectl's output_field tables, the / filter, a selection
 * that j/k and the arrows move, and a line that says why it is empty.
 */
#include <stdlib.h>
#include <string.h>

#include <curses.h>
#include <cjson/cJSON.h>

#include "cube-tui.h"

#define LIST_MAX_COLS	16
#define LIST_COL_MAX	40	/* a column's widest, but the last */
#define LIST_COL_MIN	6	/* what a column shrinks to at most */
#define LIST_LAST_MIN	16	/* room the last column (often ERROR) keeps */

void
list_clear(struct list *l)
{
	cJSON_Delete(l->items);
	l->items = NULL;
	l->state = LIST_EMPTY;
	l->error[0] = '\0';
	l->sel = l->top = 0;
}

/* Before asking again: rows of another host or domain go, now. */
void
list_begin(struct tui *t, struct list *l)
{
	if (l->gen != t->gen) {
		list_clear(l);
		l->gen = t->gen;
	}
	if (l->state == LIST_EMPTY)
		l->state = LIST_LOADING;
}

/* Ask again: the list's method with params (consumed), done gets it. */
void
list_refresh(struct tui *t, struct list *l, cJSON *params, host_done_cb done)
{
	list_begin(t, l);
	tui_call(t, l->method, params, done);
}

/*
 * Take a reply to the list's method: the rows, or why there are none.
 * Returns 1 when rows came.
 */
int
list_result(struct list *l, struct host_reply *r)
{
	if (r->status == RPC_CLIENT_OK && cJSON_IsArray(r->result)) {
		cJSON_Delete(l->items);
		l->items = r->result;
		r->result = NULL;
		l->state = LIST_READY;
		return 1;
	}
	if (host_is_unsupported(r))
		l->state = LIST_UNSUPPORTED;
	else {
		l->state = LIST_ERROR;
		snprintf(l->error, sizeof(l->error), "%s",
		    r->status == RPC_CLIENT_OK ? "unexpected reply" : r->err);
	}
	return 0;
}

/* Add item (consumed) at the end, keeping at most max rows. */
void
list_append(struct list *l, cJSON *item, size_t max)
{
	if (l->items == NULL)
		l->items = cJSON_CreateArray();
	cJSON_AddItemToArray(l->items, item);
	while ((size_t)cJSON_GetArraySize(l->items) > max)
		cJSON_DeleteItemFromArray(l->items, 0);
	l->state = LIST_READY;
}

size_t
list_count(struct tui *t, struct list *l)
{
	const cJSON	*row;
	size_t		 n = 0;

	cJSON_ArrayForEach(row, l->items)
		n += filter_match(tui_filter(t), row, l->columns);
	return n;
}

/* The selected row among those the filter lets through, or NULL. */
const cJSON *
list_selected(struct tui *t, struct list *l)
{
	const cJSON	*row;
	size_t		 n = 0;

	list_apply_want(t, l);

	cJSON_ArrayForEach(row, l->items) {
		if (!filter_match(tui_filter(t), row, l->columns))
			continue;
		if (n++ == l->sel)
			return row;
	}
	return NULL;
}

static void
list_draw_state(struct list *l, int y)
{
	switch (l->state) {
	case LIST_EMPTY:
	case LIST_LOADING:
		draw_fmt(y, 1, COLS - 2, ROLE_MUTED, "loading%s",
		    draw_ellipsis());
		break;
	case LIST_UNSUPPORTED:
		draw_fmt(y, 1, COLS - 2, ROLE_WARN, "not supported by this"
		    " agent (%s)", l->method);
		break;
	case LIST_ERROR:
		draw_text(y, 1, COLS - 2, ROLE_ERROR, l->error);
		break;
	case LIST_READY:
		draw_text(y, 1, COLS - 2, ROLE_MUTED, "none");
		break;
	}
}

/*
 * Select the row whose field is value once the list holds it (now, or
 * when it comes): a jump from another view (a trace's model).
 */
void
list_want(struct list *l, const char *field, const char *value)
{
	l->want_field = field;
	snprintf(l->want, sizeof(l->want), "%s", value);
	l->follow = 0;
}

/* Apply list_want's row, when the list is ready: once. */
void
list_apply_want(struct tui *t, struct list *l)
{
	const cJSON	*row, *v;
	size_t		 n = 0;

	if (l->want[0] == '\0' || l->state != LIST_READY)
		return;
	cJSON_ArrayForEach(row, l->items) {
		if (!filter_match(tui_filter(t), row, l->columns))
			continue;
		v = cJSON_GetObjectItemCaseSensitive(row, l->want_field);
		if (cJSON_IsString(v) && strcmp(v->valuestring, l->want) == 0) {
			l->sel = n;
			break;
		}
		n++;
	}
	l->want[0] = '\0';
}

/*
 * At 80 columns the last column (ERROR in Logs) must not be left a few
 * letters: take room from the widest of the others, one at a time, down
 * to their label or LIST_COL_MIN.
 */
static void
list_shrink(const struct output_field *columns, int *widths, size_t ncols)
{
	size_t	c, widest;
	int	used, want, floor;

	if (ncols < 2)
		return;
	want = widths[ncols - 1] < LIST_LAST_MIN ? widths[ncols - 1] :
	    LIST_LAST_MIN;
	for (;;) {
		for (c = 0, used = 1; c + 1 < ncols; c++)
			used += widths[c] + 2;
		if (COLS - used >= want)
			return;
		widest = ncols;
		for (c = 0; c + 1 < ncols; c++) {
			floor = (int)strlen(columns[c].label);
			if (floor < LIST_COL_MIN)
				floor = LIST_COL_MIN;
			if (widths[c] > floor &&
			    (widest == ncols || widths[c] > widths[widest]))
				widest = c;
		}
		if (widest == ncols)
			return;
		widths[widest]--;
	}
}

/* The table in rows top..top+rows-1: a header, then the matching rows. */
/*
 * When the operator typed a change to the filter since the list was last
 * drawn, go back to the first match: the old scroll would hide the
 * matches above it.
 */
static void
list_filter_changed(struct tui *t, struct list *l)
{
	const unsigned char	*s = (const unsigned char *)tui_filter(t);
	uint32_t		 h = 2166136261u;	/* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ *s) * 16777619u;
	if (h == l->filtered)
		return;
	if (l->filtered == 0 || !t->filtering) {
		/*
		 * Drawn for the first time, or the filter was set by a jump
		 * (:logs KEY): keep what list_want selected; the window
		 * still fills (list_draw).
		 */
		l->filtered = h;
		return;
	}
	l->filtered = h;
	l->sel = l->top = 0;	/* following, it goes to the last match */
}

void
list_draw(struct tui *t, struct list *l, int top, int rows)
{
	const struct output_field	*f;
	const cJSON			*row;
	char				*cell;
	int				 widths[LIST_MAX_COLS], x, w, y;
	size_t				 ncols, c, n, count;

	list_apply_want(t, l);
	for (ncols = 0; l->columns[ncols].label != NULL &&
	    ncols < LIST_MAX_COLS; ncols++)
		widths[ncols] = (int)strlen(l->columns[ncols].label);
	list_filter_changed(t, l);
	count = list_count(t, l);
	if (l->state != LIST_READY || count == 0) {
		draw_text(top, 1, COLS - 2, ROLE_MUTED, l->columns[0].label);
		list_draw_state(l, top + 1);
		return;
	}
	cJSON_ArrayForEach(row, l->items) {
		for (c = 0; c < ncols; c++) {
			f = &l->columns[c];
			cell = output_value(output_lookup(row, f->path),
			    f->format);
			w = (int)strlen(cell);
			if (w > LIST_COL_MAX && c + 1 < ncols)
				w = LIST_COL_MAX;
			if (w > widths[c])
				widths[c] = w;
			free(cell);
		}
	}
	list_shrink(l->columns, widths, ncols);
	if (l->follow || l->sel >= count)
		l->sel = count - 1;
	rows--;		/* the header */
	if (l->sel < l->top)
		l->top = l->sel;
	if (rows > 0 && l->sel >= l->top + (size_t)rows)
		l->top = l->sel - rows + 1;
	/* No room left empty below while rows are hidden above. */
	if (rows > 0 && l->top > 0 && count - l->top < (size_t)rows)
		l->top = count > (size_t)rows ? count - (size_t)rows : 0;
	for (c = 0, x = 1; c < ncols && x < COLS; x += widths[c++] + 2)
		draw_text(top, x, COLS - x, ROLE_MUTED, l->columns[c].label);
	n = 0;
	y = top + 1;
	cJSON_ArrayForEach(row, l->items) {
		if (!filter_match(tui_filter(t), row, l->columns))
			continue;
		if (n >= l->top && y < top + 1 + rows) {
			if (n == l->sel) {
				attrset(A_REVERSE);
				mvhline(y, 0, ' ', COLS);
			}
			for (c = 0, x = 1; c < ncols && x < COLS;
			    x += widths[c++] + 2) {
				f = &l->columns[c];
				cell = output_value(output_lookup(row,
				    f->path), f->format);
				draw_text(y, x, c + 1 < ncols ? widths[c] :
				    COLS - x, n == l->sel ? ROLE_SELECTED :
				    ROLE_NORMAL, cell);
				free(cell);
			}
			attrset(A_NORMAL);
			y++;
		}
		n++;
	}
}

/* Moving keys; 1 when used. A page is the rows a table gets at LINES. */
int
list_key(struct tui *t, struct list *l, int ch)
{
	size_t	count = list_count(t, l);
	size_t	page = LINES > 8 ? (size_t)LINES - 6 : 1;

	switch (ch) {
	case KEY_NPAGE:
		l->sel = l->sel + page < count ? l->sel + page :
		    count > 0 ? count - 1 : 0;
		l->follow = l->follow && l->sel + 1 == count;
		return 1;
	case KEY_PPAGE:
		l->sel = l->sel > page ? l->sel - page : 0;
		l->follow = 0;
		return 1;
	case 'j':
	case KEY_DOWN:
		if (l->sel + 1 < count)
			l->sel++;
		l->follow = l->follow && l->sel + 1 == count;
		return 1;
	case 'k':
	case KEY_UP:
		if (l->sel > 0)
			l->sel--;
		l->follow = 0;
		return 1;
	case 'g':
	case KEY_HOME:
		l->sel = 0;
		l->follow = 0;
		return 1;
	case 'G':
	case KEY_END:
		l->sel = count > 0 ? count - 1 : 0;
		return 1;
	}
	return 0;
}
