/*
 * Drawing a text field (textfield.c draws nothing): the part around the
 * cursor in a width of columns, wide characters taking their two, what
 * the terminal cannot show as '?', and the cursor's cell ('_' at the
 * end). Forms, the `/` filter and the `:` prompt share it.
 * Runs on cube-tui's main thread.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

#include <curses.h>

#include "cube-tui.h"

void
textfield_draw(struct textfield *tf, int y, int x, int width,
    enum draw_role role, int cursor)
{
	char		 seg[1024], cell[8];
	size_t		 from, end, i, l, n = 0;
	uint32_t	 cp;
	int		 col, w;

	if (width <= 0)
		return;
	from = textfield_view(tf, width, &end, &col);
	for (i = from; i < end && n + 4 < sizeof(seg); i += l) {
		if ((l = textfield_decode(tf->buf + i, end - i, &cp)) == 0)
			break;
		if ((w = wcwidth((wchar_t)cp)) == 0)
			continue;	/* combining: left out, not misplaced */
		if (w < 0)
			seg[n++] = '?';
		else {
			memcpy(seg + n, tf->buf + i, l);
			n += l;
		}
	}
	seg[n] = '\0';
	draw_text(y, x, width, role, seg);
	if (!cursor)
		return;
	if (tf->cur < tf->len &&
	    (l = textfield_decode(tf->buf + tf->cur, tf->len - tf->cur,
	    &cp)) != 0 && wcwidth((wchar_t)cp) > 0) {
		memcpy(cell, tf->buf + tf->cur, l);
		cell[l] = '\0';
	} else
		snprintf(cell, sizeof(cell), "%s", tf->cur < tf->len ? "?" :
		    "_");
	draw_text(y, x + col, 1, role == ROLE_SELECTED ? ROLE_NORMAL :
	    ROLE_SELECTED, cell);
}
